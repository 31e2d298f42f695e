// Package observe reports what a store does: every load, create, update,
// delete and clear, with its latency, size and error, to a [Hook]. [Counters]
// is a ready Hook with atomic counters and latency buckets that can be
// published through expvar; [SlogHook] logs events.
package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// Op names a store operation.
type Op string

// The operations a wrapped store reports.
const (
	Load   Op = "load"
	Create Op = "create"
	Update Op = "update"
	Delete Op = "delete"
	Clear  Op = "clear_expired"
	// The user index (core.UserIndex) and health check (core.Pinger).
	LinkUser           Op = "link_user"
	UnlinkUser         Op = "unlink_user"
	DeleteUserSessions Op = "delete_user_sessions"
	Ping               Op = "ping"
)

// Event describes one store call.
type Event struct {
	Op       Op
	Duration time.Duration
	// Bytes is the size of the data loaded or saved.
	Bytes int
	// Err is the call's error; a load of a missing session is not an
	// error here (Miss is set instead).
	Err  error
	Miss bool
}

// Hook receives events. It is called synchronously after each store call,
// so it must be fast and safe for concurrent use.
type Hook interface {
	StoreEvent(ctx context.Context, e Event)
}

// HookFunc adapts a function to a Hook.
type HookFunc func(ctx context.Context, e Event)

// StoreEvent calls f.
func (f HookFunc) StoreEvent(ctx context.Context, e Event) { f(ctx, e) }

// Store wraps a core.Store and reports each call to a Hook. It offers every
// optional capability of the wrapped store (see [core.Supports]), and no
// other.
type Store struct {
	inner core.Store
	hook  Hook
	now   func() time.Time
}

// Wrap returns store reporting to hook.
func Wrap(store core.Store, hook Hook) *Store {
	return &Store{inner: store, hook: hook, now: time.Now}
}

// Unwrap returns the wrapped store.
func (s *Store) Unwrap() core.Store { return s.inner }

// Load implements core.Store.
func (s *Store) Load(ctx context.Context, key string) (core.Record, error) {
	start := s.now()
	rec, err := s.inner.Load(ctx, key)
	e := Event{Op: Load, Duration: s.now().Sub(start), Bytes: len(rec.Data), Err: err}
	if errors.Is(err, core.ErrNotFound) {
		e.Err, e.Miss = nil, true
	}
	s.hook.StoreEvent(ctx, e)
	return rec, err
}

// Save implements core.Store.
func (s *Store) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	start := s.now()
	err := s.inner.Save(ctx, rec, mode)
	op := Update
	if mode == core.Create {
		op = Create
	}
	s.hook.StoreEvent(ctx, Event{Op: op, Duration: s.now().Sub(start), Bytes: len(rec.Data), Err: err})
	return err
}

// Delete implements core.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	start := s.now()
	err := s.inner.Delete(ctx, key)
	s.hook.StoreEvent(ctx, Event{Op: Delete, Duration: s.now().Sub(start), Err: err})
	return err
}

// Supports implements [core.CapabilityReporter]: the wrapper offers what the
// wrapped store offers.
func (s *Store) Supports(c core.Capability) bool { return core.Supports(s.inner, c) }

func (s *Store) unsupported(c core.Capability) error {
	return fmt.Errorf("observe: %T does not offer %v: %w", s.inner, c, core.ErrUnsupported)
}

// report sends one event for a call that began at start.
func (s *Store) report(ctx context.Context, op Op, start time.Time, bytes int, err error) {
	s.hook.StoreEvent(ctx, Event{Op: op, Duration: s.now().Sub(start), Bytes: bytes, Err: err})
}

// ClearExpired implements [core.ExpiredClearer] through the wrapped store.
func (s *Store) ClearExpired(ctx context.Context) (int64, error) {
	if !s.Supports(core.CapClearExpired) {
		return 0, s.unsupported(core.CapClearExpired)
	}
	start := s.now()
	n, err := s.inner.(core.ExpiredClearer).ClearExpired(ctx)
	s.report(ctx, Clear, start, 0, err)
	return n, err
}

