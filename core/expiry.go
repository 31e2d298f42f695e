package core

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// ExpiryKey is the session key under which a per-session expiry is kept, as
// Django does: a number of seconds relative to each save, or an ISO 8601
// absolute time.
const ExpiryKey = "_session_expiry"

// isoLayout reads the times written by isoFormat, and any fraction.
const isoLayout = "2006-01-02T15:04:05.999999-07:00"

// isoFormat writes t as Python's datetime.isoformat does for aware times:
// six fraction digits or none (Python before 3.11 reads no other width),
// and the offset as "+00:00", so Django can read it.
func isoFormat(t time.Time) string {
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05-07:00")
	}
	return t.Format("2006-01-02T15:04:05.000000-07:00")
}

// expiry is a decoded _session_expiry value.
type expiry struct {
	set     bool      // a per-session expiry exists
	seconds int64     // relative seconds, when !absolute
	at      time.Time // absolute time, when absolute
	abs     bool
}

func parseExpiry(raw json.RawMessage) (e expiry, ok bool) {
	if len(raw) == 0 {
		return e, true
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return e, false
		}
		t, err := time.Parse(isoLayout, s)
		if err != nil {
			if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
				return e, false
			}
		}
		return expiry{set: true, abs: true, at: t}, true
	}
	if string(raw) == "null" {
		return e, true
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
		return e, false
	}
	return expiry{set: true, seconds: int64(f)}, true
}

// expiryLocked returns the session's own expiry; a malformed value counts as
// none.
func (s *Session) expiryLocked() expiry {
	e, ok := parseExpiry(s.values[ExpiryKey])
	if !ok {
		return expiry{}
	}
	return e
}

// expiryAge returns the session's lifetime counted from modification
// (Django's get_expiry_age): the cookie age unless the session sets its own
// expiry; 0 seconds ("browser close") also means the cookie age here.
func (s *Session) expiryAge(modification time.Time) time.Duration {
	e := s.expiryLocked()
	switch {
	case !e.set || (!e.abs && e.seconds == 0):
		return s.m.cfg.CookieAge
	case e.abs:
		return e.at.Sub(modification).Truncate(time.Second)
	default:
		return time.Duration(e.seconds) * time.Second
	}
}

// expiryDate returns the instant the session expires when saved at
// modification (Django's get_expiry_date).
func (s *Session) expiryDate(modification time.Time) time.Time {
	e := s.expiryLocked()
	if e.abs {
		return e.at
	}
	return modification.Add(s.expiryAge(modification))
}

// expireAtBrowserCloseLocked is Django's get_expire_at_browser_close.
func (s *Session) expireAtBrowserCloseLocked() bool {
	e := s.expiryLocked()
	if !e.set {
		return s.m.cfg.ExpireAtBrowserClose
	}
	return !e.abs && e.seconds == 0
}

// setExpiryRaw stores raw as the session's expiry, or removes it when raw
// is nil. It fails as [Session.Set] does.
func (s *Session) setExpiryRaw(op string, raw json.RawMessage) error {
	s.lock()
	defer s.mu.Unlock()
	if err := s.lateLocked(op); err != nil {
		return err
	}
	s.loadLocked()
	if s.loadErr != nil {
		return s.loadErr
	}
	if raw == nil {
		s.deleteLocked(ExpiryKey)
		return nil
	}
	if err := s.m.checkExpiry(raw); err != nil {
		return err
	}
	return s.putLocked(ExpiryKey, raw)
}

// ExpiryChecker is implemented by a [Codec] or [CookieStore] that cannot
// store every expiry (djangocodec for Django before 4.1 cannot hold an
// absolute one in JSON). The expiry setters ask it first, so such an
// expiry fails when it is set, not when the session is saved.
type ExpiryChecker interface {
	// CheckExpiry returns an error when raw, a _session_expiry value as
	// this package writes it, cannot be stored.
	CheckExpiry(raw json.RawMessage) error
}

// addExpiryChecks keeps those of parts (the codec, a cookie store) that
// restrict the expiries they store, for checkExpiry.
func (m *Manager) addExpiryChecks(parts ...any) {
	for _, p := range parts {
		if c, ok := p.(ExpiryChecker); ok {
			m.checks = append(m.checks, c)
		}
	}
}

// checkExpiry asks the codec and the cookie store whether raw can be
// stored.
func (m *Manager) checkExpiry(raw json.RawMessage) error {
	for _, c := range m.checks {
		if err := c.CheckExpiry(raw); err != nil {
			return err
		}
	}
	return nil
}

// SetExpiry makes the session expire d after each save (Django's
// set_expiry with an int of seconds; d is rounded up to whole seconds). Zero
// makes it expire when the browser closes; a negative d expires it at once.
//
// The expiry setters fail as [Session.Set] does: an error wrapping
// [ErrResponseStarted] once the response's headers were sent (the cookie
// could no longer follow), [ErrTooLarge] over [Config.MaxSessionBytes], or
// the load error; the session is then left as it was.
func (s *Session) SetExpiry(d time.Duration) error {
	return s.setExpiry("SetExpiry", d)
}

func (s *Session) setExpiry(op string, d time.Duration) error {
	secs := int64(d / time.Second)
	if d > 0 && d%time.Second != 0 {
		secs++
	}
	return s.setExpiryRaw(op, strconv.AppendInt(nil, secs, 10))
}

// SetExpiryAt makes the session expire at t (Django's set_expiry with a
// datetime). It fails as [Session.SetExpiry] does, and with the error of
// the codec or cookie store when it is an [ExpiryChecker] that cannot store
// an absolute expiry.
func (s *Session) SetExpiryAt(t time.Time) error {
	return s.setExpiryRaw("SetExpiryAt", json.RawMessage(`"`+isoFormat(t)+`"`))
}

// SetExpireAtBrowserClose makes the session's cookie a browser-session
// cookie (Django's set_expiry(0)). It fails as [Session.SetExpiry] does.
func (s *Session) SetExpireAtBrowserClose() error { return s.setExpiry("SetExpireAtBrowserClose", 0) }

// ResetExpiry returns the session to the global expiry policy (Django's
// set_expiry(None)). It fails as [Session.SetExpiry] does.
func (s *Session) ResetExpiry() error { return s.setExpiryRaw("ResetExpiry", nil) }

// ExpiryAge returns how long the session lives from now (Django's
// get_expiry_age).
func (s *Session) ExpiryAge() time.Duration {
	s.lock()
	defer s.mu.Unlock()
	s.loadLocked()
	return s.expiryAge(s.m.cfg.Now())
}

// ExpiryDate returns when the session expires if saved now (Django's
// get_expiry_date).
func (s *Session) ExpiryDate() time.Time {
	s.lock()
	defer s.mu.Unlock()
	s.loadLocked()
	return s.expiryDate(s.m.cfg.Now())
}

// ExpireAtBrowserClose reports whether the session's cookie expires when the
// browser closes (Django's get_expire_at_browser_close).
func (s *Session) ExpireAtBrowserClose() bool {
	s.lock()
	defer s.mu.Unlock()
	s.loadLocked()
	return s.expireAtBrowserCloseLocked()
}
