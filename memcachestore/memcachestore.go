// Package memcachestore is a cloakroom session store kept in memcached,
// through the github.com/bradfitz/gomemcache client, over one server or
// many. [NewServers] spreads keys over the servers by consistent hashing
// ([Ketama], placing keys as libmemcached and pylibmc do), so that a server
// added to the pool or lost takes only its share of the sessions with it.
//
// Each record is stored under prefix+key with memcached's expiration set
// from the record's expiry; see [MaxRelativeTTL] for memcached's 30-day rule,
// which the store follows so that long sessions do not vanish. Because
// memcached does not return an item's expiration, the exact expiry travels
// inside the value in a small checksummed header; a value that fails the
// check loads as an error wrapping [core.ErrTampered].
//
// Save with [core.Create] uses memcached's add (a live item under the key
// gives [core.ErrKeyExists]); Save with [core.Update] uses replace, so an
// update of a record that was deleted, evicted or has expired gives
// [core.ErrSessionDeleted] instead of bringing it back. Replace was chosen
// over plain set (which cannot tell) and over gets+cas (two round trips
// for the same answer). One limit: memcached counts whole seconds, so an
// update in the last second before the expiry may still succeed.
//
// memcached is a cache: a restart or an eviction loses sessions. Put it in
// front of a database with core/cachedstore for durable sessions.
//
// # Time limits
//
// gomemcache takes no context. Every method returns ctx.Err() without
// contacting the server when the context is already done; once a call has
// started, the client's Timeout bounds it instead of the context:
// [DefaultTimeout] (gomemcache's 500ms) unless [WithTimeout] (for
// [NewServers]) or the client's own Timeout field (for [New]) says
// otherwise. gomemcache applies the timeout twice: once to the connection
// (when no idle one is pooled) and once to the whole request and answer on
// it, so a call to a server that is down, unreachable or frozen fails within
// about twice the timeout, and within one timeout when the server's host
// refuses or accepts the connection at once (a stopped or paused memcached).
//
// # Health
//
// [NewServers] does not contact the servers: a memcached that is down when
// the application starts is not an error, as a cache may come up later, and
// every call fails until it does. [Store.Ping] makes the condition visible:
// applications call [core.Manager.Ping] at start (to log a warning) and in
// their health check (to answer 503), with a short context deadline.
package memcachestore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloakroom/cloakroom/core"
)

// DefaultPrefix is the key prefix used unless [WithPrefix] says otherwise.
const DefaultPrefix = "cloakroom:session:"

// DefaultTimeout bounds each memcached call (see the package comment) unless
// [WithTimeout] says otherwise: gomemcache's own default.
const DefaultTimeout = memcache.DefaultTimeout

// MaxPrefixLength keeps prefix plus the longest valid session key within
// memcached's 250-byte key limit.
const MaxPrefixLength = 250 - core.MaxKeyLength

// Store keeps session records in memcached. It is safe for concurrent use.
// Create it with [New] or [NewServers].
type Store struct {
	client  *memcache.Client
	servers memcache.ServerSelector // the client's servers; nil for a client passed to New
	owned   bool                    // the store built the client and closes it
	prefix  string
	now     func() time.Time
	timeout time.Duration // the client's Timeout, for NewServers
	format  ValueFormat   // nil: the store's own header
}

// options holds the settings the options of [New] and [NewServers] set.
type options struct {
	prefix     string
	now        func() time.Time
	timeout    time.Duration
	setTimeout bool        // WithTimeout was given
	format     ValueFormat // nil: the store's own header
	// distribution is the placement WithKetama, WithModulo or
	// WithDistribution chose, by its name in Distributions; "" when none
	// was given (NewServers: "ketama_weighted").
	distribution string
}

// Option configures a [Store]; pass options to [New] or [NewServers].
type Option func(*options)

// WithPrefix sets the string put before every session key to form the
// memcached key, so that several applications can share servers (default
// [DefaultPrefix]). It must be at most [MaxPrefixLength] bytes without
// spaces or control characters.
func WithPrefix(prefix string) Option { return func(o *options) { o.prefix = prefix } }

// WithClock makes the store read the time from now instead of time.Now
// (the default). memcached keeps its own clock, so this only changes the
// expiry checks and TTLs computed on this side. now must not be nil.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithTimeout sets the client's Timeout, which bounds every call of the
// store and [Store.Ping] (see the package comment); the default is
// [DefaultTimeout]. It must be positive. It is for [NewServers] only: with
// [New], set the Timeout field of the client instead ([New] refuses this
// option rather than change a client it does not own).
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout, o.setTimeout = d, true }
}

// WithKetama makes [NewServers] place keys with the given variant of
// consistent hashing (see [KetamaVariant]) instead of the default,
// [KetamaWeighted]. Pick the variant of the other clients that share the
// servers: [KetamaOneAtATime] for pylibmc's {"ketama": True} (Django's
// PyLibMCCache as its documentation shows it). It is for [NewServers] only:
// with [New], pass the client a selector made by [NewKetama].
func WithKetama(v KetamaVariant) Option {
	return func(o *options) { o.distribution = v.String() }
}

