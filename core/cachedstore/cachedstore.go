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
// # Capabilities
//
// The store offers what the database offers (see [core.Supports]):
// versioning for core.Config.Optimistic (the cache copy carries the
// database version, and a conflict drops it so the reload reads the
// database), the user index for log out everywhere, clearing expired
// records, and Ping (of the database; a cache outage is logged).
//
// # Cache outages and the generation
//
// A failing cache never fails a read: it goes to the database. The first
// failure is logged through log/slog, then the store leaves the cache alone
// for a retry interval; the first cache call that works again logs the
// recovery.
//
// Nothing the database changed while the cache could not be told is served
// stale afterwards, by this process, by a process started later, or by
// another process sharing the cache. Every cache entry is stamped with the
// cache generation, a random number kept in the database as a record under
// [GenerationKey]; entries of another generation are ignored (and
// replaced). Whenever a cache write or delete fails, or is skipped during
// an outage, after the database changed, the store draws a new generation
// and writes it to the database before the write is acknowledged: every
// entry cached before is then dead.
//
// The staleness window: this process and any process started afterwards
// stop serving an old entry at once; another running process reads the
// generation again at least every refresh interval
// ([DefaultGenerationRefresh], [WithGenerationRefresh]) and may serve an old
// entry for at most that long. A process that cannot read the generation
// reads from the database only. When a new generation cannot be written,
// the write returns an error (it did reach the database) and this process
// reads from the database only until one can.
//
// The price of a failure is a cold cache: each session is read from the
// database once more afterwards.
//
// # Concurrent requests
//
// With a versioned database (core.Config.Optimistic) and a cache that can
// compare and swap (memcachestore, memstore), every cache entry carries
// the database version and a write replaces only an older copy, so two
// requests whose cache writes cross cannot leave the older one cached.
// Without versions, as in Django, the cache keeps whichever write reached
// it last.
//
// A refill adds the record only if the cache has none (a create-only save),
// so it never overwrites a newer copy, and a refill is dropped when a write
// of a key in the same stripe began while the database was being read.
//
// # Sharing the cache with Django
//
// [WithUnstampedEntries] stores entries as the record's data alone, the
// way Django's cached_db backend does, so that a Django app and a Go app
// can share one cache and one database (with djangocodec's cache format,
// see the djangocodec package). The generation is then off, and a write or
// delete the cache could not take is returned as an error instead.
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
	DefaultRetryInterval     = time.Second
	DefaultGenerationRefresh = 5 * time.Second
)

// Store is a cache in front of a database. It is safe for concurrent use.
type Store struct {
	cache, db core.Store
	log       *slog.Logger
	now       func() time.Time
	retry     time.Duration
	refresh   time.Duration

	// stripes counts writes per key stripe; a refill is dropped when the
	// count moved while the database was being read.
	stripes [256]atomic.Uint64

	gen generation

	// trouble is false while the cache is healthy: the fast path then
	// takes no lock.
	trouble    atomic.Bool
	mu         sync.Mutex
	down       bool      // in a failure burst
	downSince  time.Time // when the burst began
	failures   int       // failed cache calls in this burst
	retryAt    time.Time // before this, the cache is left alone
	writesFail bool      // a write failed in this burst

	entries entries // stamped, or unstamped (WithUnstampedEntries)
}

var (
	_ core.VersionedStore     = (*Store)(nil)
	_ core.UserIndex          = (*Store)(nil)
	_ core.UserKeysDeleter    = (*Store)(nil)
	_ core.ExpiredClearer     = (*Store)(nil)
	_ core.Pinger             = (*Store)(nil)
	_ core.CapabilityReporter = (*Store)(nil)
)

// options holds the settings the options of [New] set.
type options struct {
	log       *slog.Logger
	now       func() time.Time
	retry     time.Duration
	refresh   time.Duration
	unstamped bool
}

// Option configures a [Store]; pass options to [New].
type Option func(*options)

// WithLogger sets where cache failures and recoveries are reported
// (default slog.Default()). l must not be nil.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithRetryInterval sets how long the store leaves the cache alone after a
// failed cache call before it tries again (default [DefaultRetryInterval]).
// Zero means every request tries the cache; it must not be negative.
func WithRetryInterval(d time.Duration) Option { return func(o *options) { o.retry = d } }

// WithGenerationRefresh sets how often the store reads the cache generation
// from the database (default [DefaultGenerationRefresh]): the longest time
// this process may serve a cache entry that another process made stale.
// It must be positive.
func WithGenerationRefresh(d time.Duration) Option { return func(o *options) { o.refresh = d } }

