package gormstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/gormstore"
)

// Benchmarks. The clear benchmark fills a large table once and ignores b.N;
// run it with -benchtime=1x:
//
//	go test ./gormstore -run '^$' -bench ClearExpired -benchtime=1x -timeout 60m
//	go test ./gormstore -run '^$' -bench LoadSave
//
// CLOAKROOM_BENCH_ROWS overrides the 1,000,000 rows of the clear benchmark.

// benchBackends are the file-backed backends (an in-memory SQLite database
// tells nothing about disk-backed locking).
func benchBackends() []backend {
	return []backend{{"sqlite", openSQLiteFile}, {"postgres", openPostgres}, {"mysql", openMySQL}}
}

// benchData is a typical small session: a signed JSON payload of ~120 bytes.
var benchData = `{"_auth_user_id":"12345","_auth_user_backend":"django.contrib.auth.backends.ModelBackend","cart":[1,2,3],"n":` // + counter + "}"

// bulkFill inserts n rows with keys prefix+index; every other row is
// expired when halfExpired. It uses multi-row INSERTs in transactions.
func bulkFill(b *testing.B, db *gorm.DB, table string, n int, halfExpired bool) []string {
	b.Helper()
	const perStmt, perTx = 1000, 50_000
	prefix := strings.ToLower(strconv.FormatUint(rand.Uint64(), 36))
	keys := make([]string, 0, n)
	live := time.Now().Add(24 * time.Hour).UTC()
	dead := time.Now().Add(-24 * time.Hour).UTC()
	timeArg := func(t time.Time) any {
		if db.Dialector.Name() == "postgres" {
			return t
		}
		return t.Format("2006-01-02 15:04:05.000000")
	}
	liveArg, deadArg := timeArg(live), timeArg(dead)
	start := time.Now()
	for done := 0; done < n; {
		err := db.Transaction(func(tx *gorm.DB) error {
			for inTx := 0; inTx < perTx && done < n; {
				m := min(perStmt, n-done)
				var sql strings.Builder
				sql.WriteString("INSERT INTO " + table + " (session_key, session_data, expire_date) VALUES ")
				args := make([]any, 0, 3*m)
				for i := 0; i < m; i++ {
					if i > 0 {
						sql.WriteString(",")
					}
					sql.WriteString("(?,?,?)")
					k := fmt.Sprintf("%s%016d", prefix, done+i)
					keys = append(keys, k)
					exp := liveArg
					if halfExpired && (done+i)%2 == 1 {
						exp = deadArg
					}
					args = append(args, k, benchData+strconv.Itoa(done+i)+"}", exp)
				}
				if err := tx.Exec(sql.String(), args...).Error; err != nil {
					return err
				}
				done += m
				inTx += m
			}
			return nil
		})
		if err != nil {
			b.Fatalf("filling %s: %v", table, err)
		}
	}
	b.Logf("filled %d rows in %v", n, time.Since(start).Round(time.Millisecond))
	return keys
}

// benchTable returns a fresh table name on db and creates it through New.
func benchStore(b *testing.B, db *gorm.DB, opts ...gormstore.Option) (*gormstore.Store, string) {
	b.Helper()
	table := tableName(b, db)
	st := newStore(b, db, append([]gormstore.Option{gormstore.WithTableName(table)}, opts...)...)
	return st, table
}

// maxDur keeps the largest duration stored into it.
type maxDur struct{ v atomic.Int64 }

