// Package hashkeys keeps session keys hashed at rest: the wrapped store only
// ever sees a SHA-256 digest of each key, so a leaked table or cache dump
// holds no usable cookie.
//
// The digest is truncated to 160 bits and written as 40 lowercase hex
// characters so it fits Django's varchar(40) session_key column and passes
// [core.ValidKey]. Session keys carry about 165 bits of randomness, so the
// digest cannot be reversed or brute-forced.
//
// Turning hashing on (or off) for an existing store invalidates its
// sessions: their records are stored under the other form of the key.
package hashkeys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// Store wraps a core.Store, hashing every key before it reaches it.
type Store struct {
	inner core.Store
}

// Wrap returns store with keys hashed at rest.
func Wrap(store core.Store) *Store { return &Store{inner: store} }

// Hash returns the at-rest form of key: 40 hex characters of its SHA-256.
// It is exported for tools that must find a record from a cookie value.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:20])
}

func hashed(op, key string) (string, error) {
	if !core.ValidKey(key) {
		return "", fmt.Errorf("hashkeys: %s %.50q: %w", op, key, core.ErrInvalidKey)
	}
	return Hash(key), nil
}

// Load implements core.Store. The returned record carries the caller's key.
func (s *Store) Load(ctx context.Context, key string) (core.Record, error) {
	h, err := hashed("load", key)
	if err != nil {
		return core.Record{}, err
	}
	rec, err := s.inner.Load(ctx, h)
	rec.Key = key
	return rec, err
}

// Save implements core.Store.
func (s *Store) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	h, err := hashed("save", rec.Key)
	if err != nil {
		return err
	}
	rec.Key = h
	return s.inner.Save(ctx, rec, mode)
}

// Delete implements core.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	h, err := hashed("delete", key)
	if err != nil {
		return err
	}
	return s.inner.Delete(ctx, h)
}

// ClearExpired implements core.ExpiredClearer when the wrapped store does;
// otherwise it reports that it cannot.
func (s *Store) ClearExpired(ctx context.Context) (int64, error) {
	c, ok := s.inner.(core.ExpiredClearer)
	if !ok {
		return 0, fmt.Errorf("hashkeys: %T cannot clear expired sessions", s.inner)
	}
	return c.ClearExpired(ctx)
}

// Unwrap returns the wrapped store.
func (s *Store) Unwrap() core.Store { return s.inner }

// LinkUser implements core.UserIndex by linking the hashed key when the
// wrapped store keeps a user index; otherwise it does nothing (and
// DeleteUserSessions reports core.ErrUnsupported).
func (s *Store) LinkUser(ctx context.Context, user, key string, expiry time.Time) error {
	idx, ok := s.inner.(core.UserIndex)
	if !ok {
		return nil
	}
	h, err := hashed("link user", key)
	if err != nil {
		return err
	}
	return idx.LinkUser(ctx, user, h, expiry)
}

// DeleteUserSessions implements core.UserIndex through the wrapped store.
func (s *Store) DeleteUserSessions(ctx context.Context, user string) (int64, error) {
	idx, ok := s.inner.(core.UserIndex)
	if !ok {
		return 0, fmt.Errorf("hashkeys: %T: %w", s.inner, core.ErrUnsupported)
	}
	return idx.DeleteUserSessions(ctx, user)
}
