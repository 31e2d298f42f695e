package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
)

// Session is one request's view of a session: a dictionary of named values
// with Django's semantics. It loads lazily: the store is read on the first
// access, never for a request that does not touch the session.
//
// Values are kept as JSON, so they come back with their Go types when read
// into a typed destination (an int stays an int, a time.Time a time.Time, a
// struct a struct) with no type registration. Set copies the value: change
// it later and call Set again.
//
// A Session is safe for concurrent use by the goroutines of its request.
type Session struct {
	m   *Manager
	req *http.Request // its context is the store calls' (see context)

	mu         sync.Mutex
	key        string // current key (or cookie-store value); "" when none
	scanned    bool   // the request's cookie was read (key and hadCookie are valid)
	hadCookie  bool   // the request carried the session cookie, which the commit may delete
	loaded     bool
	accessed   bool
	modified   bool
	mustCreate bool   // key is new and not yet stored
	idleTouch  bool   // the load wants the idle deadline moved once the session is accessed
	fetched    bool   // loadedUser is what the store holds: read, or linked by a save (not after a Clear without a load)
	oldKey     string // key to delete once the new one is stored (CycleKey)
	saved      bool   // Save stored the current state during this request
	committed  bool   // the response's headers went out: changes are refused
	sized      bool   // size is valid (see sizeLocked)
	lateLogged bool   // a change after the commit was logged
	size       int32  // sum of entrySize over values (see limit.go), while sized; int32 fits the padding
	loadErr    error  // the store failed: the session must not be saved
	values     map[string]json.RawMessage
	loadedUser json.RawMessage // UserIDKey as loaded or last linked
	version    uint64          // the loaded record's version (Config.Optimistic)
	ops        []change        // changes to replay on a version conflict
}

// context returns the request's context, for store calls and logs.
func (s *Session) context() context.Context {
	if s.req == nil {
		return context.Background()
	}
	return s.req.Context()
}

// Key returns the session key, or "" when the session has none yet. A new
// session gets its key when it is first saved.
//
// With a cookie store ([NewWithCookieStore]) the key is the signed cookie
// value, and Key never returns one it has not verified: it opens the
// session first, without marking it accessed (Key alone adds no Vary:
// Cookie), and returns "" for a value that does not open (forged, expired,
// malformed). With a server store Key does not call the store: until the
// session loads it is the request's first acceptable cookie value, which
// the store may not know (Django's session_key); once loaded it is the key
// of the session that loaded, or "".
func (s *Session) Key() string {
	s.lock()
	defer s.mu.Unlock()
	if s.m.b.sealed() {
		s.fetchLocked()
		if s.loadErr != nil {
			return ""
		}
	}
	return s.key
}

// Accessed reports whether the session's values were read or written.
func (s *Session) Accessed() bool {
	s.lock()
	defer s.mu.Unlock()
	return s.accessed
}

// Modified reports whether the session changed and will be saved.
func (s *Session) Modified() bool {
	s.lock()
	defer s.mu.Unlock()
	return s.modified
}

// MarkModified makes the session save at the end of the request even if no
// value changed, refreshing its expiry (Django's session.modified = True).
func (s *Session) MarkModified() {
	s.lock()
	defer s.mu.Unlock()
	s.modified = true
}

// Err returns the error that prevented the session from loading, or nil.
// Such a session reads as empty and is never saved; unless the handler
// answers with a 5xx itself, the response becomes an error.
func (s *Session) Err() error {
	s.lock()
	defer s.mu.Unlock()
	s.loadLocked()
	return s.loadErr
}

// loadLocked reads the session from the store once and marks it accessed.
// s.mu must be held.
func (s *Session) loadLocked() {
	s.accessed = true
	s.fetchLocked()
	if s.idleTouch {
		s.idleTouch, s.modified = false, true
	}
}

