package core

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// UserIDKey is the session key holding the logged-in user's id, Django's
// _auth_user_id, so Django and Go agree on who is logged in.
const UserIDKey = "_auth_user_id"

// UserIndex is implemented by stores that can find every session of a user,
// so that all of them can be deleted at once ("log out everywhere", after a
// password change). The manager links a session to its user when the
// session is saved under a new key or its user changed.
type UserIndex interface {
	// LinkUser records that the session stored under key belongs to user
	// until expiry. A key belongs to at most one user.
	LinkUser(ctx context.Context, user, key string, expiry time.Time) error
	// UnlinkUser removes key's link to its user, if it has one: the session
	// lost its user (its values were cleared or _auth_user_id removed) and
	// must not be deleted by a later DeleteUserSessions of that user.
	UnlinkUser(ctx context.Context, key string) error
	// DeleteUserSessions deletes every session linked to user, and the
	// links, and reports how many sessions it deleted.
	DeleteUserSessions(ctx context.Context, user string) (int64, error)
}

// Login records userID as the session's user, with Django's rules: when the
// session belongs to another user (its _auth_user_id holds any other value)
// it is flushed first, so nothing of that user's (cart, address) carries
// over and the old record is deleted from the store; otherwise (no user yet,
// or the same user) the key is cycled against session fixation and the
// values are kept, so an anonymous cart survives the first login. Either
// way the session is saved under a fresh key.
func (s *Session) Login(userID string) error {
	s.lock()
	s.loadLocked()
	prev, present := s.values[UserIDKey]
	err := s.loadErr
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if id, ok := decodeUserID(prev); present && (!ok || id != userID) {
		err = s.Flush()
	} else {
		err = s.CycleKey()
	}
	if err != nil {
		return err
	}
	return s.Set(UserIDKey, userID)
}

// UserID returns the logged-in user's id, if any.
func (s *Session) UserID() (string, bool) {
	id, ok, err := GetAs[string](s, UserIDKey)
	if err != nil {
		return "", false
	}
	return id, ok && id != ""
}

// UserKeysDeleter is implemented by [UserIndex] stores that can tell which
// sessions DeleteUserSessions removes, so that a cache in front of them
// (core/cachedstore) drops exactly those copies at once.
type UserKeysDeleter interface {
	// DeleteUserSessionKeys is DeleteUserSessions returning the keys of the
	// live sessions it deleted, as the store knows them.
	DeleteUserSessionKeys(ctx context.Context, user string) ([]string, error)
}

// UserSessionLister is implemented by [UserIndex] stores that can list a
// user's sessions: for operators (the cloakroom command's sessions and
// revoke commands) and for a page that shows users where they are signed
// in. Wrappers that change keys or add a cache (hashkeys, cachedstore) do
// not pass it on: the keys are the store's own.
type UserSessionLister interface {
	// UserSessionKeys returns the keys, as the store knows them, of the
	// live sessions linked to user, soonest expiry first. A user without
	// sessions gives none and no error.
	UserSessionKeys(ctx context.Context, user string) ([]string, error)
}

// LogoutEverywhere deletes every session of userID from a store that
// implements [UserIndex], and reports how many it deleted. Other stores give
// an error wrapping [ErrUnsupported].
func (m *Manager) LogoutEverywhere(ctx context.Context, userID string) (int64, error) {
	if !m.Supports(CapUserIndex) {
		return 0, fmt.Errorf("cloakroom: log out everywhere: %T: %w", m.given, ErrUnsupported)
	}
	n, err := m.store.(UserIndex).DeleteUserSessions(ctx, userID)
	if err != nil {
		return n, wrapErr("log out everywhere", err)
	}
	return n, nil
}

// linkUserLocked keeps a UserIndex store's links in step with the session
// just saved (created: under a new key): it links the key to the session's
// user when the key is new or the user changed, and unlinks it when a
// linked session lost its user (_auth_user_id removed, emptied, cleared),
// so that a later LogoutEverywhere of that user leaves the now anonymous
// session alone. s.mu must be held.
func (s *Session) linkUserLocked(ctx context.Context, created bool, exp time.Time) error {
	idx := s.m.users
	if idx == nil {
		return nil
	}
	raw := s.values[UserIDKey]
	if !created && s.fetched && string(raw) == string(s.loadedUser) {
		return nil
	}
	user, ok := decodeUserID(raw)
	if !ok {
		// A new key was never linked; a key whose record was never read
		// (cleared without a load) may be.
		if !created && (s.loadedUser != nil || !s.fetched) {
			if err := idx.UnlinkUser(ctx, s.key); err != nil {
				return wrapErr("unlinking session from its user", err)
			}
		}
		s.loadedUser, s.fetched = nil, true
		return nil
	}
	if err := idx.LinkUser(ctx, user, s.key, exp); err != nil {
		return wrapErr("linking session to its user", err)
	}
	s.loadedUser, s.fetched = raw, true
	return nil
}

// decodeUserID decodes a stored _auth_user_id: ok is false when raw is
// missing, not a JSON string, or empty.
func decodeUserID(raw json.RawMessage) (string, bool) {
	if raw == nil {
		return "", false
	}
	var id string
	if json.Unmarshal(raw, &id) != nil || id == "" {
		return "", false
	}
	return id, true
}
