package gormstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/gormstore"
)

// clearStatements counts the statements ClearExpired runs on db: DELETEs
// with the rows each removed, and the cursor's SELECTs (ordered ones; the
// store's Load has no ORDER BY). before, when not nil, runs before each
// DELETE.
type clearStatements struct {
	mu      sync.Mutex
	deletes []int64
	selects int
	before  func()
}

func watchClear(t *testing.T, db *gorm.DB) *clearStatements {
	t.Helper()
	w := &clearStatements{}
	name := "test:clear:" + t.Name()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.Callback().Raw().Before("gorm:raw").Register(name+":before", func(tx *gorm.DB) {
		if strings.HasPrefix(tx.Statement.SQL.String(), "DELETE") && w.before != nil {
			w.before()
		}
	}))
	must(db.Callback().Raw().After("gorm:raw").Register(name, func(tx *gorm.DB) {
		if strings.HasPrefix(tx.Statement.SQL.String(), "DELETE") && tx.Error == nil {
			w.mu.Lock()
			w.deletes = append(w.deletes, tx.RowsAffected)
			w.mu.Unlock()
		}
	}))
	must(db.Callback().Row().After("gorm:row").Register(name, func(tx *gorm.DB) {
		if sql := tx.Statement.SQL.String(); strings.HasPrefix(sql, "SELECT") && strings.Contains(sql, "ORDER BY") {
			w.mu.Lock()
			w.selects++
			w.mu.Unlock()
		}
	}))
	t.Cleanup(func() {
		_ = db.Callback().Raw().Remove(name + ":before")
		_ = db.Callback().Raw().Remove(name)
		_ = db.Callback().Row().Remove(name)
	})
	return w
}

// expiryArg is how a test binds an instant in raw SQL on db, as the store
// does.
func expiryArg(db *gorm.DB, t time.Time) any {
	if db.Dialector.Name() == "postgres" {
		return t.UTC()
	}
	return t.UTC().Format("2006-01-02 15:04:05.000000")
}

// TestClearExpiredKeysetTies: runs of equal expiry longer than a batch,
// shorter than one, and straddling batch boundaries, interleaved with live
// rows. Every expired row goes, every live row stays, each DELETE removes
// exactly a batch (the last one the rest), so there are ceil(expired/batch)
// of them, and the cursor's SELECTs stay bounded by a few per batch. (Counts
// cannot tell a cursor from a rescan; TestClearExpiredPlans checks that
// each statement is an index range that starts at the cursor.)
func TestClearExpiredKeysetTies(t *testing.T) {
	const batch = 4
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			table := tableName(t, db)
			st := newStore(t, db, gormstore.WithTableName(table), gormstore.WithBatchSize(batch), gormstore.WithBatchPause(0))
			base := time.Now().Add(-time.Hour).Truncate(time.Second)
			// Runs of equal expiry: sizes chosen to end on, before and
			// after batch boundaries (cumulative 1, 4, 9, 10, 13, 22, 30).
			runs := []int{1, 3, 5, 1, 3, 9, 8}
			var expired []string
			for i, n := range runs {
				expired = append(expired, fill(t, st, n, base.Add(time.Duration(i)*time.Millisecond))...)
			}
			live := fill(t, st, 6, time.Now().Add(time.Hour))
			live = append(live, fill(t, st, 3, time.Now().Add(2*time.Hour))...)

			if c, err := st.CountExpired(ctx(t)); err != nil || c != int64(len(expired)) {
				t.Errorf("CountExpired = %d, %v; want %d", c, err, len(expired))
			}
			w := watchClear(t, db)
			var calls []int64
			n, err := st.ClearExpiredFunc(ctx(t), func(d int64) { calls = append(calls, d) })
			if err != nil || n != int64(len(expired)) {
				t.Fatalf("ClearExpired = %d, %v; want %d", n, err, len(expired))
			}
			wantBatches := (len(expired) + batch - 1) / batch
			if len(w.deletes) != wantBatches {
				t.Errorf("%d DELETE statements %v, want ceil(%d/%d) = %d", len(w.deletes), w.deletes, len(expired), batch, wantBatches)
			}
			for i, d := range w.deletes {
				if want := int64(min(batch, len(expired)-i*batch)); d != want {
					t.Errorf("DELETE %d removed %d rows, want %d (all: %v)", i, d, want, w.deletes)
				}
			}
			if w.selects > 3*wantBatches+2 {
				t.Errorf("%d cursor SELECTs for %d batches, want at most 3 per batch", w.selects, wantBatches)
			}
			if !slices.IsSorted(calls) || len(calls) == 0 || calls[len(calls)-1] != n {
				t.Errorf("progress calls %v, want a rising series ending at %d", calls, n)
			}
			if got := countRows(t, db, table); got != int64(len(live)) {
				t.Errorf("%d rows left, want the %d live ones", got, len(live))
			}
			for _, k := range live {
				if _, err := st.Load(ctx(t), k); err != nil {
					t.Errorf("live row lost: %v", err)
				}
			}
			// Nothing left to do: a second clear deletes nothing.
			if n, err := st.ClearExpired(ctx(t)); n != 0 || err != nil {
				t.Errorf("second ClearExpired = %d, %v; want 0", n, err)
			}
		})
	}
}