// WithModulo makes [NewServers] place keys as gomemcache's default
// [memcache.ServerList] does (CRC-32 of the key modulo the number of
// servers), as NewServers did before consistent hashing became its default.
// Adding a server to n then moves about n/(n+1) of the sessions, so use it
// only to keep a running pool's placement while its application instances
// are upgraded, then drop it in a quiet hour. It is for [NewServers] only.
func WithModulo() Option {
	return func(o *options) { o.distribution = "modulo" }
}

// Distributions returns the names [WithDistribution] takes, the names of
// pylibmc's behaviours: "ketama_weighted" ([KetamaWeighted], the default),
// "ketama" ([KetamaOneAtATime]), "ketama+md5" ([KetamaMD5]) and "modulo"
// ([WithModulo]).
func Distributions() []string { return []string{"ketama_weighted", "ketama", "ketama+md5", "modulo"} }

// WithDistribution is [WithKetama] or [WithModulo] by name (one of
// [Distributions]), for a command-line flag or a configuration file, so
// that every program reaching a pool (the application, the cloakroom
// command) spells its placement the same way. Another name makes
// [NewServers] return an error wrapping [core.ErrInvalidConfig]. It is for
// [NewServers] only.
func WithDistribution(name string) Option {
	return func(o *options) { o.distribution = name }
}

// ketamaVariant returns the variant a distribution name other than
// "modulo" names; "" is the default, KetamaWeighted.
func ketamaVariant(name string) KetamaVariant {
	for v := KetamaWeighted; v <= KetamaMD5; v++ {
		if v.String() == name {
			return v
		}
	}
	return KetamaWeighted
}

// newOptions applies opts to the defaults and checks the settings both
// constructors share.
func newOptions(opts []Option) (options, error) {
	o := options{prefix: DefaultPrefix, now: time.Now, timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if err := checkPrefix(o.prefix); err != nil {
		return options{}, err
	}
	if o.now == nil {
		return options{}, fmt.Errorf("memcachestore: nil clock: %w", core.ErrInvalidConfig)
	}
	if o.distribution != "" && !slices.Contains(Distributions(), o.distribution) {
		return options{}, fmt.Errorf("memcachestore: unknown distribution %q (want one of %s): %w",
			o.distribution, strings.Join(Distributions(), ", "), core.ErrInvalidConfig)
	}
	return o, nil
}

// New returns a store that uses client, which the caller built (with its
// servers, Timeout and MaxIdleConns) and keeps owning: [Store.Close] does
// not close it. It returns an error wrapping [core.ErrInvalidConfig] for a
// nil client, an invalid prefix, or [WithTimeout] (the client's Timeout
// field is the caller's to set).
func New(client *memcache.Client, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("memcachestore: nil client: %w", core.ErrInvalidConfig)
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	if o.setTimeout {
		return nil, fmt.Errorf("memcachestore: WithTimeout is for NewServers; set the Timeout of the client passed to New: %w", core.ErrInvalidConfig)
	}
	if o.distribution != "" {
		return nil, fmt.Errorf("memcachestore: WithKetama, WithModulo and WithDistribution are for NewServers; build the client passed to New with memcache.NewFromSelector and NewKetama: %w", core.ErrInvalidConfig)
	}
	return &Store{client: client, prefix: o.prefix, now: o.now, format: o.format}, nil
}

// NewServers returns a store with its own client over the given servers
// ("host:port" or a Unix socket path), with a Timeout of [DefaultTimeout]
// unless [WithTimeout] says otherwise. An empty list, an invalid address
// (or, with ketama, one listed twice), one that does not resolve or a
// timeout that is not positive is an error wrapping [core.ErrInvalidConfig].
//
// Keys are placed by consistent hashing, [Ketama] with [KetamaWeighted]
// (libmemcached's and pylibmc's "ketama_weighted"), unless [WithKetama] or
// [WithModulo] says otherwise. gomemcache's own default (CRC-32 modulo the
// number of servers, what NewServers used before) moves most keys when a
// server is added, and so logs most users out; with ketama, growing from n
// to n+1 servers moves only the new server's share, about 1/(n+1), and a
// server that goes down takes only its own share. The order of the list
// does not matter (but for the rare points two servers share), the way each
// server is written does: write them the
// same way in every application instance (and in other clients sharing the
// sessions), as "10.0.0.1:11211" and "cache1:11211" place keys differently.
// To change the list while the application runs, build the client with
// [NewKetama] and [memcache.NewFromSelector], pass it to [New], and call
// [Ketama.SetServers].
//
// NewServers does not contact the servers: a server that is down is no
// error here (it may come up later) but makes [Store.Ping] fail. Host names
// are resolved once, here (gomemcache's rule). Call [Store.Close] to
// release the client's connections.
func NewServers(servers []string, opts ...Option) (*Store, error) {
	if len(servers) == 0 {
		return nil, fmt.Errorf("memcachestore: no servers: %w", core.ErrInvalidConfig)
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	var list memcache.ServerSelector
	if o.distribution == "modulo" {
		l := new(memcache.ServerList)
		if err := l.SetServers(servers...); err != nil {
			return nil, fmt.Errorf("memcachestore: servers %q: %w: %w", servers, core.ErrInvalidConfig, err)
		}
		list = l
	} else {
		k, err := NewKetama(ketamaVariant(o.distribution), servers...)
		if err != nil {
			return nil, err
		}
		list = k
	}
	if o.timeout <= 0 {
		return nil, fmt.Errorf("memcachestore: timeout %v: want a positive duration: %w", o.timeout, core.ErrInvalidConfig)
	}
	client := memcache.NewFromSelector(list)
	client.Timeout = o.timeout
	return &Store{client: client, servers: list, owned: true, prefix: o.prefix, now: o.now, timeout: o.timeout, format: o.format}, nil
}

func checkPrefix(p string) error {
	if len(p) > MaxPrefixLength {
		return fmt.Errorf("memcachestore: prefix of %d bytes: longer than %d: %w", len(p), MaxPrefixLength, core.ErrInvalidConfig)
	}
	for i := 0; i < len(p); i++ {
		if p[i] <= ' ' || p[i] >= 0x7f {
			return fmt.Errorf("memcachestore: prefix %q: has a space, control or non-ASCII byte: %w", p, core.ErrInvalidConfig)
		}
	}
	return nil
}

// Close closes the client's idle connections if the store built the client
// ([NewServers]); a client passed to [New] is left to its owner.
func (s *Store) Close() error {
	if !s.owned {
		return nil
	}
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("memcachestore: close: %w", err)
	}
	return nil
}

// Prefix returns the key prefix in use.
func (s *Store) Prefix() string { return s.prefix }

// begin validates the key and the context before any server call and
// returns the memcached key.
func (s *Store) begin(ctx context.Context, op, key string) (string, error) {
	if !core.ValidKey(key) {
		return "", fmt.Errorf("memcachestore: %s %.50q: %w", op, key, core.ErrInvalidKey)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("memcachestore: %s: %w", op, err)
	}
	return s.prefix + key, nil
}

// Load implements [core.Store]. A missing or expired item gives an error
// wrapping [core.ErrNotFound]; a value this package did not write (or that
// was damaged) one wrapping [core.ErrTampered]; a server or network failure
// is returned wrapped, never as not-found.
func (s *Store) Load(ctx context.Context, key string) (core.Record, error) {
	mkey, err := s.begin(ctx, "load", key)
	if err != nil {
		return core.Record{}, err
	}
	it, err := s.client.Get(mkey)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return core.Record{}, fmt.Errorf("memcachestore: load: %w", core.ErrNotFound)
	}
	if err != nil {
		return core.Record{}, fmt.Errorf("memcachestore: load: %w", err)
	}
	return s.record(key, it)
}

