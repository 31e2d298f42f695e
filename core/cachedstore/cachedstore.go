// Package cachedstore puts a cache store in front of a database store, as
// Django's cached_db session backend does. It works with any two
// [core.Store] values, typically memcachestore in front of gormstore.
//
// Reads try the cache first; on a miss they load from the database and
// refill the cache with the record (its own expiry, so the cached copy
// lives exactly as long as the session has left). Writes go to the
// database first, then the cache; deletes go to both, database first. The
// database is the source of truth: create conflicts ([core.ErrKeyExists])
// and updates of deleted sessions ([core.ErrSessionDeleted]) come from it.
//
// # Cache outages
//
// A failing cache never fails a request: reads and writes go on through the
// database. The first failure is logged through log/slog, then the store
// keeps quiet and leaves the cache alone for a retry interval; the first
// cache call that works again logs the recovery. Nothing written while
// the cache was failing is served stale afterwards: when a session changed
// in the database and its cache copy could not be updated, the store
// deletes the copy, and if that fails too it remembers the key as dirty.
// A dirty key is never read from the cache; its copy is deleted as soon as
// the cache answers again (on its next read, on its next write, or a few
// at a time while other requests go through). The dirty set is bounded
// ([WithMaxDirty]); if an outage overflows it, the store stops reading
// from the cache altogether until every copy it ever wrote has expired,
// and logs that at error level.
//
// These guarantees hold within one process. Several processes sharing a
// cache each know only their own dirty keys.
//
// # Concurrent requests
//
// A refill adds the record only if the cache has none (a create-only save),
// so it never overwrites a newer copy, and a refill is dropped when a write
// of a key in the same stripe began while the database was being read.
//
// Package cachedstore imports only the standard library.
package cachedstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// Defaults used by [New].
const (
	DefaultRetryInterval = time.Second
	DefaultMaxDirty      = 100_000
)

// Store is a cache in front of a database. It is safe for concurrent use.
type Store struct {
	cache, db core.Store
	log       *slog.Logger
	now       func() time.Time
	retry     time.Duration
	maxDirty  int

	// gens counts writes per key stripe; a refill is dropped when the
	// count moved while the database was being read.
	gens [256]atomic.Uint64

	// trouble is false while the cache is healthy and no key is dirty: the
	// fast path then takes no lock.
	trouble atomic.Bool

	mu        sync.Mutex
	down      bool      // in a failure burst
	downSince time.Time // when the burst began
	failures  int       // failed cache calls in this burst
	retryAt   time.Time // before this, the cache is left alone
	dirty     map[string]struct{}
	bypass    time.Time // reads skip the cache until then (dirty overflow)

	maxExpiry atomic.Int64 // latest expiry ever sent to the cache, Unix ns
}

// Option configures a [Store].
type Option func(*Store)

// WithLogger sets where cache failures and recoveries are reported
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// WithRetryInterval sets how long the store leaves the cache alone after a
// failed cache call before it tries again (default [DefaultRetryInterval]).
// Zero means every request tries the cache.
func WithRetryInterval(d time.Duration) Option { return func(s *Store) { s.retry = d } }

// WithMaxDirty bounds how many keys the store remembers as possibly stale
// in the cache (default [DefaultMaxDirty]); see the package comment.
func WithMaxDirty(n int) Option { return func(s *Store) { s.maxDirty = n } }