// TestClearExpiredSparesExtendedRows: rows whose expiry is pushed into the
// future while the clear runs, after the cursor has selected them and
// before their DELETE, are not deleted; nor are those extended before the
// cursor reaches them.
func TestClearExpiredSparesExtendedRows(t *testing.T) {
	const batch = 5
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			table := tableName(t, db)
			st := newStore(t, db, gormstore.WithTableName(table), gormstore.WithBatchSize(batch), gormstore.WithBatchPause(0))
			past := time.Now().Add(-time.Hour)
			expired := fill(t, st, 23, past) // one run of equal expiry
			// The keys of each batch are not known in advance (they follow
			// the index), so extend, before the second DELETE, rows of every
			// batch from the second on: then at least one was selected and
			// not yet deleted, and the others are ahead of the cursor.
			keep := map[string]bool{}
			w := watchClear(t, db)
			deletes := 0
			raw := db.Session(&gorm.Session{NewDB: true})
			w.before = func() {
				if deletes++; deletes != 2 {
					return
				}
				var left []string
				if err := raw.Table(table).Where("expire_date <= ?", expiryArg(db, time.Now())).Pluck("session_key", &left).Error; err != nil {
					t.Error(err)
					return
				}
				slices.Sort(left)
				for i := 0; i < len(left); i += 3 {
					keep[left[i]] = true
				}
				var ks []string
				for k := range keep {
					ks = append(ks, k)
				}
				if err := raw.Exec(fmt.Sprintf("UPDATE %s SET expire_date = ? WHERE session_key IN ?", table), expiryArg(db, time.Now().Add(time.Hour)), ks).Error; err != nil {
					t.Error(err)
				}
			}
			n, err := st.ClearExpired(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(keep) == 0 {
				t.Fatal("no row was extended during the clear")
			}
			if want := int64(len(expired) - len(keep)); n != want {
				t.Errorf("ClearExpired = %d, want %d (%d of %d extended)", n, want, len(keep), len(expired))
			}
			for _, k := range expired {
				_, err := st.Load(ctx(t), k)
				switch {
				case keep[k] && err != nil:
					t.Errorf("row extended during the clear was deleted: %v", err)
				case !keep[k] && !errors.Is(err, core.ErrNotFound):
					t.Errorf("expired row not deleted: %v", err)
				}
			}
		})
	}
}

// TestClearExpiredRowsExpiringMeanwhile: a row that expires while the
// clear runs (after the instant it started from) is not deleted by it, and
// the next clear takes it.
func TestClearExpiredRowsExpiringMeanwhile(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			table := tableName(t, db)
			var mu sync.Mutex
			now := time.Now()
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			st := newStore(t, db, gormstore.WithTableName(table), gormstore.WithBatchSize(3), gormstore.WithClock(clock))
			fill(t, st, 7, now.Add(-time.Minute))
			later := fill(t, st, 2, now.Add(time.Second))
			n, err := st.ClearExpiredFunc(ctx(t), func(int64) {
				mu.Lock()
				now = now.Add(time.Minute) // the two rows expire meanwhile
				mu.Unlock()
			})
			if err != nil || n != 7 {
				t.Fatalf("ClearExpired = %d, %v; want the 7 rows expired when it started", n, err)
			}
			if got := countRows(t, db, table); got != int64(len(later)) {
				t.Fatalf("%d rows left, want %d", got, len(later))
			}
			if n, err := st.ClearExpired(ctx(t)); n != 2 || err != nil {
				t.Fatalf("next ClearExpired = %d, %v; want 2", n, err)
			}
		})
	}
}