// WithUnstampedEntries makes cache entries the record's data alone, as
// Django's cached_db backend writes them, so another program can share the
// cache (with djangocodec's cache format for Django); by default entries
// are stamped. This turns the generation off, and with it the guarantee
// above: when the cache fails to take a write or a delete, the operation
// returns an error (the database did change), and the old entry may be
// served once the cache answers again, until it expires or is next written
// (Django behaves the same way). Versioned loads (core.Config.Optimistic)
// then always read the database, since an entry carries no version.
func WithUnstampedEntries() Option { return func(o *options) { o.unstamped = true } }

// WithClock makes the store read the time from now instead of time.Now
// (the default). now must not be nil.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// check validates the settings.
func (o *options) check() error {
	switch {
	case o.log == nil:
		return fmt.Errorf("cachedstore: nil logger: %w", core.ErrInvalidConfig)
	case o.now == nil:
		return fmt.Errorf("cachedstore: nil clock: %w", core.ErrInvalidConfig)
	case o.retry < 0:
		return fmt.Errorf("cachedstore: retry interval %v: want zero or more: %w", o.retry, core.ErrInvalidConfig)
	case o.refresh <= 0:
		return fmt.Errorf("cachedstore: generation refresh %v: want a positive interval: %w", o.refresh, core.ErrInvalidConfig)
	}
	return nil
}

// New returns a store that reads cache before db. It returns an error
// wrapping [core.ErrInvalidConfig] when a store is nil, the two are the
// same value, or an option is out of range. It does not call either store:
// the generation is read on first use.
func New(cache, db core.Store, opts ...Option) (*Store, error) {
	if cache == nil || db == nil {
		return nil, fmt.Errorf("cachedstore: nil cache or database store: %w", core.ErrInvalidConfig)
	}
	if cache == db {
		return nil, fmt.Errorf("cachedstore: the cache and the database are the same store: %w", core.ErrInvalidConfig)
	}
	o := options{log: slog.Default(), now: time.Now, retry: DefaultRetryInterval, refresh: DefaultGenerationRefresh}
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	s := &Store{cache: cache, db: db, log: o.log, now: o.now, retry: o.retry, refresh: o.refresh}
	s.entries = stamped{s}
	if o.unstamped {
		s.entries = unstamped{}
	}
	return s, nil
}

func checkKey(op, key string) error {
	if !core.ValidKey(key) || key == GenerationKey {
		return fmt.Errorf("cachedstore: %s %.50q: %w", op, key, core.ErrInvalidKey)
	}
	return nil
}

// Load implements [core.Store]. It returns the cached record when there is
// a current one, else the database's (refilling the cache). Errors other
// than not-found come from the database; cache errors are logged, not
// returned.
func (s *Store) Load(ctx context.Context, key string) (core.Record, error) {
	rec, _, err := s.load(ctx, key, false)
	return rec, err
}

// LoadVersion implements [core.VersionedStore] when the database does: the
// cached copy serves it when it carries the database's version.
func (s *Store) LoadVersion(ctx context.Context, key string) (core.Record, uint64, error) {
	if !s.Supports(core.CapVersioning) {
		return core.Record{}, 0, s.unsupported(core.CapVersioning)
	}
	return s.load(ctx, key, true)
}

// load reads key from the cache when it holds a current entry (with a
// known version, if versioned), else from the database. The generation
// record is no session: it is not found.
func (s *Store) load(ctx context.Context, key string, versioned bool) (core.Record, uint64, error) {
	if key == GenerationKey {
		return core.Record{}, 0, fmt.Errorf("cachedstore: load: %w", core.ErrNotFound)
	}
	if err := checkKey("load", key); err != nil {
		return core.Record{}, 0, err
	}
	gen, ok := s.entries.generation(ctx)
	if !ok || s.leaveAlone() {
		return s.loadDB(ctx, key, versioned, 0)
	}
	cached, err := s.cache.Load(ctx, key)
	switch {
	case err == nil:
		s.succeeded(false)
		e, ok := s.entries.decode(cached.Data)
		switch {
		case ok && e.gen == gen && (!versioned || e.version != 0):
			cached.Data = e.data
			return cached, e.version, nil
		case ok && e.gen == gen: // current, but of unknown version: leave it
			return s.loadDB(ctx, key, versioned, 0)
		}
		// Another generation (or not ours): replace it.
		if !s.dropEntry(ctx, key) {
			return s.loadDB(ctx, key, versioned, 0)
		}
	case errors.Is(err, core.ErrNotFound):
		s.succeeded(false)
	case errors.Is(err, core.ErrTampered):
		s.succeeded(false)
		s.log.Warn("cachedstore: dropping a corrupt cache entry", "err", err)
		if !s.dropEntry(ctx, key) {
			return s.loadDB(ctx, key, versioned, 0)
		}
	case ctx.Err() != nil:
		return core.Record{}, 0, fmt.Errorf("cachedstore: load: %w", ctx.Err())
	default:
		s.failed("load", err)
		return s.loadDB(ctx, key, versioned, 0)
	}
	return s.loadDB(ctx, key, versioned, gen)
}

