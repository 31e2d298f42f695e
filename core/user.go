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

// Login records userID as the session's user and cycles its key against
// session fixation, keeping the other values (an anonymous cart survives).
func (s *Session) Login(userID string) error {
	if err := s.CycleKey(); err != nil {
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

// LogoutEverywhere deletes every session of userID from a store that
// implements [UserIndex], and reports how many it deleted. Other stores give
// an error wrapping [ErrUnsupported].
func (m *Manager) LogoutEverywhere(ctx context.Context, userID string) (int64, error) {
	if !m.Supports(CapUserIndex) {
		return 0, fmt.Errorf("cloakroom: log out everywhere: %T: %w", m.store, ErrUnsupported)
	}
	n, err := m.store.(UserIndex).DeleteUserSessions(ctx, userID)
	if err != nil {
		return n, fmt.Errorf("cloakroom: log out everywhere: %w", err)
	}
	return n, nil
}

// linkUserLocked tells a UserIndex store who owns the session just saved
// when the key is new or the user changed. s.mu must be held.
func (s *Session) linkUserLocked(ctx context.Context, created bool, exp time.Time) error {
	idx := s.m.users
	if idx == nil {
		return nil
	}
	raw := s.values[UserIDKey]
	if raw == nil || (!created && string(raw) == string(s.loadedUser)) {
		return nil
	}
	var user string
	if err := json.Unmarshal(raw, &user); err != nil || user == "" {
		return nil
	}
	if err := idx.LinkUser(ctx, user, s.key, exp); err != nil {
		return fmt.Errorf("cloakroom: linking session to its user: %w", err)
	}
	s.loadedUser = raw
	return nil
}