// LoadVersion implements [core.VersionedStore], reported as a [Load].
func (s *Store) LoadVersion(ctx context.Context, key string) (core.Record, uint64, error) {
	if !s.Supports(core.CapVersioning) {
		return core.Record{}, 0, s.unsupported(core.CapVersioning)
	}
	start := s.now()
	rec, v, err := s.inner.(core.VersionedStore).LoadVersion(ctx, key)
	e := Event{Op: Load, Duration: s.now().Sub(start), Bytes: len(rec.Data), Err: err}
	if errors.Is(err, core.ErrNotFound) {
		e.Err, e.Miss = nil, true
	}
	s.hook.StoreEvent(ctx, e)
	return rec, v, err
}

// SaveVersion implements [core.VersionedStore], reported as an [Update].
func (s *Store) SaveVersion(ctx context.Context, rec core.Record, version uint64) error {
	if !s.Supports(core.CapVersioning) {
		return s.unsupported(core.CapVersioning)
	}
	start := s.now()
	err := s.inner.(core.VersionedStore).SaveVersion(ctx, rec, version)
	s.report(ctx, Update, start, len(rec.Data), err)
	return err
}

// LinkUser implements [core.UserIndex] through the wrapped store.
func (s *Store) LinkUser(ctx context.Context, user, key string, expiry time.Time) error {
	if !s.Supports(core.CapUserIndex) {
		return s.unsupported(core.CapUserIndex)
	}
	start := s.now()
	err := s.inner.(core.UserIndex).LinkUser(ctx, user, key, expiry)
	s.report(ctx, LinkUser, start, 0, err)
	return err
}

// UnlinkUser implements [core.UserIndex] through the wrapped store.
func (s *Store) UnlinkUser(ctx context.Context, key string) error {
	if !s.Supports(core.CapUserIndex) {
		return s.unsupported(core.CapUserIndex)
	}
	start := s.now()
	err := s.inner.(core.UserIndex).UnlinkUser(ctx, key)
	s.report(ctx, UnlinkUser, start, 0, err)
	return err
}

// DeleteUserSessions implements [core.UserIndex] through the wrapped store.
func (s *Store) DeleteUserSessions(ctx context.Context, user string) (int64, error) {
	if !s.Supports(core.CapUserIndex) {
		return 0, s.unsupported(core.CapUserIndex)
	}
	start := s.now()
	n, err := s.inner.(core.UserIndex).DeleteUserSessions(ctx, user)
	s.report(ctx, DeleteUserSessions, start, 0, err)
	return n, err
}

// DeleteUserSessionKeys implements [core.UserKeysDeleter] when the wrapped
// store does, reported as [DeleteUserSessions]; otherwise it returns an
// error wrapping [core.ErrUnsupported] and deletes nothing.
func (s *Store) DeleteUserSessionKeys(ctx context.Context, user string) ([]string, error) {
	kd, ok := s.inner.(core.UserKeysDeleter)
	if !ok || !s.Supports(core.CapUserIndex) {
		return nil, s.unsupported(core.CapUserIndex)
	}
	start := s.now()
	keys, err := kd.DeleteUserSessionKeys(ctx, user)
	s.report(ctx, DeleteUserSessions, start, 0, err)
	return keys, err
}

// Ping implements [core.Pinger] through the wrapped store.
func (s *Store) Ping(ctx context.Context) error {
	if !s.Supports(core.CapPing) {
		return s.unsupported(core.CapPing)
	}
	start := s.now()
	err := s.inner.(core.Pinger).Ping(ctx)
	s.report(ctx, Ping, start, 0, err)
	return err
}

// SlogHook logs every event at level, with errors at slog.LevelError.
func SlogHook(logger *slog.Logger, level slog.Level) Hook {
	return HookFunc(func(ctx context.Context, e Event) {
		lvl := level
		attrs := []slog.Attr{slog.String("op", string(e.Op)), slog.Duration("duration", e.Duration), slog.Int("bytes", e.Bytes)}
		if e.Miss {
			attrs = append(attrs, slog.Bool("miss", true))
		}
		if e.Err != nil {
			lvl = slog.LevelError
			attrs = append(attrs, slog.String("error", e.Err.Error()))
		}
		logger.LogAttrs(ctx, lvl, "cloakroom store call", attrs...)
	})
}