// dropEntry deletes a cache entry that must not be served, and reports
// whether it is gone.
func (s *Store) dropEntry(ctx context.Context, key string) bool {
	if err := s.cache.Delete(context.WithoutCancel(ctx), key); err != nil {
		s.failed("delete", err)
		return false // of another generation: harmless where it is
	}
	s.succeeded(true)
	return true
}

// loadDB reads the database and, when gen is not zero, adds the record to
// the cache stamped with gen, unless a write of its stripe began meanwhile.
func (s *Store) loadDB(ctx context.Context, key string, versioned bool, gen uint64) (core.Record, uint64, error) {
	stripe := s.stripe(key).Load()
	var rec core.Record
	var version uint64
	var err error
	if versioned {
		rec, version, err = s.db.(core.VersionedStore).LoadVersion(ctx, key)
	} else {
		rec, err = s.db.Load(ctx, key)
	}
	if err != nil {
		return core.Record{}, 0, fmt.Errorf("cachedstore: load from database: %w", err)
	}
	if gen != 0 && s.stripe(key).Load() == stripe && !s.leaveAlone() {
		entry := core.Record{Key: key, Data: s.entries.encode(gen, version, rec.Data), Expiry: rec.Expiry}
		err := s.cache.Save(ctx, entry, core.Create)
		switch {
		case err == nil, errors.Is(err, core.ErrKeyExists):
			s.succeeded(true)
		case uncacheable(err):
			s.succeeded(true)
			s.log.Debug("cachedstore: record not cached", "err", err)
		default:
			// A refill that timed out may still land later, when the
			// database may have moved on: end this generation.
			s.failed("refill", err)
			if err := s.entries.endGeneration(ctx); err != nil {
				s.log.Error("cachedstore: cannot renew the cache generation; reading from the database only", "err", err)
			}
		}
	}
	return rec, version, nil
}

// Save implements [core.Store]: the database first, then the cache. Any
// error returned comes from the database, or from renewing the generation
// after the cache could not be updated (the database then holds rec).
// When the database fails with anything but [core.ErrKeyExists] the cached
// copy is dropped too, in case the write took effect.
func (s *Store) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	if err := checkKey("save", rec.Key); err != nil {
		return err
	}
	g := s.stripe(rec.Key)
	g.Add(1)
	defer g.Add(1)
	if err := s.db.Save(ctx, rec, mode); err != nil {
		if !errors.Is(err, core.ErrKeyExists) {
			_ = s.invalidate(ctx, rec.Key) // the database's error says more
		}
		return fmt.Errorf("cachedstore: save to database: %w", err)
	}
	var version uint64
	if mode == core.Create && s.Supports(core.CapVersioning) {
		version = 1 // versioned stores count from 1
	}
	if err := s.writeCache(ctx, rec, mode, version); err != nil {
		return fmt.Errorf("cachedstore: save: %w", err)
	}
	return nil
}

// SaveVersion implements [core.VersionedStore] when the database does. The
// cache copy gets the next version the manager expects (version+1); if the
// database numbers differently, the next save conflicts once, drops the
// copy and reloads from the database.
func (s *Store) SaveVersion(ctx context.Context, rec core.Record, version uint64) error {
	if !s.Supports(core.CapVersioning) {
		return s.unsupported(core.CapVersioning)
	}
	if err := checkKey("save", rec.Key); err != nil {
		return err
	}
	g := s.stripe(rec.Key)
	g.Add(1)
	defer g.Add(1)
	if err := s.db.(core.VersionedStore).SaveVersion(ctx, rec, version); err != nil {
		_ = s.invalidate(ctx, rec.Key) // a conflict's reload must read the database
		return fmt.Errorf("cachedstore: save to database: %w", err)
	}
	if err := s.writeCache(ctx, rec, core.Update, version+1); err != nil {
		return fmt.Errorf("cachedstore: versioned update: %w", err)
	}
	return nil
}

