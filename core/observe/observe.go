// Package observe reports what a store does: every load, create, update,
// delete and clear, with its latency, size and error, to a [Hook]. [Counters]
// is a ready Hook with atomic counters and latency buckets that can be
// published through expvar; [SlogHook] logs events.
package observe

import (
	"context"
	"errors"
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

// Store wraps a core.Store and reports each call to a Hook.
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

// ClearExpired implements core.ExpiredClearer when the wrapped store does.
func (s *Store) ClearExpired(ctx context.Context) (int64, error) {
	c, ok := s.inner.(core.ExpiredClearer)
	if !ok {
		return 0, errors.New("observe: the wrapped store cannot clear expired sessions")
	}
	start := s.now()
	n, err := c.ClearExpired(ctx)
	s.hook.StoreEvent(ctx, Event{Op: Clear, Duration: s.now().Sub(start), Err: err})
	return n, err
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