// Save implements [core.Store] with add (Create) or replace (Update); see
// the package comment. A record whose expiry has passed is never stored: a
// Create of one does nothing, an Update of one deletes the item (and gives
// [core.ErrSessionDeleted] if there was none). A value memcached refuses as
// too large (1 MiB by default, memcached's -I) gives an error wrapping
// [core.ErrTooLarge].
func (s *Store) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	mkey, err := s.begin(ctx, "save", rec.Key)
	if err != nil {
		return err
	}
	exp, live := expiration(rec.Expiry, s.now())
	if !live {
		if mode == core.Create {
			return nil
		}
		err := s.client.Delete(mkey)
		switch {
		case errors.Is(err, memcache.ErrCacheMiss):
			return fmt.Errorf("memcachestore: update: %w", core.ErrSessionDeleted)
		case err != nil:
			return fmt.Errorf("memcachestore: update (delete of an expired record): %w", err)
		}
		return nil
	}
	it, err := s.item(mkey, rec, exp)
	if err != nil {
		return err
	}
	if mode == core.Create {
		err = s.client.Add(it)
		if errors.Is(err, memcache.ErrNotStored) {
			return fmt.Errorf("memcachestore: create: %w", core.ErrKeyExists)
		}
	} else {
		err = s.client.Replace(it)
		if errors.Is(err, memcache.ErrNotStored) {
			return fmt.Errorf("memcachestore: update: %w", core.ErrSessionDeleted)
		}
	}
	if err != nil {
		if strings.Contains(err.Error(), "too large") {
			return fmt.Errorf("memcachestore: %s of %d bytes: %w: %w", mode, len(rec.Data), core.ErrTooLarge, err)
		}
		return fmt.Errorf("memcachestore: %s: %w", mode, err)
	}
	return nil
}

// Delete implements [core.Store]. Deleting a missing item is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	mkey, err := s.begin(ctx, "delete", key)
	if err != nil {
		return err
	}
	if err := s.client.Delete(mkey); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return fmt.Errorf("memcachestore: delete: %w", err)
	}
	return nil
}
