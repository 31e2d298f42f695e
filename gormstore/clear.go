package gormstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// ClearExpired implements [core.ExpiredClearer]: it deletes every row whose
// expire_date is not after the time of the call, in DELETE statements of at
// most the batch size (see [WithBatchSize]), each its own short transaction,
// so readers and writers are never locked out for long. It stops early when
// ctx is done and returns how many rows it deleted until then, with the
// error.
//
// The batches walk the expire_date index once, from the oldest expiry up,
// with a keyset cursor: each batch starts after the last (expire_date, key)
// the previous one took, instead of at the start of the index, so the time
// of a clear grows with the number of expired rows and not with its square
// (see clearCursor). A row whose expiry is extended while the clear runs is
// never deleted; one that expires while it runs may be left for the next
// clear.
//
// On PostgreSQL the DELETEs commit without waiting for their WAL to reach
// the disk (synchronous_commit off, for their own transactions only), so
// that the clear adds no fsync for the requests' commits to queue behind; a
// crash may undo the last ones, which the next clear then repeats. By
// default the clear pauses between batches, on SQLite as long as the last
// one took and on PostgreSQL nine times as long (see [WithBatchPause]).
func (s *Store) ClearExpired(ctx context.Context) (int64, error) {
	return s.ClearExpiredFunc(ctx, nil)
}

// ClearExpiredFunc is ClearExpired that calls progress, when not nil, with
// the running total after each batch (for a progress bar).
func (s *Store) ClearExpiredFunc(ctx context.Context, progress func(deleted int64)) (int64, error) {
	now := s.q.timeArg(s.now())
	db := s.db.WithContext(ctx)
	c := clearCursor{q: &s.q.clear, pg: s.q.kind == dPostgres, db: db, now: now, n: s.cfg.batchSize}
	if s.q.noRowid != "" && db.Exec(s.q.noRowid).Error != nil {
		c.q = &s.q.clearKeyed // an SQLite table WITHOUT ROWID
	}
	var total int64
	fail := func(err error) (int64, error) {
		return total, fmt.Errorf("gormstore: clearing expired rows of %s: %w", s.table, err)
	}
	for {
		start := time.Now()
		ids, last, err := c.next()
		if err != nil {
			return fail(err)
		}
		n, err := c.delete(ids)
		total += n
		if err != nil {
			return fail(err)
		}
		if progress != nil {
			progress(total)
		}
		if last {
			return total, s.clearUserLinks(ctx, now)
		}
		if err := s.pause(ctx, time.Since(start)); err != nil {
			return fail(err)
		}
	}
}

// CountExpired returns how many rows ClearExpired would delete now, with
// one COUNT over the range of the expire_date index that the clear walks
// (much cheaper than [Store.Stats], which reads every row): for a progress
// display.
func (s *Store) CountExpired(ctx context.Context) (int64, error) {
	var n int64
	err := scanRow(s.db.WithContext(ctx), s.q.countExpired, []any{s.q.timeArg(s.now())}, &n)
	if err != nil {
		return 0, fmt.Errorf("gormstore: counting expired rows of %s: %w", s.table, err)
	}
	return n, nil
}

// clearCursor walks the expired rows in (expire_date, tie) order, where tie
// is the column that orders rows of equal expire_date in the expire_date
// index: rowid on SQLite, the primary key on MySQL (InnoDB secondary indexes
// end with it) and on PostgreSQL (whose planner picks the primary key or the
// expire_date index for a run of equal expiries, whichever reads less, from
// the table's statistics: on a table never analyzed it may sort the rest of
// a long run for every batch).
//
// A batch is taken in up to three index range scans (within, after, within),
// each bounded by what the batch still lacks:
//
//   - "after": rows with expire_date > the cursor's (or any, at first),
//     up to now, in expire_date order. Rows of the last expire_date seen
//     may be cut off by the limit; they are left out and taken by "within".
//   - "within": rows with expire_date = e and tie > the last tie taken,
//     in tie order, continuing a run of equal expiries across batches.
//
// Nothing is rescanned: each scan starts where the previous one stopped,
// except that the rows of an expiry cut off by the limit of "after" are
// read again by "within" (fewer than a batch).
type clearCursor struct {
	q   *clearQueries
	pg  bool // expiry read as time.Time, not text
	db  *gorm.DB
	now any
	n   int

	started bool // at has a value
	at      any  // expire_date of the run being taken (driver value, bound back as read)
	inRun   bool // rows of expire_date at may remain after tie
	tie     any  // last tie taken in the run; nil: none yet
}

