// Package djangocodec reads and writes sessions in Django's own formats, so
// a Go service and a Django app can share one login.
//
// [Codec] is the session_data format of Django's database and file
// backends: the session dictionary as JSON, signed with
// django.core.signing (HMAC-SHA256 keyed from SECRET_KEY through
// salted_hmac, a base62 timestamp, zlib compression when it helps). Use it
// with gormstore pointed at the django_session table Django created.
// [CookieStore] is the format of Django's signed_cookies backend.
// [CacheFormat] is the memcached value of Django's cache and cached_db
// backends (a pickled dictionary, read by a restricted pickle reader): use
// it with memcachestore, and for cached_db behind cachedstore with
// unstamped entries over the database store.
//
// All accept fallback secrets for rotation, as Django 4.1's
// SECRET_KEY_FALLBACKS does: values signed with an old secret still read,
// and every save signs with the current one.
//
// Django's own keys work as they do in Django: _session_expiry (seconds or
// an absolute time, in the forms of the Django version named by
// [WithVersion]; see [ErrUnrepresentable]), and the auth keys
// _auth_user_id, _auth_user_backend and _auth_user_hash (see [Login]).
package djangocodec

import (
	"encoding/json"
	"fmt"
	"maps"
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

// options holds the settings the options of the constructors set.
type options struct {
	salt      string
	fallbacks [][]byte
	now       func() time.Time
	version   Version
	local     *time.Location
}

// Option configures a Codec, CookieStore or CacheFormat.
type Option func(*options)

// WithSalt replaces the salt (a custom SessionStore class). The default is
// [DefaultSalt] for [New] and [CookieSalt] for [NewCookieStore].
func WithSalt(salt string) Option { return func(o *options) { o.salt = salt } }

// WithFallbackSecrets adds old secrets that still verify (Django's
// SECRET_KEY_FALLBACKS); by default there are none.
func WithFallbackSecrets(secrets ...string) Option {
	return func(o *options) {
		for _, sec := range secrets {
			o.fallbacks = append(o.fallbacks, []byte(sec))
		}
	}
}

// WithClock replaces time.Now (the default), for tests. now must not be
// nil.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// newOptions returns the settings opts make of the defaults, salt being
// the constructor's default salt.
func newOptions(salt string, opts []Option) options {
	o := options{salt: salt, now: time.Now, version: DefaultVersion}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// forms validates the Django version and time settings and returns the
// value forms they make.
func (o *options) forms() (forms, error) {
	f := forms{version: o.version, local: o.local}
	if err := f.check(); err != nil {
		return forms{}, err
	}
	return f, nil
}

func newSigner(secret, salt string, opts []Option) (*signer, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("djangocodec: SECRET_KEY of %d characters: want at least 32 (Django's are 50): %w", len(secret), core.ErrInvalidConfig)
	}
	o := newOptions(salt, opts)
	if o.now == nil {
		return nil, fmt.Errorf("djangocodec: nil clock: %w", core.ErrInvalidConfig)
	}
	f, err := o.forms()
	if err != nil {
		return nil, err
	}
	return &signer{salt: o.salt, secrets: append([][]byte{[]byte(secret)}, o.fallbacks...), now: o.now, forms: f}, nil
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
// The expiry is written in the form the configured Django version reads
// (see [WithVersion]); an error wraps [ErrUnrepresentable] when it has none.
// values itself is not changed.
func (c *Codec) Encode(values map[string]json.RawMessage) ([]byte, error) {
	if raw, ok := values[core.ExpiryKey]; ok {
		out, err := c.s.forms.toDjango(raw)
		if err != nil {
			return nil, err
		}
		if string(out) != string(raw) {
			values = maps.Clone(values)
			values[core.ExpiryKey] = out
		}
	}
	data, err := core.JSONCodec{}.Encode(values)
	if err != nil {
		return nil, err
	}
	return []byte(c.s.dumps(data, true)), nil
}

// Decode implements core.Codec: signing.loads without a maximum age (the
// row's expire_date governs), then JSON. An expiry in any form a Django
// version writes is returned in package core's (naive times are read in
// the zone of [WithLocalTime], else UTC).
func (c *Codec) Decode(data []byte) (map[string]json.RawMessage, error) {
	raw, _, err := c.s.loads(string(data), 0)
	if err != nil {
		return nil, err
	}
	values, err := core.JSONCodec{}.Decode(raw)
	if err != nil {
		return nil, err
	}
	c.s.forms.decodeValues(values)
	return values, nil
}