// TestClearExpiredUserLinksAndCancel: the user links of cleared sessions
// go with them; a cancelled clear stops between batches and a later one
// finishes the work.
func TestClearExpiredUserLinksAndCancel(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			table := tableName(t, db)
			t.Cleanup(func() { _ = db.Migrator().DropTable(table + gormstore.UserTableSuffix) })
			st := newStore(t, db, gormstore.WithTableName(table), gormstore.WithUserIndex(), gormstore.WithBatchSize(4), gormstore.WithBatchPause(0))
			past, future := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
			dead := fill(t, st, 10, past)
			live := fill(t, st, 2, future)
			for _, k := range dead {
				if err := st.LinkUser(ctx(t), "u", k, past); err != nil {
					t.Fatal(err)
				}
			}
			for _, k := range live {
				if err := st.LinkUser(ctx(t), "u", k, future); err != nil {
					t.Fatal(err)
				}
			}
			c, cancel := context.WithCancel(ctx(t))
			n, err := st.ClearExpiredFunc(c, func(int64) { cancel() })
			if !errors.Is(err, context.Canceled) || n != 4 {
				t.Fatalf("cancelled ClearExpired = %d, %v; want 4 and context.Canceled", n, err)
			}
			if n, err := st.ClearExpired(ctx(t)); n != 6 || err != nil {
				t.Fatalf("next ClearExpired = %d, %v; want the other 6", n, err)
			}
			if got := countRows(t, db, table+gormstore.UserTableSuffix); got != 2 {
				t.Errorf("%d user links left, want the 2 of live sessions", got)
			}
		})
	}
}

// TestClearExpiredPlans: on SQLite and MariaDB, whose expire_date index
// orders equal expiries by the cursor's tie column (rowid, or InnoDB's
// primary key), every SELECT of the cursor is a range of that index that
// starts at the cursor and needs no sort: the work of a batch does not
// depend on how many rows earlier batches deleted. (PostgreSQL's planner
// chooses between the expire_date index and the primary key for a run of
// equal expiries from its statistics; BenchmarkClearExpired measures it.)
func TestClearExpiredPlans(t *testing.T) {
	for _, b := range backends() {
		if b.name == "postgres" {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			table := tableName(t, db)
			st := newStore(t, db, gormstore.WithTableName(table))
			fill(t, st, 50, time.Now().Add(-time.Minute))
			fill(t, st, 50, time.Now().Add(time.Hour))
			if b.name == "mysql" {
				if err := db.Exec("ANALYZE TABLE " + table).Error; err != nil {
					t.Fatal(err)
				}
			}
			for _, q := range gormstore.ClearSelects(st) {
				var plan []string
				explain := "EXPLAIN QUERY PLAN "
				if b.name == "mysql" {
					explain = "EXPLAIN FORMAT=JSON "
				}
				rows, err := db.Raw(explain+q.SQL, q.Args...).Rows()
				if err != nil {
					t.Fatalf("%s: %v", q.SQL, err)
				}
				cols, _ := rows.Columns()
				for rows.Next() {
					vals := make([]any, len(cols))
					for i := range vals {
						vals[i] = new(any)
					}
					if err := rows.Scan(vals...); err != nil {
						t.Fatal(err)
					}
					for _, v := range vals {
						switch v := (*(v.(*any))).(type) {
						case []byte:
							plan = append(plan, string(v))
						default:
							plan = append(plan, fmt.Sprint(v))
						}
					}
				}
				_ = rows.Close()
				p := strings.Join(plan, " ")
				idx := "_expire_date_"
				switch {
				case !strings.Contains(p, idx):
					t.Errorf("%s\ndoes not use the expire_date index: %s", q.SQL, p)
				case strings.Contains(p, "TEMP B-TREE"), strings.Contains(p, "filesort"):
					t.Errorf("%s\nsorts: %s", q.SQL, p)
				case b.name != "mysql" && !strings.Contains(p, "SEARCH"):
					t.Errorf("%s\nscans instead of searching a range: %s", q.SQL, p)
				case b.name == "mysql" && !strings.Contains(p, `"range"`) && !strings.Contains(p, `"ref"`):
					t.Errorf("%s\nis not an index range: %s", q.SQL, p)
				}
			}
		})
	}
}
