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

// Store wraps a core.Store, hashing every key before it reaches it. It
// offers every optional capability of the wrapped store (see
// [core.Supports]), and no other.
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

// Unwrap returns the wrapped store.
func (s *Store) Unwrap() core.Store { return s.inner }

// Supports implements [core.CapabilityReporter]: the wrapper offers what the
// wrapped store offers.
func (s *Store) Supports(c core.Capability) bool { return core.Supports(s.inner, c) }

func (s *Store) unsupported(c core.Capability) error {
	return fmt.Errorf("hashkeys: %T does not offer %v: %w", s.inner, c, core.ErrUnsupported)
}

// ClearExpired implements [core.ExpiredClearer] through the wrapped store.
func (s *Store) ClearExpired(ctx context.Context) (int64, error) {
	if !s.Supports(core.CapClearExpired) {
		return 0, s.unsupported(core.CapClearExpired)
	}
	return s.inner.(core.ExpiredClearer).ClearExpired(ctx)
}

// Ping implements [core.Pinger] through the wrapped store.
func (s *Store) Ping(ctx context.Context) error {
	if !s.Supports(core.CapPing) {
		return s.unsupported(core.CapPing)
	}
	return s.inner.(core.Pinger).Ping(ctx)
}

// LoadVersion implements [core.VersionedStore] through the wrapped store.
func (s *Store) LoadVersion(ctx context.Context, key string) (core.Record, uint64, error) {
	if !s.Supports(core.CapVersioning) {
		return core.Record{}, 0, s.unsupported(core.CapVersioning)
	}
	h, err := hashed("load", key)
	if err != nil {
		return core.Record{}, 0, err
	}
	rec, v, err := s.inner.(core.VersionedStore).LoadVersion(ctx, h)
	rec.Key = key
	return rec, v, err
}

// SaveVersion implements [core.VersionedStore] through the wrapped store.
func (s *Store) SaveVersion(ctx context.Context, rec core.Record, version uint64) error {
	if !s.Supports(core.CapVersioning) {
		return s.unsupported(core.CapVersioning)
	}
	h, err := hashed("save", rec.Key)
	if err != nil {
		return err
	}
	rec.Key = h
	return s.inner.(core.VersionedStore).SaveVersion(ctx, rec, version)
}

// LinkUser implements [core.UserIndex] by linking the hashed key.
func (s *Store) LinkUser(ctx context.Context, user, key string, expiry time.Time) error {
	if !s.Supports(core.CapUserIndex) {
		return s.unsupported(core.CapUserIndex)
	}
	h, err := hashed("link user", key)
	if err != nil {
		return err
	}
	return s.inner.(core.UserIndex).LinkUser(ctx, user, h, expiry)
}

// UnlinkUser implements [core.UserIndex] by unlinking the hashed key.
func (s *Store) UnlinkUser(ctx context.Context, key string) error {
	if !s.Supports(core.CapUserIndex) {
		return s.unsupported(core.CapUserIndex)
	}
	h, err := hashed("unlink user", key)
	if err != nil {
		return err
	}
	return s.inner.(core.UserIndex).UnlinkUser(ctx, h)
}

// DeleteUserSessions implements [core.UserIndex] through the wrapped store.
func (s *Store) DeleteUserSessions(ctx context.Context, user string) (int64, error) {
	if !s.Supports(core.CapUserIndex) {
		return 0, s.unsupported(core.CapUserIndex)
	}
	return s.inner.(core.UserIndex).DeleteUserSessions(ctx, user)
}