// fetchLocked reads the session from the store once, without marking it
// accessed. When the request carried several acceptable cookie values it
// tries them in order, at most MaxSessionCookies, and keeps the first that
// loads; a store failure stops the search. s.mu must be held.
func (s *Session) fetchLocked() {
	if s.loaded {
		return
	}
	s.loaded = true
	s.values = make(map[string]json.RawMessage)
	if s.key == "" || s.mustCreate {
		return
	}
	first := s.key
	var buf [MaxSessionCookies]string
	cands, more := buf[:1], false
	buf[0] = first
	s.key, s.fetched = "", true
	fallback, fallbackVersion := "", uint64(0)
	for i := 0; i < len(cands); i++ {
		k := cands[i]
		values, version, res := s.openLocked(k)
		switch res {
		case opened:
			s.key, s.values, s.version = k, values, version
			s.loadedUser = values[UserIDKey]
			if s.m.cfg.IdleTimeout > 0 {
				// The touch waits for an access: Key alone must not save.
				modified := s.modified
				s.checkIdleLocked()
				s.idleTouch, s.modified = s.modified && !modified, modified
			}
			return
		case failed:
			s.key = k // the store failed: keep the cookie, save nothing
			return
		case corrupt:
			if fallback == "" {
				fallback, fallbackVersion = k, version
			}
		}
		if i == 0 && s.req != nil {
			// The first value did not open: the request may carry others
			// (cookie tossing). Look for them only now.
			n, _, rest := s.m.sessionCookies(s.req.Header, buf[:])
			if n > 1 && buf[0] == first { // else the header changed: the first value only
				cands, more = buf[:n], rest
			} else {
				buf[0] = first
			}
		}
	}
	if fallback != "" {
		// A server-side record that does not decode: an empty session that
		// overwrites it on save, as for a single cookie.
		s.key, s.version = fallback, fallbackVersion
		return
	}
	if more {
		// Acceptable values beyond the bound were never tried: one of them
		// may be the real session, so its cookie must not be deleted.
		s.hadCookie = false
		s.m.cfg.Logger.LogAttrs(s.context(), slog.LevelWarn, "cloakroom: more session cookies than core.MaxSessionCookies; none of those tried loaded",
			slog.Int("tried", len(cands)))
	}
}

// openResult is the outcome of opening one cookie value.
type openResult uint8

const (
	opened    openResult = iota // the session loaded
	notOpened                   // unknown, expired or tampered: no session
	corrupt                     // a server-side record that does not decode
	failed                      // the store failed; s.loadErr is set
)

// openLocked loads the session stored under (or, for a cookie store, in)
// key. It logs tampered and corrupt data. s.mu must be held.
func (s *Session) openLocked(key string) (map[string]json.RawMessage, uint64, openResult) {
	data, version, err := s.m.b.load(s.context(), key)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, 0, notOpened // never adopt an unknown key
	case errors.Is(err, ErrTampered) || errors.Is(err, ErrInvalidKey):
		s.m.warn(s.context(), "cloakroom: session data corrupted or tampered; starting an empty session", err)
		return nil, 0, notOpened
	case err != nil:
		s.loadErr = wrapErr("loading session", err)
		s.m.logError(s.context(), "cloakroom: session store failed on load", err)
		return nil, 0, failed
	}
	values, err := s.m.cfg.Codec.Decode(data)
	if err != nil {
		s.m.warn(s.context(), "cloakroom: session data corrupted; starting an empty session", err)
		if s.m.b.sealed() {
			return nil, 0, notOpened
		}
		return nil, version, corrupt
	}
	return values, version, opened
}

// Get decodes the value stored under key into dst, which must be a non-nil
// pointer. It reports whether the key was present. The error is non-nil when
// the value does not fit dst or the session could not be loaded.
func (s *Session) Get(key string, dst any) (bool, error) {
	s.lock()
	s.loadLocked()
	raw, ok := s.values[key]
	loadErr := s.loadErr
	s.mu.Unlock()
	if loadErr != nil {
		return false, loadErr
	}
	if !ok {
		return false, nil
	}
	if err := decodeValue(raw, dst); err != nil {
		return true, fmt.Errorf("cloakroom: session value %q: %w", key, err)
	}
	return true, nil
}

// GetAs returns the value stored under key as a T, and whether it was
// present. The error is non-nil when the value is not a T or the session
// could not be loaded.
func GetAs[T any](s *Session, key string) (T, bool, error) {
	var v T
	ok, err := s.Get(key, &v)
	return v, ok, err
}

