// Package memstore is an in-memory cloakroom store for tests and
// single-process applications. It is bounded: when full it first drops
// expired records, then the records closest to expiry.
package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// DefaultMaxSessions is the bound [New] uses when given zero.
const DefaultMaxSessions = 1_000_000

// Store keeps records in a map guarded by a mutex. The zero value is not
// usable; call [New].
type Store struct {
	mu    sync.RWMutex
	items map[string]item
	users map[string]map[string]struct{} // user -> keys (core.UserIndex)
	owner map[string]string              // key -> user
	max   int
	now   func() time.Time
}

type item struct {
	data    []byte
	expiry  time.Time
	version uint64
}

// Option configures a [Store].
type Option func(*Store)

// WithClock makes the store read the time from now instead of time.Now.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns an empty store holding at most maxSessions records (zero means
// [DefaultMaxSessions]).
func New(maxSessions int, opts ...Option) *Store {
	if maxSessions <= 0 {
		maxSessions = DefaultMaxSessions
	}
	s := &Store{items: make(map[string]item), users: make(map[string]map[string]struct{}), owner: make(map[string]string), max: maxSessions, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

func checkKey(op, key string) error {
	if !core.ValidKey(key) {
		return fmt.Errorf("memstore: %s %.50q: %w", op, key, core.ErrInvalidKey)
	}
	return nil
}

// Load implements [core.Store]. The returned data is a copy.
func (s *Store) Load(ctx context.Context, key string) (core.Record, error) {
	rec, _, err := s.LoadVersion(ctx, key)
	return rec, err
}

// LoadVersion implements [core.VersionedStore].
func (s *Store) LoadVersion(_ context.Context, key string) (core.Record, uint64, error) {
	if err := checkKey("load", key); err != nil {
		return core.Record{}, 0, err
	}
	s.mu.RLock()
	it, ok := s.items[key]
	s.mu.RUnlock()
	if !ok || !it.expiry.After(s.now()) {
		return core.Record{}, 0, fmt.Errorf("memstore: load: %w", core.ErrNotFound)
	}
	return core.Record{Key: key, Data: append([]byte(nil), it.data...), Expiry: it.expiry}, it.version, nil
}

// SaveVersion implements [core.VersionedStore].
func (s *Store) SaveVersion(_ context.Context, rec core.Record, version uint64) error {
	if err := checkKey("save", rec.Key); err != nil {
		return err
	}
	it := item{data: append([]byte(nil), rec.Data...), expiry: rec.Expiry, version: version + 1}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.items[rec.Key]
	switch {
	case !ok || !old.expiry.After(now):
		return fmt.Errorf("memstore: versioned update: %w", core.ErrSessionDeleted)
	case old.version != version:
		return fmt.Errorf("memstore: versioned update (have %d, stored %d): %w", version, old.version, core.ErrVersionConflict)
	}
	s.items[rec.Key] = it
	return nil
}

// Save implements [core.Store]. It keeps a copy of rec.Data.
func (s *Store) Save(_ context.Context, rec core.Record, mode core.SaveMode) error {
	if err := checkKey("save", rec.Key); err != nil {
		return err
	}
	it := item{data: append([]byte(nil), rec.Data...), expiry: rec.Expiry}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	old, exists := s.items[rec.Key]
	live := exists && old.expiry.After(now)
	switch {
	case mode == core.Create && live:
		return fmt.Errorf("memstore: create: %w", core.ErrKeyExists)
	case mode == core.Update && !live:
		return fmt.Errorf("memstore: update: %w", core.ErrSessionDeleted)
	}
	it.version = 1
	if mode == core.Update {
		it.version = old.version + 1
	}
	if !exists && len(s.items) >= s.max {
		s.evictLocked(now)
	}
	s.items[rec.Key] = it
	return nil
}

// evictLocked makes room for one record: all expired records go; if none
// had expired, the one closest to expiry among a sample goes.
func (s *Store) evictLocked(now time.Time) {
	if s.clearLocked(now) > 0 {
		return
	}
	const sample = 16
	var victim string
	var soonest time.Time
	n := 0
	for k, it := range s.items { // map order is random: a cheap sample
		if victim == "" || it.expiry.Before(soonest) {
			victim, soonest = k, it.expiry
		}
		if n++; n == sample {
			break
		}
	}
	s.dropLocked(victim)
}

// dropLocked deletes key and its user link.
func (s *Store) dropLocked(key string) {
	delete(s.items, key)
	if u, ok := s.owner[key]; ok {
		delete(s.owner, key)
		delete(s.users[u], key)
		if len(s.users[u]) == 0 {
			delete(s.users, u)
		}
	}
}

// Delete implements [core.Store].
func (s *Store) Delete(_ context.Context, key string) error {
	if err := checkKey("delete", key); err != nil {
		return err
	}
	s.mu.Lock()
	s.dropLocked(key)
	s.mu.Unlock()
	return nil
}

// ClearExpired implements [core.ExpiredClearer].
func (s *Store) ClearExpired(_ context.Context) (int64, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clearLocked(now), nil
}

func (s *Store) clearLocked(now time.Time) int64 {
	var n int64
	for k, it := range s.items {
		if !it.expiry.After(now) {
			s.dropLocked(k)
			n++
		}
	}
	return n
}

// Len reports how many records the store holds, expired ones included.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.items)
}

// LinkUser implements [core.UserIndex].
func (s *Store) LinkUser(_ context.Context, user, key string, _ time.Time) error {
	if err := checkKey("link user", key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[key]; !ok {
		return nil // deleted meanwhile: nothing to link
	}
	s.dropLink(key)
	if s.users[user] == nil {
		s.users[user] = make(map[string]struct{})
	}
	s.users[user][key] = struct{}{}
	s.owner[key] = user
	return nil
}

func (s *Store) dropLink(key string) {
	if u, ok := s.owner[key]; ok {
		delete(s.owner, key)
		delete(s.users[u], key)
	}
}

// UnlinkUser implements [core.UserIndex].
func (s *Store) UnlinkUser(_ context.Context, key string) error {
	if err := checkKey("unlink user", key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLink(key)
	return nil
}

// DeleteUserSessions implements [core.UserIndex].
func (s *Store) DeleteUserSessions(_ context.Context, user string) (int64, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for key := range s.users[user] {
		if it, ok := s.items[key]; ok && it.expiry.After(now) {
			n++
		}
		delete(s.items, key)
		delete(s.owner, key)
	}
	delete(s.users, user)
	return n, nil
}

// Stats reports the records the store holds (see core.Stats).
func (s *Store) Stats(context.Context) (core.Stats, error) {
	now := s.now()
	var st core.Stats
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, it := range s.items {
		st.Add(int64(len(it.data)), it.expiry.After(now))
	}
	return st, nil
}
