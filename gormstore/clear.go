package gormstore

import (
	"context"
	"fmt"
	"time"
)

// ClearExpired implements [core.ExpiredClearer]: it deletes every row whose
// expire_date is not after the time of the call, in DELETE statements of at
// most the batch size (see [WithBatchSize]), each its own short transaction,
// so readers and writers are never locked out for long. It stops early when
// ctx is done and returns how many rows it deleted until then, with the
// error.
func (s *Store) ClearExpired(ctx context.Context) (int64, error) {
	return s.ClearExpiredFunc(ctx, nil)
}

// ClearExpiredFunc is ClearExpired that calls progress, when not nil, with
// the running total after each batch (for a progress bar).
func (s *Store) ClearExpiredFunc(ctx context.Context, progress func(deleted int64)) (int64, error) {
	now := s.q.timeArg(s.now())
	db := s.db.WithContext(ctx)
	var total int64
	for {
		start := time.Now()
		res := db.Exec(s.q.clearBatch, now)
		if res.Error != nil {
			return total, fmt.Errorf("gormstore: clearing expired rows of %s: %w", s.table, res.Error)
		}
		total += res.RowsAffected
		if progress != nil {
			progress(total)
		}
		if res.RowsAffected < int64(s.cfg.batchSize) {
			return total, s.clearUserLinks(ctx, now)
		}
		if err := s.pause(ctx, time.Since(start)); err != nil {
			return total, fmt.Errorf("gormstore: clearing expired rows of %s: %w", s.table, err)
		}
	}
}

// pause waits between two batches: the configured pause, or on SQLite by
// default as long as the last batch took, so that writers queued on the
// database lock get their turn.
func (s *Store) pause(ctx context.Context, last time.Duration) error {
	d := s.cfg.batchPause
	if d < 0 {
		d = 0
		if s.q.kind == dSQLite {
			d = last
		}
	}
	if d == 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// startCleaner runs ClearExpired every cfg.cleanup until Close or until
// parent is cancelled.
func (s *Store) startCleaner(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	s.stop = cancel
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		tick := time.NewTicker(s.cfg.cleanup)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			n, err := s.ClearExpired(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				s.cfg.logger.Warn("gormstore: background clear of expired sessions failed",
					"table", s.table, "deleted", n, "error", err)
			case n > 0:
				s.cfg.logger.Debug("gormstore: cleared expired sessions", "table", s.table, "deleted", n)
			}
		}
	}()
}

// Close stops the background cleaner, if any, and waits for it to finish
// (an ongoing clear is interrupted between two statements). It does not
// close the *gorm.DB. Close is safe to call more than once and always
// returns nil.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			s.stop()
			<-s.done
		}
	})
	return nil
}
