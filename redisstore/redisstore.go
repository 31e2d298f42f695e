// Package redisstore is a cloakroom session store kept in Redis, through
// github.com/redis/go-redis/v9's [redis.UniversalClient], so that one store
// serves a single server, Sentinel ([redis.FailoverClient]) and Redis
// Cluster ([redis.ClusterClient]). It is a module of its own, so that
// applications that do not use Redis never get go-redis in their module
// graph.
//
// # Layout
//
// Each session is one Redis hash under prefix+key (default prefix
// [DefaultPrefix]) with the fields d (the session's data), e (its expiry in
// Unix milliseconds), v (its version, 1 at creation and one more on every
// write), and, for a session linked to a user, u (the user) and x (how far
// the user's index covers it, see below). The hash gets Redis's own expiry
// (PEXPIREAT) from the record's expiry, so Redis drops expired sessions by
// itself: the store has no ClearExpired ([core.CapClearExpired] is not
// offered, and is not needed). A record whose expiry has passed is never
// stored: Save with [core.Create] of one does nothing, and Save with
// [core.Update] of one deletes the session. Load also checks the expiry
// against the store's clock ([WithClock]), so a session is never loaded
// after its expiry even if Redis's clock is behind.
//
// Every write is one server-side Lua script over that one key, which makes
// Create-only-if-absent, Update-only-if-present and the versioned update
// of the atomic mode ([core.Config.Optimistic]) atomic on the server.
//
// # The user index and Redis Cluster
//
// For log-out-everywhere ([core.UserIndex]) each user has a sorted set
// under prefix+"user:"+user whose members are the keys of the user's
// sessions, scored by how long each entry must be kept (Unix
// milliseconds). On Redis Cluster a user's sessions cannot share a slot
// with the user's set: their keys are random, made before the user logs in
// and carried by the cookie, and one user has many. No hash tag can put
// them together, so the store never needs two keys in one atomic
// operation: every script reads and writes exactly one key, whichever slot
// it lives in. Consistency comes from two rules instead:
//
//   - The session's own hash is the truth about its owner (the field u).
//     [Store.DeleteUserSessions] deletes a session listed in the user's set
//     only if its hash still names that user, in one script on the
//     session's key, so an entry left behind (the session moved to another
//     user, was unlinked or deleted, and the cleanup of the set failed) is
//     harmless.
//   - The set always lists every session whose hash names the user, for as
//     long as the session lives: [Store.LinkUser] adds the entry before it
//     writes u, and a save that would make a linked session outlive its
//     entry (the field x) first raises the entry's score in the user's set,
//     then writes the session. Entries are scored one hour past the
//     session's expiry, so a session saved again and again raises its
//     entry about once an hour of activity, not on every save.
//
// Entries of expired sessions are removed from the set once their score
// passes (at the next link of that user), and the set itself carries a
// Redis expiry at its highest score, so a user who never comes back leaves
// nothing behind. Delete and UnlinkUser remove the entry from the set at
// once (in a second command; if that one fails, the entry waits for its
// score or the next DeleteUserSessions, harmlessly).
//
// Because no command spans two keys, the prefix must not contain a hash
// tag ('{' or '}'): it would put every session in one slot, on one master.
//
// # Time limits and failures
//
// go-redis applies a context's deadline to the connection only when the
// client's options have ContextTimeoutEnabled set; otherwise its
// ReadTimeout and WriteTimeout (3 s by default) bound every call. Set
// ContextTimeoutEnabled so that [core.Config.StoreTimeout] bounds the
// store. Every method returns ctx.Err() without contacting Redis when the
// context is already done.
//
// A server or network failure is always returned as an error, never as
// [core.ErrNotFound]: when a Cluster master dies, the sessions in its slots
// fail to load or save (the middleware answers 500, or 503 on a store
// timeout) until a replica is promoted or the master is back, and once the
// cluster marks itself down (cluster-require-full-coverage, the default),
// every session does. Users see errors, not an empty session and not a
// save reported as done that was not.
//
// On Sentinel ([redis.NewFailoverClient], or [redis.NewUniversalClient]
// with MasterName) it is the same while the master is down: every request
// that touches a session answers 500 until the sentinels have promoted a
// replica, then the same client goes to the new master, with no restart,
// and the sessions the replica had received are all there. In the tests
// (SIGKILL of the master, down-after-milliseconds 1000) requests failed for
// about 3.1 s: the promotion came after about 2.2 s, and the client
// followed within a second (after PoolSize failed dials in a row go-redis's
// pool fails at once and dials again once a second). Replication is
// asynchronous: a write acknowledged just before the master died can be
// lost with it.
//
// go-redis retries a failed dial (DialerRetries, 5 by default, 100 ms
// apart) and a failed command (MaxRetries, 3): against a port where nothing
// listens, one store call took 0.4 s to fail with MaxRetries -1 and 1.7 s
// with the defaults (go-redis v9.23.0). Lower DialerRetries, MaxRetries and
// DialTimeout (a dial that gets no answer waits for it, 5 s by default) for
// requests to fail fast.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloakroom/cloakroom/core"
)

