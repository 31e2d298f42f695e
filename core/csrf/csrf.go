// Package csrf protects forms with a token kept in the session, Django's
// CSRF_USE_SESSIONS idea: no extra cookie, and the token goes when the
// session goes.
//
// Put Token's value in every form (field [FormField]) or send it in the
// [Header] header; Verify, or the middlewares, reject unsafe requests (not
// GET, HEAD, OPTIONS or TRACE) without it. Tokens are masked with a fresh
// random pad each time they are rendered (as Django does against BREACH), so
// the page never shows the same bytes twice.
package csrf

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/cloakroom/cloakroom/core"
)

const (
	// Key is the session key holding the secret.
	Key = "_csrf_secret"
	// FormField is the form field Verify reads.
	FormField = "csrf_token"
	// Header is the request header Verify reads before the form.
	Header = "X-CSRF-Token"
)

const secretLen = 32

// enc rejects non-canonical encodings, so one token has one spelling.
var enc = base64.RawURLEncoding.Strict()

// secret returns the session's secret, creating it when create is true.
func secret(s *core.Session, create bool) ([]byte, error) {
	var b64 string
	ok, err := s.Get(Key, &b64)
	if err != nil {
		return nil, err
	}
	if ok {
		if sec, err := enc.DecodeString(b64); err == nil && len(sec) == secretLen {
			return sec, nil
		}
	}
	if !create {
		return nil, nil
	}
	sec := make([]byte, secretLen)
	if _, err := rand.Read(sec); err != nil {
		return nil, fmt.Errorf("csrf: %w", err)
	}
	if err := s.Set(Key, enc.EncodeToString(sec)); err != nil {
		return nil, err
	}
	return sec, nil
}

// Token returns a masked token for the session's secret, creating the
// secret on first use. Render it into forms.
func Token(s *core.Session) (string, error) {
	sec, err := secret(s, true)
	if err != nil {
		return "", err
	}
	masked := make([]byte, 2*secretLen)
	if _, err := rand.Read(masked[:secretLen]); err != nil {
		return "", fmt.Errorf("csrf: %w", err)
	}
	for i := range sec {
		masked[secretLen+i] = masked[i] ^ sec[i]
	}
	return enc.EncodeToString(masked), nil
}

// Rotate replaces the secret, invalidating tokens rendered before: call it
// at login, as Django does.
func Rotate(s *core.Session) error {
	s.Delete(Key)
	_, err := secret(s, true)
	return err
}

// Safe reports whether method is one Verify lets through unchecked.
func Safe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// Verify checks r's token against the session: nil for safe methods and for
// a matching token, an error wrapping ErrInvalid otherwise.
func Verify(s *core.Session, r *http.Request) error {
	if Safe(r.Method) {
		return nil
	}
	got := r.Header.Get(Header)
	if got == "" {
		got = r.PostFormValue(FormField)
	}
	sec, err := secret(s, false)
	if err != nil {
		return err
	}
	if sec == nil || got == "" {
		return fmt.Errorf("csrf: no token: %w", ErrInvalid)
	}
	masked, err := enc.DecodeString(got)
	if err != nil || len(masked) != 2*secretLen {
		return fmt.Errorf("csrf: malformed token: %w", ErrInvalid)
	}
	plain := make([]byte, secretLen)
	for i := range plain {
		plain[i] = masked[i] ^ masked[secretLen+i]
	}
	if subtle.ConstantTimeCompare(plain, sec) != 1 {
		return fmt.Errorf("csrf: token does not match: %w", ErrInvalid)
	}
	return nil
}

// Middleware is net/http middleware, inside core's session middleware,
// that answers 403 Forbidden to unsafe requests without a valid token.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := core.FromContext(r.Context())
		if err != nil {
			http.Error(w, "csrf: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if err := Verify(s, r); err != nil {
			Reject(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Reject writes the 403 response for a failed check (a session store
// failure is a 500).
func Reject(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrInvalid) {
		http.Error(w, "Forbidden: CSRF token missing or incorrect.", http.StatusForbidden)
		return
	}
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}
