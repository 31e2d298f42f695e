package core

import (
	"context"
	"errors"
	"fmt"
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

// saveLocked writes the session to the store: a Create under a fresh key
// when it has none, an Update otherwise. s.mu must be held.
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
		return fmt.Errorf("cloakroom: encoding session: %w", err)
	}
	exp := s.expiryDate(now)
	if idle := s.m.cfg.IdleTimeout; idle > 0 && now.Add(idle).Before(exp) {
		exp = now.Add(idle) // the store forgets an idle session by itself
	}
	if s.m.cookies != nil {
		v, err := s.m.cookies.Seal(ctx, data, exp)
		if err != nil {
			return fmt.Errorf("cloakroom: sealing session cookie: %w", err)
		}
		s.key = v
		return nil
	}
	if s.key != "" && !s.mustCreate {
		rec := Record{Key: s.key, Data: data, Expiry: exp}
		if s.m.versioned != nil {
			err = s.saveVersionedLocked(ctx, rec)
		} else if err = s.m.store.Save(ctx, rec, Update); err != nil {
			err = fmt.Errorf("cloakroom: saving session: %w", err)
		}
		if err != nil {
			return err
		}
		s.ops = s.ops[:0]
		return s.linkUserLocked(ctx, false, exp)
	}
	for attempt := 0; ; attempt++ {
		if s.key == "" || attempt > 0 {
			if s.key, err = NewKey(); err != nil {
				return err
			}
		}
		err = s.m.store.Save(ctx, Record{Key: s.key, Data: data, Expiry: exp}, Create)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrKeyExists) || attempt+1 == maxCreateAttempts {
			s.key = ""
			return fmt.Errorf("cloakroom: creating session: %w", err)
		}
	}
	s.mustCreate, s.version, s.ops = false, 1, s.ops[:0]
	if s.oldKey != "" {
		if err := s.m.store.Delete(ctx, s.oldKey); err != nil {
			return fmt.Errorf("cloakroom: deleting the session's previous key: %w", err)
		}
		s.oldKey = ""
	}
	return s.linkUserLocked(ctx, true, exp)
}

// Commit applies the response rules of Django's SessionMiddleware to w's
// headers for a response with the given status, just before the headers go
// out: Vary: Cookie when the session was accessed; the cookie deleted when
// the request carried one and the session is now empty; otherwise, when the
// session was modified (or SaveEveryRequest), a save and a fresh cookie,
// unless status is 500 or above.
//
// When the session cannot be committed Commit hands the error to the
// manager's error handler, which writes the response, and returns false; the
// caller must then drop the handler's own status and body. Commit runs once;
// later calls return the first result. Middlewares call it; handlers don't.
func (s *Session) Commit(w http.ResponseWriter, status int) bool {
	s.mu.Lock() // not lock(): a session never used need not read its cookie
	if s.committed {
		ok := s.commitErr == nil
		s.mu.Unlock()
		return ok
	}
	s.committed = true
	err := s.commitLocked(w.Header(), status)
	s.commitErr = err
	s.mu.Unlock()
	if err != nil {
		if !errors.Is(err, ErrSessionDeleted) {
			s.m.logError(s.ctx, "cloakroom: session not committed", err)
		}
		s.m.cfg.ErrorHandler(w, s.req, err)
		return false
	}
	return true
}

func (s *Session) commitLocked(h http.Header, status int) error {
	if !s.scanned {
		// Never used: not accessed, not modified, nothing loaded. Only an
		// unusable cookie must go, unless every request saves.
		if !s.m.cfg.SaveEveryRequest {
			if s.m.unusableCookie(s.req) {
				s.m.setCookie(h, "", -1, false, s.m.cfg.Now())
				addVaryCookie(h)
			}
			return nil
		}
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
		if err := s.saveLocked(s.ctx); err != nil {
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