func (m *maxDur) observe(d time.Duration) {
	for {
		old := m.v.Load()
		if int64(d) <= old || m.v.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

func (m *maxDur) ms() float64 { return float64(m.v.Load()) / 1e6 }

// BenchmarkClearExpired fills a table with CLOAKROOM_BENCH_ROWS sessions
// (default 1,000,000), half of them expired and interleaved with live ones,
// and clears the expired half with the default batch size while one
// goroutine keeps loading live sessions and another keeps updating them.
// It reports the total time of the clear, the longest single DELETE
// statement (and the median and 99th percentile), and the worst latency and count of the concurrent reads and
// writes; any failed read or write fails the benchmark.
func BenchmarkClearExpired(b *testing.B) {
	rows := 1_000_000
	if v := os.Getenv("CLOAKROOM_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			b.Fatalf("CLOAKROOM_BENCH_ROWS=%q: want a number of rows", v)
		}
		rows = n
	}
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			db := be.open(b)
			st, table := benchStore(b, db)
			b.StopTimer()
			keys := bulkFill(b, db, table, rows, true)

			var delMu sync.Mutex
			var deletes []time.Duration
			if err := db.Callback().Raw().Before("gorm:raw").Register("bench:start", func(tx *gorm.DB) {
				tx.InstanceSet("bench:start", time.Now())
			}); err != nil {
				b.Fatal(err)
			}
			if err := db.Callback().Raw().After("gorm:raw").Register("bench:delete", func(tx *gorm.DB) {
				if start, ok := tx.InstanceGet("bench:start"); ok && strings.HasPrefix(tx.Statement.SQL.String(), "DELETE") {
					d := time.Since(start.(time.Time))
					delMu.Lock()
					deletes = append(deletes, d)
					delMu.Unlock()
				}
			}); err != nil {
				b.Fatal(err)
			}

			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var readMax, writeMax maxDur
			var reads, writes, failures atomic.Int64
			var firstErr atomic.Value
			fail := func(err error) {
				failures.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
			liveKey := func(r *rand.Rand) string { return keys[2*r.IntN(len(keys)/2)] } // even rows are live
			wg.Add(2)
			go func() { // reader
				defer wg.Done()
				r := rand.New(rand.NewPCG(1, 2))
				for ctx.Err() == nil {
					t0 := time.Now()
					if _, err := st.Load(context.Background(), liveKey(r)); err != nil {
						fail(fmt.Errorf("load: %w", err))
						continue
					}
					readMax.observe(time.Since(t0))
					reads.Add(1)
				}
			}()
			go func() { // writer
				defer wg.Done()
				r := rand.New(rand.NewPCG(3, 4))
				for ctx.Err() == nil {
					k := liveKey(r)
					t0 := time.Now()
					err := st.Save(context.Background(), core.Record{Key: k, Data: []byte(`{"w":1}`), Expiry: time.Now().Add(time.Hour)}, core.Update)
					if err != nil {
						fail(fmt.Errorf("update: %w", err))
						continue
					}
					writeMax.observe(time.Since(t0))
					writes.Add(1)
				}
			}()

			b.StartTimer()
			t0 := time.Now()
			n, err := st.ClearExpired(context.Background())
			total := time.Since(t0)
			b.StopTimer()
			cancel()
			wg.Wait()
			if err != nil {
				b.Fatal(err)
			}
			if n != int64(rows/2) {
				b.Fatalf("ClearExpired removed %d rows, want %d", n, rows/2)
			}
			if f := failures.Load(); f > 0 {
				b.Fatalf("%d concurrent requests failed during the clear; first: %v", f, firstErr.Load())
			}
			if left := countRowsB(b, db, table); left != int64(rows-rows/2) {
				b.Fatalf("%d rows left, want %d", left, rows-rows/2)
			}
			b.ReportMetric(total.Seconds(), "clear-s")
			slices.Sort(deletes)
			pct := func(p float64) float64 { return float64(deletes[int(p*float64(len(deletes)-1))]) / 1e6 }
			b.ReportMetric(float64(len(deletes)), "DELETEs")
			b.ReportMetric(pct(0.5), "p50-DELETE-ms")
			b.ReportMetric(pct(0.99), "p99-DELETE-ms")
			b.ReportMetric(pct(1), "max-DELETE-ms")
			b.ReportMetric(float64(reads.Load()), "reads")
			b.ReportMetric(readMax.ms(), "max-read-ms")
			b.ReportMetric(float64(writes.Load()), "writes")
			b.ReportMetric(writeMax.ms(), "max-write-ms")
		})
	}
}

func countRowsB(b *testing.B, db *gorm.DB, table string) int64 {
	var n int64
	if err := db.Table(table).Count(&n).Error; err != nil {
		b.Fatal(err)
	}
	return n
}

// sessionRow is the row a plain GORM user would scan.
type sessionRow struct {
	SessionKey  string
	SessionData string
	ExpireDate  time.Time
}

// BenchmarkLoadSave measures Load and Save(Update) on a table of 100,000
// live sessions against plain GORM doing the same by primary key in the
// same loop: db.Where("session_key = ?", k).Take(&row) for loads, and
// Updates of both columns (without GORM's default transaction) for saves.
// Each iteration does one of each on a random key, in alternating order; the
// metrics are ns per operation and the ratios store/GORM.
func BenchmarkLoadSave(b *testing.B) {
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			db := be.open(b)
			st, table := benchStore(b, db)
			keys := bulkFill(b, db, table, 100_000, false)
			plain := db.Table(table).Session(&gorm.Session{SkipDefaultTransaction: true}) // reusable
			ctx := context.Background()
			r := rand.New(rand.NewPCG(5, 6))
			var tTake, tLoad, tSave, tUpdate time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := keys[r.IntN(len(keys))]
				exp := time.Now().Add(time.Hour)
				data := benchData + strconv.Itoa(i) + "}"

				take := func() {
					t0 := time.Now()
					var row sessionRow
					if err := plain.Where("session_key = ?", k).Take(&row).Error; err != nil {
						b.Fatal(err)
					}
					tTake += time.Since(t0)
				}
				load := func() {
					t0 := time.Now()
					if _, err := st.Load(ctx, k); err != nil {
						b.Fatal(err)
					}
					tLoad += time.Since(t0)
				}
				save := func() {
					t0 := time.Now()
					if err := st.Save(ctx, core.Record{Key: k, Data: []byte(data), Expiry: exp}, core.Update); err != nil {
						b.Fatal(err)
					}
					tSave += time.Since(t0)
				}
				update := func() {
					t0 := time.Now()
					if err := plain.Where("session_key = ?", k).Updates(map[string]any{"session_data": data + " ", "expire_date": exp.UTC()}).Error; err != nil {
						b.Fatal(err)
					}
					tUpdate += time.Since(t0)
				}
				// Alternate the order so neither side always finds the
				// row's pages cached by the other.
				if i%2 == 0 {
					take()
					load()
					save()
					update()
				} else {
					load()
					take()
					update()
					save()
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(tTake.Nanoseconds())/n, "gorm-take-ns/op")
			b.ReportMetric(float64(tLoad.Nanoseconds())/n, "load-ns/op")
			b.ReportMetric(float64(tUpdate.Nanoseconds())/n, "gorm-update-ns/op")
			b.ReportMetric(float64(tSave.Nanoseconds())/n, "save-ns/op")
			b.ReportMetric(float64(tLoad)/float64(tTake), "load/take")
			b.ReportMetric(float64(tSave)/float64(tUpdate), "save/update")
		})
	}
}
