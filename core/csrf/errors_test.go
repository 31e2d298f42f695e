package csrf_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/csrf"
	"github.com/cloakroom/cloakroom/core/memstore"
)

func TestErrorMessages(t *testing.T) {
	m, err := core.New(memstore.New(0), core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var token string
	errs := map[string]error{}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := core.FromContext(r.Context())
		if err != nil {
			t.Error(err)
			return
		}
		if token, err = csrf.Token(s); err != nil {
			t.Error(err)
			return
		}
		r.Header.Set(csrf.Header, r.URL.Query().Get("token"))
		errs[r.URL.Query().Get("case")] = csrf.Verify(s, r)
	}))
	serve := func(c, tok string) {
		q := url.Values{"case": {c}, "token": {tok}}
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/?"+q.Encode(), nil))
	}
	serve("no token", "")
	serve("malformed token", "!!!")
	serve("token of another session", token)
	for what, err := range errs {
		if !errors.Is(err, csrf.ErrInvalid) {
			t.Fatalf("%s: error %v, want one wrapping csrf.ErrInvalid", what, err)
		}
		msg := err.Error()
		if n := strings.Count(msg, "csrf:"); n != 1 || !strings.HasPrefix(msg, "csrf: ") {
			t.Errorf("%s: %q names the package %d times, want once at the front", what, msg, n)
		}
		if !strings.HasSuffix(msg, ": "+csrf.ErrInvalid.Error()) {
			t.Errorf("%s: %q does not end with the sentinel's text", what, msg)
		}
		if strings.Count(msg, "cloakroom: ") > 1 {
			t.Errorf("%s: %q repeats \"cloakroom: \"", what, msg)
		}
	}
	if len(errs) != 3 {
		t.Fatalf("%d cases ran, want 3", len(errs))
	}
	if want := "missing or invalid CSRF token"; csrf.ErrInvalid.Error() != want {
		t.Errorf("csrf.ErrInvalid says %q, want %q", csrf.ErrInvalid, want)
	}
}
