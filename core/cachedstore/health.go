package cachedstore

import (
	"context"
	"math"
	"time"
)

// plan says how a read may use the cache.
type plan uint8

const (
	useCache   plan = iota // read it, refill it on a miss
	cleanFirst             // the key is dirty: delete its copy, then as useCache
	skipCache              // read the database only
)

// readPlan decides how a read of key may use the cache.
func (s *Store) readPlan(key string) plan {
	if !s.trouble.Load() {
		return useCache
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.updateTroubleLocked(now)
	switch _, dirty := s.dirty[key]; {
	case s.bypass.After(now), s.down && now.Before(s.retryAt):
		return skipCache
	case dirty:
		return cleanFirst
	}
	return useCache
}

// leaveAlone reports whether the cache failed recently enough that it
// should not be called now.
func (s *Store) leaveAlone() bool {
	if !s.trouble.Load() {
		return false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down && now.Before(s.retryAt)
}

// updateTroubleLocked recomputes the fast-path flag.
func (s *Store) updateTroubleLocked(now time.Time) {
	s.trouble.Store(s.down || len(s.dirty) > 0 || s.bypass.After(now))
}

// failed records a failed cache call; the first of a burst is logged.
func (s *Store) failed(op string, err error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.down {
		s.down, s.downSince, s.failures = true, now, 0
		s.log.Warn("cachedstore: cache failing; using the database only until it answers again",
			"op", op, "err", err, "retry_interval", s.retry)
	}
	s.failures++
	s.retryAt = now.Add(s.retry)
	s.trouble.Store(true)
}

// succeeded records a cache call that worked; the end of a burst is logged.
func (s *Store) succeeded() {
	if !s.trouble.Load() {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		s.down = false
		s.log.Info("cachedstore: cache answers again",
			"down_for", now.Sub(s.downSince), "failed_calls", s.failures, "dirty_keys", len(s.dirty))
	}
	s.updateTroubleLocked(now)
}

// markDirty remembers that the cache may hold a stale copy of key. When the
// set is full, reads stop using the cache until every copy ever written
// has expired, and the set is emptied.
func (s *Store) markDirty(key string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.updateTroubleLocked(now)
	if _, ok := s.dirty[key]; ok {
		return
	}
	if len(s.dirty) < s.maxDirty {
		s.dirty[key] = struct{}{}
		return
	}
	until := time.Unix(0, s.maxExpiry.Load())
	if until.After(s.bypass) {
		s.bypass = until
	}
	s.log.Error("cachedstore: too many sessions could not be invalidated in the cache; reading from the database only",
		"dirty_keys", len(s.dirty)+1, "until", s.bypass)
	clear(s.dirty)
}

// clean forgets that key's cached copy may be stale.
func (s *Store) clean(key string) {
	if !s.trouble.Load() {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.dirty, key)
	s.updateTroubleLocked(now)
}

// drainOne deletes the cached copy of one dirty key, so that dirty keys
// nobody reads still leave the set once the cache is back.
func (s *Store) drainOne(ctx context.Context) {
	if !s.trouble.Load() {
		return
	}
	s.mu.Lock()
	key := ""
	if !s.down {
		for k := range s.dirty {
			key = k
			break
		}
	}
	s.mu.Unlock()
	if key == "" {
		return
	}
	if err := s.cache.Delete(context.WithoutCancel(ctx), key); err != nil {
		s.failed("delete", err)
		return
	}
	s.clean(key)
}

// noteExpiry keeps the latest expiry sent to the cache: no copy this store
// wrote outlives it.
func (s *Store) noteExpiry(t time.Time) {
	n := int64(math.MaxInt64)
	if t.Before(time.Unix(0, math.MaxInt64)) {
		n = t.UnixNano()
	}
	for {
		old := s.maxExpiry.Load()
		if n <= old || s.maxExpiry.CompareAndSwap(old, n) {
			return
		}
	}
}