// DefaultPrefix is the key prefix used unless [WithPrefix] says otherwise.
const DefaultPrefix = "cloakroom:session:"

// MaxPrefixLength bounds the prefix, to keep keys short.
const MaxPrefixLength = 200

// indexSlack is how far past a session's expiry its entry in its user's
// set is kept: a linked session's save raises the entry (one more round
// trip) only when its new expiry passes the entry's score.
const indexSlack = time.Hour

// Store keeps session records in Redis. It is safe for concurrent use.
// Create it with [New].
type Store struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
}

// options holds the settings the options of [New] set.
type options struct {
	prefix string
	now    func() time.Time
}

// Option configures a [Store]; pass options to [New].
type Option func(*options)

// WithPrefix sets the string put before every session key to form the Redis
// key, so that several applications can share a server (default
// [DefaultPrefix]). Users' index sets live under prefix+"user:". It must be
// at most [MaxPrefixLength] bytes without control characters and without
// '{' or '}' (a hash tag would put every session in one Cluster slot).
func WithPrefix(prefix string) Option { return func(o *options) { o.prefix = prefix } }

// WithClock makes the store read the time from now instead of time.Now
// (the default). Redis keeps its own clock for its expiries; this changes
// the expiry checks made on this side. now must not be nil.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns a store that uses client (a *redis.Client, a
// *redis.ClusterClient, or a Sentinel client from redis.NewFailoverClient
// or redis.NewUniversalClient), which the caller built and keeps owning.
// New does not contact Redis; see [Store.Ping].
// It returns an error wrapping [core.ErrInvalidConfig] for a nil client, an
// invalid prefix or a nil clock.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("redisstore: nil client: %w", core.ErrInvalidConfig)
	}
	o := options{prefix: DefaultPrefix, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if err := checkPrefix(o.prefix); err != nil {
		return nil, err
	}
	if o.now == nil {
		return nil, fmt.Errorf("redisstore: nil clock: %w", core.ErrInvalidConfig)
	}
	return &Store{client: client, prefix: o.prefix, now: o.now}, nil
}

func checkPrefix(p string) error {
	if len(p) > MaxPrefixLength {
		return fmt.Errorf("redisstore: prefix of %d bytes: longer than %d: %w", len(p), MaxPrefixLength, core.ErrInvalidConfig)
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c < ' ' || c == 0x7f:
			return fmt.Errorf("redisstore: prefix %q: has a control character: %w", p, core.ErrInvalidConfig)
		case c == '{' || c == '}':
			return fmt.Errorf("redisstore: prefix %q: has '{' or '}', a Redis Cluster hash tag that would put every session in one slot: %w", p, core.ErrInvalidConfig)
		}
	}
	return nil
}

// Prefix returns the key prefix in use.
func (s *Store) Prefix() string { return s.prefix }

// sessionKey is the Redis key of a session.
func (s *Store) sessionKey(key string) string { return s.prefix + key }

// userKey is the Redis key of a user's index set. Session keys hold only
// [a-z0-9], so no session key can be a user key.
func (s *Store) userKey(user string) string { return s.prefix + "user:" + user }

