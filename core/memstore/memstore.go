// Package memstore is an in-memory cloakroom store for tests and
// single-process applications.
//
// A [Store] is bounded twice: in records ([DefaultMaxSessions] unless [New]
// is given another count) and in bytes ([DefaultMaxBytes] unless
// [WithMaxBytes] says otherwise; see [RecordOverhead] for how a record is
// counted). When a write would cross either bound, the store drops the
// records closest to expiry until the new one fits: expired records first,
// since their expiry is the earliest, then the live ones that would expire
// soonest. The records are kept in a min-heap ordered by expiry, so each
// dropped record costs O(log n) and no write ever scans the store.
package memstore

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// DefaultMaxSessions is the bound on the number of records that [New] uses
// when given zero (or a negative count).
const DefaultMaxSessions = 1_000_000

// DefaultMaxBytes is the bound on the bytes a [Store] holds, as counted by
// [Store.Bytes], when [WithMaxBytes] is not given (or is given zero or less):
// 256 MiB.
const DefaultMaxBytes int64 = 256 << 20

// RecordOverhead is the estimated memory, in bytes, that a record costs the
// store beyond its key and data, and that [Store.Bytes] adds for every
// record: the record's bookkeeping (key, data slice, expiry, version and heap
// position: 80 bytes), its map entry and its heap slot. Measured on amd64
// with 200,000 records, the Go heap grew by about 124 bytes a record beyond
// key and data, up to 148 for 1 KB of data once the allocator's size classes
// round it up. It is an estimate, not an exact account: the map and the heap
// grow in steps, and a record linked to a user (see [Store.LinkUser]) costs
// a few dozen bytes more in the user index, which the bound does not count.
const RecordOverhead = 128

// Store keeps records in a map guarded by a mutex, with a min-heap by expiry
// for eviction. It implements [core.Store], [core.VersionedStore],
// [core.ExpiredClearer] and [core.UserIndex], and is safe for concurrent use.
// The zero value is not usable; call [New].
type Store struct {
	mu       sync.RWMutex
	items    map[string]*item
	byExpiry expiryHeap                     // every item of items, soonest expiry on top
	users    map[string]map[string]struct{} // user -> keys (core.UserIndex)
	owner    map[string]string              // key -> user
	bytes    int64                          // sum of recordSize over items
	max      int
	maxBytes int64
	now      func() time.Time
}

// item is one record. Its fields change only under the write lock; readers
// copy them out under the read lock. data is never modified in place: a
// write replaces the slice, so a reader may copy from a slice it took under
// the read lock after releasing it.
type item struct {
	key     string
	data    []byte
	expiry  time.Time
	version uint64
	index   int // position in Store.byExpiry
}

// recordSize is what a record of key and data counts towards the byte bound.
func recordSize(key string, data []byte) int64 {
	return int64(len(key)) + int64(len(data)) + RecordOverhead
}

// expiryHeap is a container/heap min-heap of items by expiry. Each item
// knows its index, so a record can be removed or re-placed in O(log n).
type expiryHeap []*item

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expiry.Before(h[j].expiry) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *expiryHeap) Push(x any) {
	it := x.(*item)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *expiryHeap) Pop() any {
	old := *h
	n := len(old) - 1
	it := old[n]
	old[n] = nil // let the record be collected
	it.index = -1
	*h = old[:n]
	return it
}

// options holds the settings the options of [New] set.
type options struct {
	now      func() time.Time
	maxBytes int64
}

// Option configures a [Store]; pass options to [New].
type Option func(*options)

// WithClock makes the store read the time from now instead of time.Now
// (the default), for expiry checks (Load, the liveness checks of Save and
// SaveVersion, ClearExpired, Stats, DeleteUserSessions' count). A nil now
// means time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithMaxBytes bounds the bytes the store holds, as counted by
// [Store.Bytes], to n (default [DefaultMaxBytes]): a write that would take
// the total past n first drops the records closest to expiry, and a single
// record larger than n is refused with [core.ErrTooLarge]. Zero or less
// means [DefaultMaxBytes].
func WithMaxBytes(n int64) Option { return func(o *options) { o.maxBytes = n } }

// New returns an empty store holding at most maxSessions records (zero or
// less means [DefaultMaxSessions]) and at most [DefaultMaxBytes] bytes unless
// an option given as [WithMaxBytes] says otherwise. New cannot fail: a
// setting out of range (a count or byte bound of zero or less, a nil
// clock) is replaced by its default.
func New(maxSessions int, opts ...Option) *Store {
	o := options{now: time.Now, maxBytes: DefaultMaxBytes}
	for _, opt := range opts {
		opt(&o)
	}
	if maxSessions <= 0 {
		maxSessions = DefaultMaxSessions
	}
	if o.maxBytes <= 0 {
		o.maxBytes = DefaultMaxBytes
	}
	if o.now == nil {
		o.now = time.Now
	}
	return &Store{
		items:    make(map[string]*item),
		users:    make(map[string]map[string]struct{}),
		owner:    make(map[string]string),
		max:      maxSessions,
		maxBytes: o.maxBytes,
		now:      o.now,
	}
}

