package djangocodec

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// CookieStore is a core.CookieStore in the format of Django's
// signed_cookies backend. Use it with core.NewWithCookieStore and the
// default JSON codec: the cookie holds signing.dumps(session, compress=True)
// under [CookieSalt].
type CookieStore struct {
	s      *signer
	maxAge time.Duration
}

// maxCookie is the largest cookie value Seal produces.
const maxCookie = 4096 - 64

// NewCookieStore returns the store for Django's SECRET_KEY. maxAge is
// SESSION_COOKIE_AGE: older cookies are rejected, as Django does.
func NewCookieStore(secretKey string, maxAge time.Duration, opts ...Option) (*CookieStore, error) {
	if maxAge <= 0 {
		return nil, fmt.Errorf("djangocodec: max age %v: want a positive duration: %w", maxAge, core.ErrInvalidConfig)
	}
	s, err := newSigner(secretKey, CookieSalt, opts)
	if err != nil {
		return nil, err
	}
	return &CookieStore{s: s, maxAge: maxAge}, nil
}

// Seal implements core.CookieStore. data must be the session as JSON; its
// expiry is written in the form the configured Django version reads (see
// [WithVersion]; an absolute one for Django before 4.1 gives an error
// wrapping [ErrUnrepresentable]). An expiry other than the cookie age from
// now, for a session without its own _session_expiry, is recorded as one
// (what Django's set_expiry would write: seconds before 4.1, the time
// from 4.1), so Open can honour it.
func (c *CookieStore) Seal(_ context.Context, data []byte, expiry time.Time) (string, error) {
	data, err := rewriteJSON(data, c.s.forms.toDjango)
	if err != nil {
		return "", err
	}
	now := c.s.now()
	if d := expiry.Sub(now.Add(c.maxAge)); (d > time.Second || d < -time.Second) && len(data) >= 2 && data[0] == '{' {
		if raw, ok := sessionExpiry(data); ok && raw == nil {
			field := `"_session_expiry":` + string(c.expiryField(expiry, now))
			if string(data) != "{}" {
				field += ","
			}
			data = append([]byte("{"+field), data[1:]...)
		}
	}
	v := c.s.dumps(data, true)
	if len(v) > maxCookie {
		return "", fmt.Errorf("djangocodec: session cookie of %d bytes over %d: %w", len(v), maxCookie, core.ErrTooLarge)
	}
	return v, nil
}

// expiryField is the _session_expiry value Seal records for expiry.
func (c *CookieStore) expiryField(expiry, now time.Time) json.RawMessage {
	if !c.s.forms.isoDate {
		secs := int64((expiry.Sub(now) + time.Second - 1) / time.Second)
		return strconv.AppendInt(nil, max(secs, 1), 10)
	}
	raw, _ := c.s.forms.toDjango(strconv.AppendQuote(nil, pyISO(expiry.UTC(), false)))
	return raw
}

// Open implements core.CookieStore: the signature and the cookie age as
// Django checks them, and also the session's own _session_expiry, which
// Django's signed_cookies backend ignores. An expiry in any form a Django
// version writes is returned in package core's.
func (c *CookieStore) Open(_ context.Context, value string) ([]byte, time.Time, error) {
	data, signedAt, err := c.s.loads(value, c.maxAge)
	if err != nil {
		return nil, time.Time{}, err
	}
	expiry := signedAt.Add(c.maxAge)
	raw, ok := sessionExpiry(data)
	if !ok {
		return nil, time.Time{}, fmt.Errorf("djangocodec: cookie is not a JSON object: %w", core.ErrTampered)
	}
	if len(raw) > 0 {
		var secs int64
		if t, ok := c.s.forms.absolute(raw); ok {
			expiry = t
		} else if json.Unmarshal(raw, &secs) == nil && secs > 0 {
			expiry = signedAt.Add(time.Duration(secs) * time.Second)
		}
	}
	if !expiry.After(c.s.now()) {
		return nil, time.Time{}, fmt.Errorf("djangocodec: session expired at %v: %w", expiry, core.ErrNotFound)
	}
	data, err = rewriteJSON(data, c.s.forms.fromDjango)
	if err != nil {
		return nil, time.Time{}, err
	}
	return data, expiry, nil
}