// next returns the ties of the next batch (at most n) and whether it is the
// last one.
func (c *clearCursor) next() (ids []any, last bool, err error) {
	if c.inRun {
		got, err := c.within(c.n)
		if err != nil {
			return nil, false, err
		}
		ids = got
		if len(got) == c.n {
			return ids, false, nil
		}
		c.inRun = false
	}
	rest := c.n - len(ids)
	rows, err := c.after(rest)
	if err != nil {
		return nil, false, err
	}
	if len(rows) < rest {
		// Every expired row after the cursor is in this batch.
		for _, r := range rows {
			ids = append(ids, r.tie)
		}
		return ids, true, nil
	}
	// The limit may have cut the run of the last expiry: keep the rows
	// before it, and take that run from its start in tie order.
	runAt := rows[len(rows)-1].at
	for _, r := range rows {
		if sameAt(r.at, runAt) {
			break
		}
		ids = append(ids, r.tie)
	}
	c.started, c.at, c.tie, c.inRun = true, runAt, nil, true
	got, err := c.within(c.n - len(ids))
	if err != nil {
		return nil, false, err
	}
	ids = append(ids, got...)
	return ids, false, nil
}

type clearRow struct {
	at  any
	tie any
}

// after returns up to limit expired rows with expire_date after the
// cursor's, in expire_date order.
func (c *clearCursor) after(limit int) ([]clearRow, error) {
	q, args := c.q.first, []any{c.now}
	if c.started {
		q, args = c.q.after, []any{c.at, c.now}
	}
	out := make([]clearRow, 0, limit)
	err := c.scan(q+strconv.Itoa(limit), args, func(rows *sql.Rows) error {
		var r clearRow
		at, tie := c.dest()
		if err := rows.Scan(at, tie); err != nil {
			return err
		}
		r.at, r.tie = deref(at), deref(tie)
		out = append(out, r)
		return nil
	})
	if err == nil && len(out) > 0 {
		c.at = out[len(out)-1].at
	}
	return out, err
}

// within returns up to limit ties of the run of expire_date c.at after
// c.tie, and moves c.tie to the last.
func (c *clearCursor) within(limit int) ([]any, error) {
	if limit == 0 {
		return nil, nil
	}
	q, args := c.q.run, []any{c.at}
	if c.tie != nil {
		q, args = c.q.runAfter, []any{c.at, c.tie}
	}
	out := make([]any, 0, limit)
	err := c.scan(q+strconv.Itoa(limit), args, func(rows *sql.Rows) error {
		_, tie := c.dest()
		if err := rows.Scan(tie); err != nil {
			return err
		}
		out = append(out, deref(tie))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) > 0 {
		c.tie = out[len(out)-1]
	}
	if len(out) < limit {
		c.inRun = false
	}
	return out, nil
}

func (c *clearCursor) scan(q string, args []any, each func(*sql.Rows) error) error {
	rows, err := c.db.Raw(q, args...).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// clearChunk bounds the placeholders of one DELETE of the clear (SQLite
// and PostgreSQL limit them); batches larger than this take more than one
// statement.
const clearChunk = 10_000

// delete removes the rows of ids that are still expired (a row extended
// since it was selected stays).
//
// On PostgreSQL each DELETE commits asynchronously (synchronous_commit off
// for its transaction only): it does not wait for its WAL to reach the
// disk, so the clear adds no fsync of its own to those the requests' commits
// queue behind. A crash may forget the last deletes; the rows are then
// still expired and the next clear takes them.
func (c *clearCursor) delete(ids []any) (int64, error) {
	var total int64
	for i := 0; i < len(ids); i += clearChunk {
		chunk := ids[i:min(i+clearChunk, len(ids))]
		var n int64
		var err error
		if c.pg {
			err = c.db.Transaction(func(tx *gorm.DB) error {
				if err := tx.Exec("SET LOCAL synchronous_commit TO OFF").Error; err != nil {
					return err
				}
				res := tx.Exec(c.q.del, chunk, c.now)
				n = res.RowsAffected
				return res.Error
			})
		} else {
			res := c.db.Exec(c.q.del, chunk, c.now)
			n, err = res.RowsAffected, res.Error
		}
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// dest returns where to scan an expiry and a tie.
func (c *clearCursor) dest() (at, tie any) {
	if c.pg {
		at = new(time.Time)
	} else {
		at = new(string)
	}
	if c.q.keyTie {
		return at, new(string)
	}
	return at, new(int64)
}

// sameAt reports whether two expiries read by the cursor are equal.
func sameAt(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return a == b
}

func deref(p any) any {
	switch p := p.(type) {
	case *string:
		return *p
	case *int64:
		return *p
	case *time.Time:
		return *p
	}
	return p
}

// pause waits between two batches: the configured pause, or by default on
// SQLite as long as the last batch took, so that writers queued on the
// database lock get their turn, and on PostgreSQL nine times as long, so
// that the clear's writes (WAL, dirty pages) take at most a tenth of the
// server's time and its checkpoints keep up: at 10M rows without a pause
// users' writes waited up to 91-129 ms behind the server's own I/O, with
// this one 20 ms (bench/RESULTS.md, Scale).
func (s *Store) pause(ctx context.Context, last time.Duration) error {
	d := s.cfg.batchPause
	if d < 0 {
		switch s.q.kind {
		case dSQLite:
			d = last
		case dPostgres:
			d = 9 * last
		default:
			d = 0
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