func checkKey(op, key string) error {
	if !core.ValidKey(key) {
		return fmt.Errorf("memstore: %s %.50q: %w", op, key, core.ErrInvalidKey)
	}
	return nil
}

// checkSize refuses a record that could never fit under the byte bound,
// before anything is copied or locked.
func (s *Store) checkSize(op string, rec core.Record) error {
	if size := recordSize(rec.Key, rec.Data); size > s.maxBytes {
		return fmt.Errorf("memstore: %s: record of %d bytes (with key and overhead) exceeds the bound of %d bytes: %w",
			op, size, s.maxBytes, core.ErrTooLarge)
	}
	return nil
}

// Load implements [core.Store]. The returned data is a copy.
func (s *Store) Load(ctx context.Context, key string) (core.Record, error) {
	rec, _, err := s.LoadVersion(ctx, key)
	return rec, err
}

// LoadVersion implements [core.VersionedStore]: versions start at 1 when a
// record is created and grow by one with every write. The returned data is a
// copy.
func (s *Store) LoadVersion(_ context.Context, key string) (core.Record, uint64, error) {
	if err := checkKey("load", key); err != nil {
		return core.Record{}, 0, err
	}
	s.mu.RLock()
	it, ok := s.items[key]
	var (
		data    []byte
		expiry  time.Time
		version uint64
	)
	if ok {
		data, expiry, version = it.data, it.expiry, it.version
	}
	s.mu.RUnlock()
	if !ok || !expiry.After(s.now()) {
		return core.Record{}, 0, fmt.Errorf("memstore: load: %w", core.ErrNotFound)
	}
	return core.Record{Key: key, Data: append([]byte(nil), data...), Expiry: expiry}, version, nil
}

// SaveVersion implements [core.VersionedStore]. It keeps a copy of rec.Data.
// Like Save, it returns an error wrapping [core.ErrTooLarge], and changes
// nothing, when the record alone exceeds the byte bound, and it may drop the
// records closest to expiry to stay within the bounds.
func (s *Store) SaveVersion(_ context.Context, rec core.Record, version uint64) error {
	if err := checkKey("save", rec.Key); err != nil {
		return err
	}
	if err := s.checkSize("versioned update", rec); err != nil {
		return err
	}
	data := append([]byte(nil), rec.Data...)
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
	s.putLocked(rec.Key, old, data, rec.Expiry, version+1)
	return nil
}

// Save implements [core.Store]. It keeps a copy of rec.Data. A record that
// alone exceeds the byte bound (see [WithMaxBytes]) is refused with an error
// wrapping [core.ErrTooLarge], and the record stored under its key, if any,
// stays as it was. Otherwise, if the store would exceed either bound, it
// first drops the records closest to expiry, never the one being saved.
//
// Create over an expired record replaces it as a new session (version 1,
// linked to no user).
func (s *Store) Save(_ context.Context, rec core.Record, mode core.SaveMode) error {
	if err := checkKey("save", rec.Key); err != nil {
		return err
	}
	if err := s.checkSize(mode.String(), rec); err != nil {
		return err
	}
	data := append([]byte(nil), rec.Data...)
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
	version := uint64(1)
	if mode == core.Update {
		version = old.version + 1
	} else if exists {
		s.dropLink(rec.Key) // the expired session's user does not own the new one
	}
	s.putLocked(rec.Key, old, data, rec.Expiry, version)
	return nil
}

// putLocked stores data under key, replacing it (the record the map holds
// under key, or nil), after dropping as many of the other records closest to
// expiry as the bounds require. The caller has checked that the record alone
// fits the byte bound.
func (s *Store) putLocked(key string, it *item, data []byte, expiry time.Time, version uint64) {
	if it != nil {
		// Out of the heap while room is made, so it is never the victim.
		heap.Remove(&s.byExpiry, it.index)
		s.bytes -= recordSize(key, it.data)
	} else {
		it = &item{key: key}
		s.items[key] = it
	}
	size := recordSize(key, data)
	// The heap holds every other record; when it is empty, bytes is zero.
	for len(s.byExpiry) > 0 && (len(s.byExpiry) >= s.max || s.bytes+size > s.maxBytes) {
		s.dropItemLocked(s.byExpiry[0])
	}
	it.data, it.expiry, it.version = data, expiry, version
	heap.Push(&s.byExpiry, it)
	s.bytes += size
}