// WithClock makes the store read the time from now instead of time.Now.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns a store that reads cache before db. It returns an error
// wrapping [core.ErrInvalidConfig] when a store is nil, the two are the
// same value, or an option is out of range.
func New(cache, db core.Store, opts ...Option) (*Store, error) {
	if cache == nil || db == nil {
		return nil, fmt.Errorf("cachedstore: nil cache or database store: %w", core.ErrInvalidConfig)
	}
	if cache == db {
		return nil, fmt.Errorf("cachedstore: the cache and the database are the same store: %w", core.ErrInvalidConfig)
	}
	s := &Store{
		cache: cache, db: db, log: slog.Default(), now: time.Now,
		retry: DefaultRetryInterval, maxDirty: DefaultMaxDirty,
		dirty: make(map[string]struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	switch {
	case s.log == nil, s.now == nil:
		return nil, fmt.Errorf("cachedstore: nil logger or clock: %w", core.ErrInvalidConfig)
	case s.retry < 0:
		return nil, fmt.Errorf("cachedstore: negative retry interval %v: %w", s.retry, core.ErrInvalidConfig)
	case s.maxDirty < 1:
		return nil, fmt.Errorf("cachedstore: max dirty keys %d, want at least 1: %w", s.maxDirty, core.ErrInvalidConfig)
	}
	return s, nil
}

func checkKey(op, key string) error {
	if !core.ValidKey(key) {
		return fmt.Errorf("cachedstore: %s %.50q: %w", op, key, core.ErrInvalidKey)
	}
	return nil
}

// Load implements [core.Store]. It returns the cached record when there is
// one, else the database's (refilling the cache). Errors other than
// not-found come from the database; cache errors are logged, not returned.
func (s *Store) Load(ctx context.Context, key string) (core.Record, error) {
	if err := checkKey("load", key); err != nil {
		return core.Record{}, err
	}
	switch s.readPlan(key) {
	case skipCache:
		return s.loadDB(ctx, key, false)
	case cleanFirst:
		if err := s.cache.Delete(ctx, key); err != nil {
			if ctx.Err() == nil {
				s.failed("delete", err)
			}
			return s.loadDB(ctx, key, false)
		}
		s.succeeded()
		s.clean(key)
		return s.loadDB(ctx, key, true) // the copy is gone: a sure miss
	}
	rec, err := s.cache.Load(ctx, key)
	switch {
	case err == nil:
		s.succeeded()
		s.drainOne(ctx)
		return rec, nil
	case errors.Is(err, core.ErrNotFound):
		s.succeeded()
	case errors.Is(err, core.ErrTampered):
		s.succeeded()
		s.log.Warn("cachedstore: dropping a corrupt cache entry", "err", err)
		s.invalidate(ctx, key)
	case ctx.Err() != nil:
		return core.Record{}, fmt.Errorf("cachedstore: load: %w", ctx.Err())
	default:
		s.failed("load", err)
		return s.loadDB(ctx, key, false)
	}
	return s.loadDB(ctx, key, true)
}

// loadDB reads the database and, if refill, adds the record to the cache
// unless a write of its stripe began meanwhile.
func (s *Store) loadDB(ctx context.Context, key string, refill bool) (core.Record, error) {
	gen := s.gen(key).Load()
	rec, err := s.db.Load(ctx, key)
	if err != nil {
		return core.Record{}, fmt.Errorf("cachedstore: load from database: %w", err)
	}
	if refill && s.gen(key).Load() == gen && s.readPlan(key) == useCache {
		s.noteExpiry(rec.Expiry)
		err := s.cache.Save(ctx, rec, core.Create)
		switch {
		case err == nil, errors.Is(err, core.ErrKeyExists):
			s.succeeded()
		case errors.Is(err, core.ErrTooLarge):
			s.succeeded()
			s.log.Debug("cachedstore: record too large for the cache", "err", err)
		case ctx.Err() == nil:
			s.failed("refill", err)
		}
	}
	return rec, nil
}

// Save implements [core.Store]: the database first, then the cache. Any
// error returned comes from the database; when the database fails with
// anything but [core.ErrKeyExists] the cached copy is dropped too, in case
// the write took effect.
func (s *Store) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	if err := checkKey("save", rec.Key); err != nil {
		return err
	}
	g := s.gen(rec.Key)
	g.Add(1)
	defer g.Add(1)
	if err := s.db.Save(ctx, rec, mode); err != nil {
		if !errors.Is(err, core.ErrKeyExists) {
			s.invalidate(ctx, rec.Key)
		}
		return fmt.Errorf("cachedstore: save to database: %w", err)
	}
	s.writeCache(context.WithoutCancel(ctx), rec, mode)
	return nil
}

// Delete implements [core.Store]: the database first, then the cache. The
// cached copy is dropped even when the database fails.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey("delete", key); err != nil {
		return err
	}
	g := s.gen(key)
	g.Add(1)
	defer g.Add(1)
	err := s.db.Delete(ctx, key)
	s.invalidate(ctx, key)
	if err != nil {
		return fmt.Errorf("cachedstore: delete from database: %w", err)
	}
	return nil
}

// ClearExpired implements [core.ExpiredClearer] by clearing the database;
// the cache's copies expire by themselves. It returns an error wrapping
// errors.ErrUnsupported when the database store cannot clear.
func (s *Store) ClearExpired(ctx context.Context) (int64, error) {
	c, ok := s.db.(core.ExpiredClearer)
	if !ok {
		return 0, fmt.Errorf("cachedstore: database store %T cannot clear expired records: %w", s.db, errors.ErrUnsupported)
	}
	n, err := c.ClearExpired(ctx)
	if err != nil {
		return n, fmt.Errorf("cachedstore: clear expired: %w", err)
	}
	return n, nil
}

// writeCache brings the cache in line with a record just written to the
// database: store it, or failing that delete the stale copy, or failing
// that mark the key dirty.
func (s *Store) writeCache(ctx context.Context, rec core.Record, mode core.SaveMode) {
	if !rec.Expiry.After(s.now()) {
		s.invalidate(ctx, rec.Key) // an expired record must not stay cached
		return
	}
	if s.leaveAlone() {
		s.markDirty(rec.Key)
		return
	}
	s.noteExpiry(rec.Expiry)
	err := s.upsert(ctx, rec, mode)
	switch {
	case err == nil:
		s.succeeded()
		s.clean(rec.Key)
		return
	case errors.Is(err, core.ErrTooLarge):
		s.log.Debug("cachedstore: record too large for the cache", "err", err)
	default:
		s.failed("save", err)
	}
	s.deleteOrMark(ctx, rec.Key)
}

// upsert stores rec in the cache whether or not a copy is there, through
// the create-or-update contract of core.Store.
func (s *Store) upsert(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	var err error
	for try := 0; try < 4; try++ {
		err = s.cache.Save(ctx, rec, mode)
		switch {
		case err == nil:
			return nil
		case mode == core.Create && errors.Is(err, core.ErrKeyExists):
			mode = core.Update
		case mode == core.Update && errors.Is(err, core.ErrSessionDeleted):
			mode = core.Create
		default:
			return err
		}
	}
	return fmt.Errorf("cachedstore: cache copy kept changing under concurrent writes: %w", err)
}

// invalidate drops the cached copy of key (or marks it dirty). It runs
// even when ctx is done: the database may have changed.
func (s *Store) invalidate(ctx context.Context, key string) {
	ctx = context.WithoutCancel(ctx)
	if s.leaveAlone() {
		s.markDirty(key)
		return
	}
	s.deleteOrMark(ctx, key)
}

func (s *Store) deleteOrMark(ctx context.Context, key string) {
	if err := s.cache.Delete(ctx, key); err != nil {
		s.failed("delete", err)
		s.markDirty(key)
		return
	}
	s.succeeded()
	s.clean(key)
}

// gen returns the write counter of key's stripe (FNV-1a).
func (s *Store) gen(key string) *atomic.Uint64 {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return &s.gens[h%uint32(len(s.gens))]
}
