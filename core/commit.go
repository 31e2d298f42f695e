package core

import (
	"context"
	"net/http"
	"strconv"
)

// maxCreateAttempts bounds the retries when a freshly drawn key collides.
const maxCreateAttempts = 10

// Save stores the session now if it changed, so a handler can deal with a
// failure before it writes its response. The cookie is still set when the
// response goes out, and the session may still change until then. ctx
// replaces the request's context for this call; [Config.StoreTimeout]
// still bounds each store call. A session over [Config.MaxSessionBytes] is
// not stored: the error wraps [ErrTooLarge].
func (s *Session) Save(ctx context.Context) error {
	s.lock()
	defer s.mu.Unlock()
	if !s.modified && !s.m.cfg.SaveEveryRequest {
		return nil
	}
	if s.isEmptyLocked() {
		return nil
	}
	if err := s.saveLocked(ctx); err != nil {
		return err
	}
	s.modified = false
	s.saved = true
	return nil
}

// saveLocked writes the session to its backend (see backend.save): a
// Create under a fresh key when it has none, an Update otherwise, or a
// fresh cookie value. s.mu must be held.
func (s *Session) saveLocked(ctx context.Context) error {
	s.loadLocked()
	if s.loadErr != nil {
		return s.loadErr
	}
	now := s.m.cfg.Now()
	if s.m.cfg.IdleTimeout > 0 {
		s.setValueLocked(LastActivityKey, strconv.AppendInt(nil, now.Unix(), 10))
	}
	if err := s.saveSizeErrLocked(); err != nil {
		return err
	}
	data, err := s.m.cfg.Codec.Encode(s.values)
	if err != nil {
		return wrapErr("encoding session", err)
	}
	exp := s.expiryDate(now)
	if idle := s.m.cfg.IdleTimeout; idle > 0 && now.Add(idle).Before(exp) {
		exp = now.Add(idle) // the store forgets an idle session by itself
	}
	return s.m.b.save(ctx, s, data, exp)
}

// commitLocked applies the response rules of Django's SessionMiddleware
// to the headers h of a response with the given status (see
// [Exchange.Commit]), and returns the error that kept the session from
// being committed. s.mu must be held.
func (s *Session) commitLocked(h http.Header, status int) error {
	if !s.scanned { // never used, and every request saves
		s.scanCookieLocked()
	}
	if s.loadErr != nil && status < 500 {
		return s.loadErr
	}
	if s.hadCookie && s.isEmptyLocked() {
		s.m.setCookie(h, "", -1, false, s.m.cfg.Now())
		addVaryCookie(h)
		return nil
	}
	if s.accessed {
		addVaryCookie(h)
	}
	if s.isEmptyLocked() || status >= 500 {
		return nil
	}
	if s.modified || (s.m.cfg.SaveEveryRequest && !s.saved) {
		if err := s.saveLocked(s.context()); err != nil {
			return err
		}
	} else if !s.saved {
		return nil
	}
	now := s.m.cfg.Now()
	if s.expireAtBrowserCloseLocked() {
		s.m.setCookie(h, s.key, 0, true, now)
	} else {
		age := int(s.expiryAge(now).Seconds())
		if age <= 0 { // an expiry in the past: the cookie goes at once
			age = -1
		}
		s.m.setCookie(h, s.key, age, false, now)
	}
	return nil
}
