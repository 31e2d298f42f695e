package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// VersionedStore is implemented by stores that support optimistic
// concurrency. Every record has a version that changes on every write
// (Save or SaveVersion); it is opaque to the manager. Stores that count
// (memory, gormstore) start at 1 and add one per write, which lets the
// manager predict the next version; others (memcached's CAS unique) cost
// one reload when the prediction is wrong.
//
// A store that can have versioning switched off (or a wrapper) also
// implements [CapabilityReporter]; [New] asks it through [Supports]. Its
// methods return an error wrapping [ErrUnsupported] when versioning is off.
//
// With [Config.Optimistic] on, the manager loads with LoadVersion and saves
// with SaveVersion; on a conflict it reloads the record, replays the
// request's changes on the fresh values and tries again.
type VersionedStore interface {
	Store
	// LoadVersion is Load that also returns the record's version.
	LoadVersion(ctx context.Context, key string) (Record, uint64, error)
	// SaveVersion updates the record only if its version is still version,
	// returning an error wrapping ErrVersionConflict otherwise, or
	// ErrSessionDeleted when it is gone.
	SaveVersion(ctx context.Context, rec Record, version uint64) error
}

// maxReplays bounds the retries of a versioned save.
const maxReplays = 20

// change is one change to the session's values, kept for replay on a
// version conflict. The common ones are data, not closures, so that a
// Set outside the atomic mode allocates nothing for its replay.
type change struct {
	kind changeKind
	key  string
	raw  json.RawMessage
	fn   func(map[string]json.RawMessage) (json.RawMessage, error) // changeModify: the new value of key
}

type changeKind uint8

const (
	changeSet        changeKind = iota // values[key] = raw
	changeDelete                       // delete(values, key)
	changeSetDefault                   // values[key] = raw unless present
	changeClear                        // clear(values)
	changeModify                       // values[key] = fn(values)
)

// apply makes the change to values.
func (c *change) apply(values map[string]json.RawMessage) error {
	switch c.kind {
	case changeSet:
		values[c.key] = c.raw
	case changeDelete:
		delete(values, c.key)
	case changeSetDefault:
		if _, ok := values[c.key]; !ok {
			values[c.key] = c.raw
		}
	case changeClear:
		clear(values)
	case changeModify:
		enc, err := c.fn(values)
		if err != nil {
			return err
		}
		values[c.key] = enc
	}
	return nil
}

// record keeps a change for replay on a version conflict, in the atomic
// mode only.
func (s *Session) record(c change) {
	if s.m.replay {
		s.ops = append(s.ops, c)
	}
}

// Modify replaces the value under key with fn's result, where fn receives
// the current value (and whether it was present). It is the read-modify-write
// to use for values that concurrent requests of one session change, such as
// a cart: with [Config.Optimistic] on, a conflicting save reloads the session
// and calls fn again on the fresh value, so no request's change is lost. fn
// may therefore run more than once and must depend only on its arguments.
//
// Modify fails as [Session.Set] does, leaving the session as it was: fn's
// error, an error wrapping [ErrTooLarge] when fn's result would grow the
// session past [Config.MaxSessionBytes], [ErrResponseStarted] once the
// response's headers were sent (fn is not called), or the load error. When
// the replay after a conflict makes the session too large, the save fails
// with [ErrTooLarge] and stores nothing.
func Modify[T any](s *Session, key string, fn func(v T, present bool) (T, error)) error {
	next := func(values map[string]json.RawMessage) (json.RawMessage, error) {
		var v T
		raw, ok := values[key]
		if ok {
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("cloakroom: session value %q: %w", key, err)
			}
		}
		nv, err := fn(v, ok)
		if err != nil {
			return nil, err
		}
		return encode(key, nv)
	}
	s.lock()
	defer s.mu.Unlock()
	if err := s.lateLocked("Modify"); err != nil {
		return err
	}
	s.loadLocked()
	if s.loadErr != nil {
		return s.loadErr
	}
	enc, err := next(s.values)
	if err != nil {
		return err
	}
	if err := s.fitsLocked(key, s.deltaLocked(key, enc)); err != nil {
		return err
	}
	s.setValueLocked(key, enc)
	s.modified = true
	s.record(change{kind: changeModify, key: key, fn: next})
	return nil
}

// saveVersionedLocked updates the record under s.key with optimistic
// concurrency, replaying s.ops over fresh values after each conflict.
func (s *Session) saveVersionedLocked(ctx context.Context, vs VersionedStore, rec Record) error {
	for attempt := 0; ; attempt++ {
		err := vs.SaveVersion(ctx, rec, s.version)
		if err == nil {
			s.version++
			return nil
		}
		if !errors.Is(err, ErrVersionConflict) || attempt+1 >= maxReplays {
			return wrapErr("saving session", err)
		}
		// Back off a little so that a crowd of writers spreads out.
		time.Sleep(time.Duration(rand.IntN(1<<min(attempt, 6))) * 100 * time.Microsecond)
		fresh, version, err := vs.LoadVersion(ctx, s.key)
		if errors.Is(err, ErrNotFound) {
			return wrapErr("saving session", ErrSessionDeleted)
		}
		if err != nil {
			return wrapErr("reloading session after a conflict", err)
		}
		values, err := s.m.cfg.Codec.Decode(fresh.Data)
		if err != nil {
			return wrapErr("reloading session after a conflict", err)
		}
		for i := range s.ops {
			if err := s.ops[i].apply(values); err != nil {
				return wrapErr("replaying session changes", err)
			}
		}
		if s.m.cfg.IdleTimeout > 0 {
			values[LastActivityKey] = s.values[LastActivityKey]
		}
		s.values, s.version, s.sized = values, version, false
		if err := s.saveSizeErrLocked(); err != nil {
			return wrapErr("replaying session changes", err)
		}
		if rec.Data, err = s.m.cfg.Codec.Encode(values); err != nil {
			return wrapErr("encoding session", err)
		}
	}
}
