// Package djangocodec reads and writes sessions in Django's own format, so a
// Go service and a Django app can share one login.
//
// [Codec] is the session_data format of Django's database, cache and file
// backends: the session dictionary as JSON, signed with
// django.core.signing (HMAC-SHA256 keyed from SECRET_KEY through
// salted_hmac, a base62 timestamp, zlib compression when it helps). Use it
// with gormstore pointed at the django_session table Django created.
// [CookieStore] is the format of Django's signed_cookies backend.
//
// Both accept fallback secrets for rotation, as Django 4.1's
// SECRET_KEY_FALLBACKS does: values signed with an old secret still read,
// and every save signs with the current one.
//
// Django's own keys work as they do in Django: _session_expiry (seconds or an
// ISO 8601 time, handled by package core), and the auth keys
// _auth_user_id, _auth_user_backend and _auth_user_hash (see [Login]).
package djangocodec

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// DefaultSalt is the salt of Django's database backend
// (django.contrib.sessions.backends.db.SessionStore): Django builds it as
// "django.contrib.sessions." + the class's __qualname__. The cache, file and
// cached_db backends use the same class name and so the same salt.
const DefaultSalt = "django.contrib.sessions.SessionStore"

// CookieSalt is the salt of Django's signed_cookies backend.
const CookieSalt = "django.contrib.sessions.backends.signed_cookies"

// Option configures a Codec or CookieStore.
type Option func(*signer)

// WithSalt replaces the salt (a custom SessionStore class).
func WithSalt(salt string) Option { return func(s *signer) { s.salt = salt } }

// WithFallbackSecrets adds old secrets that still verify (Django's
// SECRET_KEY_FALLBACKS).
func WithFallbackSecrets(secrets ...string) Option {
	return func(s *signer) {
		for _, sec := range secrets {
			s.secrets = append(s.secrets, []byte(sec))
		}
	}
}

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(s *signer) { s.now = now } }

func newSigner(secret, salt string, opts []Option) (*signer, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("djangocodec: %w: SECRET_KEY of %d characters; Django's are 50", core.ErrInvalidConfig, len(secret))
	}
	s := &signer{salt: salt, secrets: [][]byte{[]byte(secret)}, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Codec is a core.Codec in the format of Django's database backend.
type Codec struct{ s *signer }

// New returns a Codec for Django's SECRET_KEY.
func New(secretKey string, opts ...Option) (*Codec, error) {
	s, err := newSigner(secretKey, DefaultSalt, opts)
	if err != nil {
		return nil, err
	}
	return &Codec{s: s}, nil
}

// Encode implements core.Codec: signing.dumps(session, compress=True).
func (c *Codec) Encode(values map[string]json.RawMessage) ([]byte, error) {
	data, err := core.JSONCodec{}.Encode(values)
	if err != nil {
		return nil, err
	}
	return []byte(c.s.dumps(data, true)), nil
}

// Decode implements core.Codec: signing.loads without a maximum age (the
// row's expire_date governs), then JSON.
func (c *Codec) Decode(data []byte) (map[string]json.RawMessage, error) {
	raw, _, err := c.s.loads(string(data), 0)
	if err != nil {
		return nil, err
	}
	return core.JSONCodec{}.Decode(raw)
}
