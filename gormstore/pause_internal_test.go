package gormstore

import (
	"context"
	"testing"
	"time"
)

// TestDefaultBatchPause checks the pause ClearExpired makes between two
// batches by default: as long as the last batch on SQLite, nine times as
// long on PostgreSQL, none on MySQL; and WithBatchPause's everywhere.
func TestDefaultBatchPause(t *testing.T) {
	const last = 20 * time.Millisecond // long enough that a busy machine's scheduling delays do not blur the cases
	for _, c := range []struct {
		kind  dialectKind
		pause time.Duration // -1: the default
		min   time.Duration
		max   time.Duration
	}{
		{dSQLite, -1, last, 5 * last},
		{dPostgres, -1, 9 * last, 20 * last},
		{dMySQL, -1, 0, 5 * last},
		{dPostgres, 0, 0, 5 * last},
		{dMySQL, 3 * last, 3 * last, 8 * last},
	} {
		s := &Store{q: queries{kind: c.kind}, cfg: options{batchPause: c.pause}}
		start := time.Now()
		if err := s.pause(context.Background(), last); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < c.min || d > c.max {
			t.Errorf("dialect %v, pause option %v: paused %v; want %v to %v", c.kind, c.pause, d, c.min, c.max)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &Store{q: queries{kind: dPostgres}, cfg: options{batchPause: -1}}
	if err := s.pause(ctx, time.Hour); err == nil {
		t.Error("a pause with its context done returned no error")
	}
}