// encode turns v into JSON, reporting values JSON cannot hold.
func encode(key string, v any) (json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cloakroom: session value %q cannot be stored: %w", key, err)
	}
	return raw, nil
}

// Set stores v under key. v must be serialisable as JSON: a channel, a
// function or a cyclic value is an error here, never at commit.
//
// Set returns an error wrapping [ErrTooLarge], and stores nothing, when the
// session would grow past [Config.MaxSessionBytes]; one wrapping
// [ErrResponseStarted], and stores nothing, once the response's headers
// were sent; and the load error when the session could not be loaded.
func (s *Session) Set(key string, v any) error {
	raw, err := encode(key, v)
	if err != nil {
		return err
	}
	s.lock()
	defer s.mu.Unlock()
	if err := s.lateLocked("Set"); err != nil {
		return err
	}
	s.loadLocked()
	if s.loadErr != nil {
		return s.loadErr
	}
	return s.putLocked(key, raw)
}

// putLocked stores raw under key, recording the change for replay, unless
// the session would grow past MaxSessionBytes.
func (s *Session) putLocked(key string, raw json.RawMessage) error {
	if err := s.fitsLocked(key, s.deltaLocked(key, raw)); err != nil {
		return err
	}
	s.setValueLocked(key, raw)
	s.modified = true
	s.record(change{kind: changeSet, key: key, raw: raw})
	return nil
}

// deleteLocked removes key if present, recording the change for replay.
func (s *Session) deleteLocked(key string) bool {
	old, ok := s.values[key]
	if !ok {
		return false
	}
	if s.sized {
		s.size -= int32(entrySize(key, old))
	}
	delete(s.values, key)
	s.modified = true
	s.record(change{kind: changeDelete, key: key})
	return true
}

// SetDefault stores v under key unless the key is present, and reports
// whether it stored v. It fails as [Session.Set] does; finding the key
// present is never an error.
func (s *Session) SetDefault(key string, v any) (bool, error) {
	s.lock()
	s.loadLocked()
	_, present := s.values[key]
	s.mu.Unlock()
	if present {
		return false, nil
	}
	raw, err := encode(key, v)
	if err != nil {
		return false, err
	}
	s.lock()
	defer s.mu.Unlock()
	if s.loadErr != nil {
		return false, s.loadErr
	}
	if _, present = s.values[key]; present { // set meanwhile by another goroutine
		return false, nil
	}
	if err := s.lateLocked("SetDefault"); err != nil {
		return false, err
	}
	if err := s.fitsLocked(key, entrySize(key, raw)); err != nil {
		return false, err
	}
	s.setValueLocked(key, raw)
	s.modified = true
	s.record(change{kind: changeSetDefault, key: key, raw: raw})
	return true, nil
}

// Update stores every entry of values, as Django's update; nothing is stored
// if any value cannot be, including when the session would grow past
// [Config.MaxSessionBytes] ([ErrTooLarge]) or the response's headers were
// sent ([ErrResponseStarted]).
func (s *Session) Update(values map[string]any) error {
	raws := make(map[string]json.RawMessage, len(values))
	for k, v := range values {
		raw, err := encode(k, v)
		if err != nil {
			return err
		}
		raws[k] = raw
	}
	s.lock()
	defer s.mu.Unlock()
	if err := s.lateLocked("Update"); err != nil {
		return err
	}
	s.loadLocked()
	if s.loadErr != nil {
		return s.loadErr
	}
	delta := 0
	for k, raw := range raws {
		delta += s.deltaLocked(k, raw)
	}
	if err := s.fitsLocked("", delta); err != nil {
		return err
	}
	for k, raw := range raws {
		s.setValueLocked(k, raw)
		s.modified = true
		s.record(change{kind: changeSet, key: k, raw: raw})
	}
	return nil
}

// Has reports whether key is present.
func (s *Session) Has(key string) bool {
	s.lock()
	defer s.mu.Unlock()
	s.loadLocked()
	_, ok := s.values[key]
	return ok
}

// Delete removes key; a missing key is not an error. The error is the load
// error when the session could not be loaded, or wraps
// [ErrResponseStarted] (and the key stays) when key is present and the
// response's headers were sent.
func (s *Session) Delete(key string) error {
	s.lock()
	defer s.mu.Unlock()
	s.loadLocked()
	if s.loadErr != nil {
		return s.loadErr
	}
	if _, ok := s.values[key]; ok {
		if err := s.lateLocked("Delete"); err != nil {
			return err
		}
	}
	s.deleteLocked(key)
	return nil
}