// begin validates the key and the context before any server call and
// returns the Redis key.
func (s *Store) begin(ctx context.Context, op, key string) (string, error) {
	if !core.ValidKey(key) {
		return "", fmt.Errorf("redisstore: %s %.50q: %w", op, key, core.ErrInvalidKey)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return s.sessionKey(key), nil
}

// ms is t in Unix milliseconds, as Redis's PEXPIREAT takes it.
func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Load implements [core.Store]. A missing or expired session gives an error
// wrapping [core.ErrNotFound]; a value this package did not write, one
// wrapping [core.ErrTampered]; a server or network failure is returned
// wrapped, never as not-found.
func (s *Store) Load(ctx context.Context, key string) (core.Record, error) {
	rec, _, err := s.load(ctx, key)
	return rec, err
}

func (s *Store) load(ctx context.Context, key string) (core.Record, uint64, error) {
	rkey, err := s.begin(ctx, "load", key)
	if err != nil {
		return core.Record{}, 0, err
	}
	vals, err := s.client.HMGet(ctx, rkey, "d", "e", "v").Result()
	if err != nil {
		return core.Record{}, 0, wrap("load", err)
	}
	if vals[0] == nil {
		return core.Record{}, 0, fmt.Errorf("redisstore: load: %w", core.ErrNotFound)
	}
	data, ok0 := vals[0].(string)
	es, ok1 := vals[1].(string)
	vs, ok2 := vals[2].(string)
	e, err1 := strconv.ParseInt(es, 10, 64)
	v, err2 := strconv.ParseUint(vs, 10, 64)
	if !ok0 || !ok1 || !ok2 || err1 != nil || err2 != nil {
		return core.Record{}, 0, fmt.Errorf("redisstore: load: hash without a valid expiry and version: %w", core.ErrTampered)
	}
	exp := time.UnixMilli(e)
	if !exp.After(s.now()) {
		return core.Record{}, 0, fmt.Errorf("redisstore: load: %w", core.ErrNotFound)
	}
	return core.Record{Key: key, Data: []byte(data), Expiry: exp}, v, nil
}

// Save implements [core.Store]. Create stores the record only if no live
// session has its key, else returns [core.ErrKeyExists]; Update replaces
// the data and expiry of an existing session, else returns
// [core.ErrSessionDeleted] without creating one. A record whose expiry has
// passed is never stored: its Create does nothing, its Update deletes the
// session.
func (s *Store) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	if mode == core.Create {
		return s.create(ctx, rec)
	}
	return s.update(ctx, "update", rec, "")
}

func (s *Store) create(ctx context.Context, rec core.Record) error {
	rkey, err := s.begin(ctx, "create", rec.Key)
	if err != nil {
		return err
	}
	now := s.now()
	if !rec.Expiry.After(now) {
		return nil
	}
	n, err := createScript.Run(ctx, s.client, []string{rkey}, rec.Data, ms(rec.Expiry), ms(now)).Int64()
	if err != nil {
		return wrap("create", err)
	}
	if n == 0 {
		return fmt.Errorf("redisstore: create: %w", core.ErrKeyExists)
	}
	return nil
}

// maxIndexRounds bounds the rounds of a save that must raise the entry of
// its session in the user's set first (see the package comment): the
// session's user would have to change between every two of them.
const maxIndexRounds = 4

// update runs updateScript: version "" updates whatever the version.
func (s *Store) update(ctx context.Context, op string, rec core.Record, version string) error {
	rkey, err := s.begin(ctx, op, rec.Key)
	if err != nil {
		return err
	}
	now := s.now()
	remove := "0"
	if !rec.Expiry.After(now) {
		remove = "1"
	}
	var idxUser, idxUntil string
	for range maxIndexRounds {
		res, err := updateScript.Run(ctx, s.client, []string{rkey}, rec.Data, ms(rec.Expiry), version, remove, idxUser, idxUntil).Slice()
		if err != nil {
			return wrap(op, err)
		}
		code, arg, err := reply(res)
		if err != nil {
			return wrap(op, err)
		}
		switch code {
		case 1:
			return nil
		case 0:
			return fmt.Errorf("redisstore: %s: %w", op, core.ErrSessionDeleted)
		case -1:
			return fmt.Errorf("redisstore: %s: %w", op, core.ErrVersionConflict)
		case 2: // removed (expired): its entry in the user's set goes too
			s.unindex(ctx, arg, rec.Key)
			return nil
		case -2: // linked to user arg, whose set must first cover the new expiry
			until := rec.Expiry.Add(indexSlack)
			if err := s.index(ctx, arg, rec.Key, until, now); err != nil {
				return wrap(op+" (user index)", err)
			}
			idxUser, idxUntil = arg, ms(until)
		default:
			return fmt.Errorf("redisstore: %s: unexpected script reply %v", op, res)
		}
	}
	return fmt.Errorf("redisstore: %s: %w", op, errIndexRace)
}

// reply splits a script's {code, arg} reply.
func reply(res []any) (int64, string, error) {
	if len(res) == 0 {
		return 0, "", errors.New("empty script reply")
	}
	code, ok := res[0].(int64)
	if !ok {
		return 0, "", fmt.Errorf("script reply %v", res)
	}
	var arg string
	if len(res) > 1 {
		switch a := res[1].(type) {
		case string:
			arg = a
		case int64:
			arg = strconv.FormatInt(a, 10)
		}
	}
	return code, arg, nil
}

// Delete implements [core.Store]. Deleting a missing session is not an
// error. The session's entry in its user's set is removed too.
func (s *Store) Delete(ctx context.Context, key string) error {
	rkey, err := s.begin(ctx, "delete", key)
	if err != nil {
		return err
	}
	user, err := deleteScript.Run(ctx, s.client, []string{rkey}).Text()
	if err != nil {
		return wrap("delete", err)
	}
	s.unindex(ctx, user, key)
	return nil
}