// Delete implements [core.Store]: the database first, then the cache. The
// cached copy is dropped even when the database fails.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey("delete", key); err != nil {
		return err
	}
	g := s.stripe(key)
	g.Add(1)
	defer g.Add(1)
	err := s.db.Delete(ctx, key)
	if ierr := s.invalidate(ctx, key); err == nil {
		err = ierr
	}
	if err != nil {
		return fmt.Errorf("cachedstore: delete: %w", err)
	}
	return nil
}

// writeCache brings the cache in line with a record just written to the
// database: store it stamped with the generation, or failing that delete
// the stale copy, or failing that end the generation.
func (s *Store) writeCache(ctx context.Context, rec core.Record, mode core.SaveMode, version uint64) error {
	ctx = context.WithoutCancel(ctx)
	if !rec.Expiry.After(s.now()) {
		return s.invalidate(ctx, rec.Key) // an expired record must not stay cached
	}
	gen, ok := s.entries.generation(ctx)
	if !ok || s.leaveAlone() {
		return s.invalidate(ctx, rec.Key)
	}
	rec.Data = s.entries.encode(gen, version, rec.Data)
	var err error
	if version != 0 && s.entries.ordered() && core.Supports(s.cache, core.CapVersioning) {
		err = s.orderedWrite(ctx, rec, gen, version)
	} else {
		err = s.upsert(ctx, rec, mode)
	}
	switch {
	case err == nil:
		s.succeeded(true)
		return nil
	case uncacheable(err):
		s.log.Debug("cachedstore: record not cached", "err", err)
	default:
		s.failed("save", err)
	}
	return s.invalidate(ctx, rec.Key)
}

// orderedWrite stores the entry rec (of the database's version) unless the
// cache holds a copy of the same generation and a version at least as
// new, with the cache's compare-and-swap: two requests whose cache writes
// arrive in the other order than their database writes cannot leave the
// older copy cached.
func (s *Store) orderedWrite(ctx context.Context, rec core.Record, gen, version uint64) error {
	vc := s.cache.(core.VersionedStore)
	for try := 0; try < 4; try++ {
		cur, cas, err := vc.LoadVersion(ctx, rec.Key)
		switch {
		case errors.Is(err, core.ErrNotFound):
			if err = s.cache.Save(ctx, rec, core.Create); errors.Is(err, core.ErrKeyExists) {
				continue
			}
			return err
		case err != nil:
			return err
		}
		if e, ok := decodeEntry(cur.Data); ok && e.gen == gen && e.version >= version {
			return nil // a newer copy is there already
		}
		err = vc.SaveVersion(ctx, rec, cas)
		if errors.Is(err, core.ErrVersionConflict) || errors.Is(err, core.ErrSessionDeleted) {
			continue
		}
		return err
	}
	return errors.New("cache copy kept changing under concurrent writes")
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
	return fmt.Errorf("cache copy kept changing under concurrent writes: %w", err)
}

// invalidate drops the cached copy of key after the database changed; when
// the cache cannot be told (it fails, or is being left alone) it ends the
// generation instead. It runs even when ctx is done, and returns an error
// only when neither worked.
func (s *Store) invalidate(ctx context.Context, key string) error {
	ctx = context.WithoutCancel(ctx)
	if s.entries.mustTell() || !s.leaveAlone() {
		err := s.cache.Delete(ctx, key)
		if err == nil {
			s.succeeded(true)
			return nil
		}
		s.failed("delete", err)
	}
	if err := s.entries.endGeneration(ctx); err != nil {
		return fmt.Errorf("the cache may hold a stale copy: %w", err)
	}
	return nil
}

// stripe returns the write counter of key's stripe (FNV-1a).
func (s *Store) stripe(key string) *atomic.Uint64 {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return &s.stripes[h%uint32(len(s.stripes))]
}

// uncacheable reports whether a cache write failed because of the record,
// not the cache: too large for it, or data its value format refuses (a
// tampered database row that djangocodec's cache format will not cache).
// The cache is working, and no outage is recorded.
func uncacheable(err error) bool {
	return errors.Is(err, core.ErrTooLarge) || errors.Is(err, core.ErrTampered)
}
