package gormstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/internal/testenv"
)

// TestSQLiteParallelRequests: 8 goroutines x 200 requests (create, load,
// update, load) on distinct sessions against one SQLite file, while a
// cleaner clears in the background: no error at all ("database is locked"
// included).
func TestSQLiteParallelRequests(t *testing.T) {
	db := openSQLiteFile(t)
	st := newStore(t, db, gormstore.WithCleanup(5*time.Millisecond), gormstore.WithBatchSize(50))
	const workers, requests = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, workers*requests)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := ctx(t)
			for i := 0; i < requests; i++ {
				key, err := core.NewKey()
				if err != nil {
					errs <- err
					return
				}
				// Some sessions are born expired, so the cleaner has work.
				exp := time.Now().Add(time.Hour)
				if i%4 == 0 {
					exp = time.Now().Add(-time.Second)
				}
				data := fmt.Sprintf(`{"w":%d,"i":%d}`, w, i)
				if err := st.Save(c, core.Record{Key: key, Data: []byte(data), Expiry: exp}, core.Create); err != nil {
					errs <- fmt.Errorf("create: %w", err)
					continue
				}
				if i%4 == 0 {
					continue
				}
				if rec, err := st.Load(c, key); err != nil || string(rec.Data) != data {
					errs <- fmt.Errorf("load: %q, %w", rec.Data, err)
					continue
				}
				data += " "
				if err := st.Save(c, core.Record{Key: key, Data: []byte(data), Expiry: exp}, core.Update); err != nil {
					errs <- fmt.Errorf("update: %w", err)
					continue
				}
				if rec, err := st.Load(c, key); err != nil || string(rec.Data) != data {
					errs <- fmt.Errorf("load after update: %q, %w", rec.Data, err)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 10 {
			t.Error(err)
		}
	}
	if n > 0 {
		t.Fatalf("%d errors in %d requests", n, workers*requests)
	}
	var live int64
	if err := db.Table(st.TableName()).Where("expire_date > ?", time.Now().UTC().Format("2006-01-02 15:04:05")).Count(&live).Error; err != nil {
		t.Fatal(err)
	}
	if want := int64(workers * requests * 3 / 4); live != want {
		t.Errorf("%d live rows, want %d", live, want)
	}
}

// countRows counts the rows of table, expired or not.
func countRows(t *testing.T, db *gorm.DB, table string) int64 {
	t.Helper()
	var n int64
	if err := db.Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func fill(t *testing.T, st core.Store, n int, expiry time.Time) []string {
	t.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = newKey(t)
		if err := st.Save(ctx(t), core.Record{Key: keys[i], Data: []byte(`{}`), Expiry: expiry}, core.Create); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestClearExpiredBatches: ClearExpired deletes in statements of at most the
// batch size, keeps live rows, on every backend.
func TestClearExpiredBatches(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			table := tableName(t, db)
			st := newStore(t, db, gormstore.WithTableName(table), gormstore.WithBatchSize(10))
			fill(t, st, 25, time.Now().Add(-time.Minute))
			live := fill(t, st, 7, time.Now().Add(time.Hour))
			var deletes []int64
			var mu sync.Mutex
			if err := db.Callback().Raw().After("gorm:raw").Register("test:deletes", func(tx *gorm.DB) {
				if strings.HasPrefix(tx.Statement.SQL.String(), "DELETE") {
					mu.Lock()
					deletes = append(deletes, tx.RowsAffected)
					mu.Unlock()
				}
			}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Callback().Raw().Remove("test:deletes") })
			n, err := st.ClearExpired(ctx(t))
			if err != nil || n != 25 {
				t.Fatalf("ClearExpired = %d, %v; want 25", n, err)
			}
			if fmt.Sprint(deletes) != "[10 10 5]" {
				t.Errorf("DELETE statements removed %v rows, want [10 10 5]", deletes)
			}
			if got := countRows(t, db, table); got != 7 {
				t.Errorf("%d rows left, want the 7 live ones", got)
			}
			for _, k := range live {
				if _, err := st.Load(ctx(t), k); err != nil {
					t.Errorf("live row lost: %v", err)
				}
			}
		})
	}
}

func TestClearExpiredStopsOnCancel(t *testing.T) {
	db := openSQLiteFile(t)
	st := newStore(t, db, gormstore.WithBatchSize(5), gormstore.WithBatchPause(time.Hour))
	fill(t, st, 20, time.Now().Add(-time.Minute))
	c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	n, err := st.ClearExpired(c)
	if err == nil || n != 5 {
		t.Fatalf("ClearExpired with a pause longer than its context = %d, %v; want 5 and the context error", n, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("ClearExpired took %v to notice its context ended", d)
	}
}

// cleanerRunning reports whether a background cleaner goroutine exists.
func cleanerRunning() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return bytes.Contains(buf, []byte("gormstore.(*Store).startCleaner"))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBackgroundCleaner(t *testing.T) {
	db := openSQLiteFile(t)
	table := tableName(t, db)
	// Fill through a store without a cleaner first, so that the cleaner
	// finds all 30 expired rows in its first pass.
	filler := newStore(t, db, gormstore.WithTableName(table))
	fill(t, filler, 30, time.Now().Add(-time.Minute))
	fill(t, filler, 3, time.Now().Add(time.Hour))
	var logs testenv.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := gormstore.New(context.Background(), db, gormstore.WithTableName(table),
		gormstore.WithCleanup(10*time.Millisecond), gormstore.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	// The cleaner logs after its pass has deleted the rows, so wait for the
	// log line (the row count alone can be seen before it is written).
	waitFor(t, "the cleaner to log its pass", func() bool { return strings.Contains(logs.String(), "deleted=30") })
	if got := countRows(t, db, table); got != 3 {
		t.Errorf("after the cleaner's pass: %d rows, want the 3 live ones", got)
	}

	// Errors are reported, not swallowed: take the table away.
	if err := db.Exec("ALTER TABLE " + table + " RENAME TO " + table + "_gone").Error; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cleaner to report its error", func() bool { return strings.Contains(logs.String(), "no such table") })
	if err := db.Exec("ALTER TABLE " + table + "_gone RENAME TO " + table).Error; err != nil {
		t.Fatal(err)
	}

	if !cleanerRunning() {
		t.Fatal("no cleaner goroutine found; the leak check below would prove nothing")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if cleanerRunning() {
		t.Fatal("cleaner goroutine still running after Close")
	}
	_ = st.Close() // twice is fine
	fill(t, st, 2, time.Now().Add(-time.Minute))
	time.Sleep(50 * time.Millisecond)
	if got := countRows(t, db, table); got != 5 {
		t.Errorf("after Close the cleaner still cleared: %d rows, want 5", got)
	}
}

func TestCleanerStopsWithContext(t *testing.T) {
	db := openSQLiteFile(t)
	c, cancel := context.WithCancel(context.Background())
	st, err := gormstore.New(c, db, gormstore.WithCleanup(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if !cleanerRunning() {
		t.Fatal("no cleaner goroutine started")
	}
	cancel()
	waitFor(t, "the cleaner to stop after its context was cancelled", func() bool { return !cleanerRunning() })
	_ = st.Close()
}