// dropLocked deletes key, its heap entry and its user link, in O(log n).
func (s *Store) dropLocked(key string) {
	if it, ok := s.items[key]; ok {
		s.dropItemLocked(it)
	} else {
		s.dropLink(key)
	}
}

// dropItemLocked deletes a held record, its heap entry and its user link,
// in O(log n).
func (s *Store) dropItemLocked(it *item) {
	heap.Remove(&s.byExpiry, it.index)
	s.bytes -= recordSize(it.key, it.data)
	delete(s.items, it.key)
	s.dropLink(it.key)
}

// dropLink removes key's user link, and the user's entry once it has no key.
func (s *Store) dropLink(key string) {
	if u, ok := s.owner[key]; ok {
		delete(s.owner, key)
		delete(s.users[u], key)
		if len(s.users[u]) == 0 {
			delete(s.users, u)
		}
	}
}

// Delete implements [core.Store]: it removes the record and its user link.
func (s *Store) Delete(_ context.Context, key string) error {
	if err := checkKey("delete", key); err != nil {
		return err
	}
	s.mu.Lock()
	s.dropLocked(key)
	s.mu.Unlock()
	return nil
}

// clearChunk is how many expired records ClearExpired drops per hold of
// the write lock: about a millisecond's work, so that requests wait at most
// that long behind a clear of any size (one hold for 500,000 records took
// over half a second).
const clearChunk = 1024

// ClearExpired implements [core.ExpiredClearer]. It takes the records
// expired at the time of the call off the top of the expiry heap, in
// O(log n) each, without looking at the live ones, releasing the lock
// after every [clearChunk] records so that requests are served in between.
// It stops early, between two chunks, when ctx is done, and returns how
// many records it dropped with the context's error.
func (s *Store) ClearExpired(ctx context.Context) (int64, error) {
	now := s.now()
	var n int64
	for {
		s.mu.Lock()
		i := 0
		for ; i < clearChunk && len(s.byExpiry) > 0 && !s.byExpiry[0].expiry.After(now); i++ {
			s.dropItemLocked(s.byExpiry[0])
		}
		s.mu.Unlock()
		n += int64(i)
		if i < clearChunk {
			return n, nil
		}
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("memstore: clearing expired records: %w", err)
		}
	}
}

// Len reports how many records the store holds, expired ones included.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.items)
}

// Bytes reports the total that the byte bound (see [WithMaxBytes]) limits:
// for every record held, expired ones included, the length of its key and
// data plus [RecordOverhead]. It never exceeds the bound. It differs from
// [core.Stats].Bytes, which counts only the live records' data.
func (s *Store) Bytes() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.bytes
}

// LinkUser implements [core.UserIndex]. It links only a key the store holds
// (a key deleted meanwhile is ignored), and ignores expiry: the link goes
// when the record does.
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

// DeleteUserSessions implements [core.UserIndex]. It deletes every record
// linked to user, in O(log n) each, and counts the live ones among them.
func (s *Store) DeleteUserSessions(ctx context.Context, user string) (int64, error) {
	keys, err := s.DeleteUserSessionKeys(ctx, user)
	return int64(len(keys)), err
}

// DeleteUserSessionKeys implements [core.UserKeysDeleter]: it is
// DeleteUserSessions returning the keys of the live sessions it deleted.
func (s *Store) DeleteUserSessionKeys(_ context.Context, user string) ([]string, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for key := range s.users[user] { // dropping deletes from this set: allowed while ranging
		if it, ok := s.items[key]; ok {
			if it.expiry.After(now) {
				keys = append(keys, key)
			}
			s.dropItemLocked(it)
		} else {
			s.dropLink(key)
		}
	}
	delete(s.users, user)
	return keys, nil
}

// UserSessionKeys implements [core.UserSessionLister]: the keys of user's
// live sessions, soonest expiry first.
func (s *Store) UserSessionKeys(_ context.Context, user string) ([]string, error) {
	type entry struct {
		key    string
		expiry time.Time
	}
	now := s.now()
	s.mu.RLock()
	var live []entry
	for key := range s.users[user] {
		if it, ok := s.items[key]; ok && it.expiry.After(now) {
			live = append(live, entry{key, it.expiry})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(live, func(a, b entry) int {
		if c := a.expiry.Compare(b.expiry); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	keys := make([]string, len(live))
	for i, e := range live {
		keys[i] = e.key
	}
	return keys, nil
}

// Stats reports the records the store holds (see [core.Stats]). It visits
// every record under the read lock: it is meant for operators, not for the
// request path.
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