// Pop decodes the value under key into dst (when dst is not nil), removes
// it, and reports whether it was present. When key is present and the
// response's headers were sent it removes nothing and returns false and an
// error wrapping [ErrResponseStarted]; a missing key is never an error.
func (s *Session) Pop(key string, dst any) (bool, error) {
	s.lock()
	s.loadLocked()
	raw, ok := s.values[key]
	loadErr := s.loadErr
	if ok && loadErr == nil {
		loadErr = s.lateLocked("Pop")
	}
	if loadErr == nil {
		s.deleteLocked(key)
	}
	s.mu.Unlock()
	if loadErr != nil {
		return false, loadErr
	}
	if ok && dst != nil {
		if err := decodeValue(raw, dst); err != nil {
			return true, fmt.Errorf("cloakroom: session value %q: %w", key, err)
		}
	}
	return ok, nil
}

// Keys returns the session's keys in sorted order, including Django's
// internal ones such as _session_expiry.
func (s *Session) Keys() []string {
	s.lock()
	defer s.mu.Unlock()
	s.loadLocked()
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Len returns the number of keys.
func (s *Session) Len() int {
	s.lock()
	defer s.mu.Unlock()
	s.loadLocked()
	return len(s.values)
}

// Clear removes every value, keeping the key (Django's clear). Use Flush at
// logout. Once the response's headers were sent it clears nothing and
// returns an error wrapping [ErrResponseStarted].
func (s *Session) Clear() error {
	s.lock()
	defer s.mu.Unlock()
	if err := s.lateLocked("Clear"); err != nil {
		return err
	}
	s.clearLocked()
	return nil
}

func (s *Session) clearLocked() {
	s.accessed = true
	s.loaded = true
	s.values = make(map[string]json.RawMessage)
	s.size, s.sized = 0, true
	s.modified = true
	s.record(change{kind: changeClear})
}

// IsEmpty reports whether the session has neither a key nor values
// (Django's is_empty). It does not load the session.
func (s *Session) IsEmpty() bool {
	s.lock()
	defer s.mu.Unlock()
	return s.isEmptyLocked()
}

func (s *Session) isEmptyLocked() bool {
	return s.key == "" && (!s.loaded || len(s.values) == 0)
}

// Flush removes every value, deletes the session from the store and drops
// its key, so the cookie is deleted: call it at logout.
//
// Once the response's headers were sent the cookie can no longer be
// deleted: Flush still deletes the stored session (the logout holds on the
// server; a cookie store's session cannot be revoked) and returns an error
// wrapping [ErrResponseStarted].
func (s *Session) Flush() error {
	s.lock()
	defer s.mu.Unlock()
	late := s.lateLocked("Flush")
	s.clearLocked()
	s.loadErr = nil
	for _, k := range [2]string{s.key, s.oldKey} {
		if k != "" && !s.mustCreateKey(k) {
			if err := s.m.b.remove(s.context(), k); err != nil {
				return errors.Join(wrapErr("flushing session", err), late)
			}
		}
	}
	s.key, s.oldKey, s.mustCreate, s.ops = "", "", false, nil
	return late
}

// mustCreateKey reports whether k is a key this request made up and never
// stored, so there is nothing to delete.
func (s *Session) mustCreateKey(k string) bool { return s.mustCreate && k == s.key }

// CycleKey gives the session a new key while keeping its values, and
// deletes the old key from the store when the session is saved: call it at
// login to prevent session fixation.
//
// Once the response's headers were sent it changes nothing and returns an
// error wrapping [ErrResponseStarted]: the new key could not reach the
// client.
func (s *Session) CycleKey() error {
	s.lock()
	defer s.mu.Unlock()
	if err := s.lateLocked("CycleKey"); err != nil {
		return err
	}
	s.loadLocked()
	if s.loadErr != nil {
		return s.loadErr
	}
	if err := s.m.b.cycle(s); err != nil {
		return err
	}
	s.modified = true
	return nil
}
