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
// CLOAKROOM_BENCH_ROWS overrides the 1,000,000 rows of the clear benchmark;
// CLOAKROOM_BENCH_BATCH and CLOAKROOM_BENCH_PAUSE its batch size and pause,
// CLOAKROOM_BENCH_BASELINE how long it measures requests before clearing,
// CLOAKROOM_BENCH_READ_RATE and CLOAKROOM_BENCH_WRITE_RATE pace the
// concurrent requests (per second; unset: as fast as they go).

// benchBackends are the file-backed backends (an in-memory SQLite database
// tells nothing about disk-backed locking).
func benchBackends() []backend {
	return []backend{{"sqlite", openSQLiteFile}, {"postgres", openPostgres}, {"mysql", openMySQL}}
}

// benchData is a typical small session: a signed JSON payload of ~120 bytes.
var benchData = `{"_auth_user_id":"12345","_auth_user_backend":"django.contrib.auth.backends.ModelBackend","cart":[1,2,3],"n":` // + counter + "}"

// benchKeys names the rows bulkFill made: key(i) for i in [0, n).
type benchKeys struct {
	prefix string
	n      int
}

func (k benchKeys) key(i int) string { return fmt.Sprintf("%s%016d", k.prefix, i) }

// bulkFill inserts n rows with keys prefix+index (16 digits); every other
// row (the odd ones) is expired when halfExpired. The database generates the
// rows itself (generate_series on PostgreSQL, the SEQUENCE engine on
// MariaDB, a recursive CTE on SQLite) in INSERT ... SELECT statements of
// 500,000 rows, so that ten million rows take a minute or two, not an hour.
// All expired rows share one expiry and so do all live ones: the worst case
// for a clear that must walk a run of equal expiries.
func bulkFill(b *testing.B, db *gorm.DB, table string, n int, halfExpired bool) benchKeys {
	b.Helper()
	const perStmt = 500_000
	keys := benchKeys{prefix: strings.ToLower(strconv.FormatUint(rand.Uint64(), 36)), n: n}
	live := time.Now().Add(24 * time.Hour).UTC()
	dead := time.Now().Add(-24 * time.Hour).UTC()
	if !halfExpired {
		dead = live
	}
	var liveArg, deadArg any = live, dead
	if db.Dialector.Name() != "postgres" {
		liveArg, deadArg = live.Format("2006-01-02 15:04:05.000000"), dead.Format("2006-01-02 15:04:05.000000")
	}
	start := time.Now()
	for lo := 0; lo < n; lo += perStmt {
		hi := min(lo+perStmt, n) - 1
		var q string
		switch db.Dialector.Name() {
		case "postgres":
			q = fmt.Sprintf(`INSERT INTO %s (session_key, session_data, expire_date)
				SELECT @p || lpad(i::text, 16, '0'), @d || i || '}', CASE WHEN i %% 2 = 1 THEN CAST(@dead AS timestamptz) ELSE CAST(@live AS timestamptz) END
				FROM generate_series(%d::bigint, %d::bigint) AS i`, table, lo, hi)
		case "mysql":
			q = fmt.Sprintf(`INSERT INTO %s (session_key, session_data, expire_date)
				SELECT CONCAT(@p, LPAD(seq, 16, '0')), CONCAT(@d, seq, '}'), IF(seq %% 2 = 1, @dead, @live)
				FROM seq_%d_to_%d`, table, lo, hi)
		default:
			q = fmt.Sprintf(`WITH RECURSIVE s(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM s WHERE i < %d)
				INSERT INTO %s (session_key, session_data, expire_date)
				SELECT @p || substr('0000000000000000' || i, -16), @d || i || '}', CASE WHEN i %% 2 = 1 THEN @dead ELSE @live END FROM s`, lo, hi, table)
		}
		args := map[string]any{"p": keys.prefix, "d": benchData, "dead": deadArg, "live": liveArg}
		if err := db.Exec(q, args).Error; err != nil {
			b.Fatalf("filling %s: %v", table, err)
		}
	}
	// Fresh statistics, as autovacuum (PostgreSQL) and InnoDB's automatic
	// recalculation would have after such a change; and the fill's WAL
	// written back, so that what follows does not pay for it.
	var settle []string
	switch db.Dialector.Name() {
	case "postgres":
		settle = []string{"ANALYZE " + table, "CHECKPOINT"}
	case "mysql":
		settle = []string{"ANALYZE TABLE " + table}
	default:
		settle = []string{"PRAGMA wal_checkpoint(TRUNCATE)"}
	}
	for _, q := range settle {
		if err := db.Exec(q).Error; err != nil {
			b.Fatalf("%s: %v", q, err)
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

// latencies are the concurrent requests' counts and worst latencies in one
// phase of BenchmarkClearExpired.
type latencies struct {
	readMax, writeMax maxDur
	reads, writes     atomic.Int64
	// Every latency, for percentiles: readLat is appended to by the reader
	// goroutine only, writeLat by the writer only, and both are read once
	// the two have stopped.
	readLat, writeLat []time.Duration
}

// p99 returns the 99th percentile of d in milliseconds (0 for none).
func p99(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	return float64(d[int(0.99*float64(len(d)-1))]) / 1e6
}

// clearOptions are the store options BenchmarkClearExpired tunes the clear
// with: CLOAKROOM_BENCH_BATCH (WithBatchSize) and CLOAKROOM_BENCH_PAUSE
// (WithBatchPause, a Go duration); the defaults when unset.
func clearOptions(b *testing.B) []gormstore.Option {
	var opts []gormstore.Option
	if v := os.Getenv("CLOAKROOM_BENCH_BATCH"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("CLOAKROOM_BENCH_BATCH=%q: %v", v, err)
		}
		opts = append(opts, gormstore.WithBatchSize(n))
	}
	if v := os.Getenv("CLOAKROOM_BENCH_PAUSE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("CLOAKROOM_BENCH_PAUSE=%q: %v", v, err)
		}
		opts = append(opts, gormstore.WithBatchPause(d))
	}
	return opts
}

// benchRate is the rate per second the environment variable name sets for
// the concurrent reader or writer of BenchmarkClearExpired; 0 (the default)
// means as fast as they go, which keeps both cores busy on a small machine.
func benchRate(b *testing.B, name string) int {
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		b.Fatalf("%s=%q: want requests per second", name, v)
	}
	return n
}

// pacer returns a function that waits for the next of perSecond evenly
// spaced instants (no wait for 0). A late request does not shift the
// schedule: the ones after it go at once until it is caught up.
func pacer(perSecond int) func() {
	if perSecond == 0 {
		return func() {}
	}
	every := time.Second / time.Duration(perSecond)
	next := time.Now()
	return func() {
		next = next.Add(every)
		time.Sleep(time.Until(next))
	}
}

// baselineDuration is how long BenchmarkClearExpired measures the
// concurrent requests before starting the clear: CLOAKROOM_BENCH_BASELINE
// (a Go duration), 5s by default.
func baselineDuration(b *testing.B) time.Duration {
	v := os.Getenv("CLOAKROOM_BENCH_BASELINE")
	if v == "" {
		return 5 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		b.Fatalf("CLOAKROOM_BENCH_BASELINE=%q: %v", v, err)
	}
	return d
}

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
	opts := clearOptions(b)
	readRate, writeRate := benchRate(b, "CLOAKROOM_BENCH_READ_RATE"), benchRate(b, "CLOAKROOM_BENCH_WRITE_RATE")
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			db := be.open(b)
			st, table := benchStore(b, db, opts...)
			b.StopTimer()
			keys := bulkFill(b, db, table, rows, true)
			b.ReportMetric(float64(tableBytes(b, db, table))/float64(rows), "bytes/row")

			// Time every statement of the clear: the DELETEs (Raw callbacks)
			// and the cursor's SELECTs (Row callbacks); the concurrent
			// requests go through the store, whose Load is a Row query too,
			// so SELECTs are told apart by their ORDER BY.
			var delMu sync.Mutex
			var deletes []time.Duration
			var selectMax maxDur
			var selects atomic.Int64
			startCB := func(tx *gorm.DB) { tx.InstanceSet("bench:start", time.Now()) }
			endCB := func(tx *gorm.DB) {
				start, ok := tx.InstanceGet("bench:start")
				if !ok {
					return
				}
				d := time.Since(start.(time.Time))
				switch sql := tx.Statement.SQL.String(); {
				case strings.HasPrefix(sql, "DELETE"):
					delMu.Lock()
					deletes = append(deletes, d)
					delMu.Unlock()
				case strings.HasPrefix(sql, "SELECT") && strings.Contains(sql, "ORDER BY"):
					selects.Add(1)
					selectMax.observe(d)
				}
			}
			for _, err := range []error{
				db.Callback().Raw().Before("gorm:raw").Register("bench:start", startCB),
				db.Callback().Raw().After("gorm:raw").Register("bench:end", endCB),
				db.Callback().Row().Before("gorm:row").Register("bench:start", startCB),
				db.Callback().Row().After("gorm:row").Register("bench:end", endCB),
			} {
				if err != nil {
					b.Fatal(err)
				}
			}

			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			// The requests' latencies go to the phase in force: first a
			// baseline without the clear (the noise floor of this machine
			// and server), then the clear.
			var base, during latencies
			var cur atomic.Pointer[latencies]
			cur.Store(&base)
			var failures atomic.Int64
			var firstErr atomic.Value
			fail := func(err error) {
				failures.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
			liveKey := func(r *rand.Rand) string { return keys.key(2 * r.IntN(keys.n/2)) } // even rows are live
			wg.Add(2)
			go func() { // reader
				defer wg.Done()
				r := rand.New(rand.NewPCG(1, 2))
				wait := pacer(readRate)
				for ctx.Err() == nil {
					wait()
					t0 := time.Now()
					if _, err := st.Load(context.Background(), liveKey(r)); err != nil {
						fail(fmt.Errorf("load: %w", err))
						continue
					}
					p, d := cur.Load(), time.Since(t0)
					p.readMax.observe(d)
					p.reads.Add(1)
					p.readLat = append(p.readLat, d)
				}
			}()
			go func() { // writer
				defer wg.Done()
				r := rand.New(rand.NewPCG(3, 4))
				wait := pacer(writeRate)
				for ctx.Err() == nil {
					wait()
					k := liveKey(r)
					t0 := time.Now()
					err := st.Save(context.Background(), core.Record{Key: k, Data: []byte(`{"w":1}`), Expiry: time.Now().Add(time.Hour)}, core.Update)
					if err != nil {
						fail(fmt.Errorf("update: %w", err))
						continue
					}
					p, d := cur.Load(), time.Since(t0)
					p.writeMax.observe(d)
					p.writes.Add(1)
					p.writeLat = append(p.writeLat, d)
				}
			}()
			time.Sleep(baselineDuration(b))
			cur.Store(&during)

			srvBefore := serverCounters(b, db)
			b.StartTimer()
			t0 := time.Now()
			n, err := st.ClearExpired(context.Background())
			total := time.Since(t0)
			b.StopTimer()
			for name, v := range serverCounters(b, db) {
				b.ReportMetric(float64(v-srvBefore[name]), name)
			}
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
			b.ReportMetric(float64(n)/total.Seconds(), "rows/s")
			b.ReportMetric(float64(selects.Load()), "SELECTs")
			b.ReportMetric(selectMax.ms(), "max-SELECT-ms")
			slices.Sort(deletes)
			pct := func(p float64) float64 { return float64(deletes[int(p*float64(len(deletes)-1))]) / 1e6 }
			b.ReportMetric(float64(len(deletes)), "DELETEs")
			b.ReportMetric(pct(0.5), "p50-DELETE-ms")
			b.ReportMetric(pct(0.99), "p99-DELETE-ms")
			b.ReportMetric(pct(1), "max-DELETE-ms")
			b.ReportMetric(float64(during.reads.Load()), "reads")
			b.ReportMetric(during.readMax.ms(), "max-read-ms")
			b.ReportMetric(float64(during.writes.Load()), "writes")
			b.ReportMetric(during.writeMax.ms(), "max-write-ms")
			b.ReportMetric(base.readMax.ms(), "baseline-max-read-ms")
			b.ReportMetric(base.writeMax.ms(), "baseline-max-write-ms")
			b.ReportMetric(p99(during.readLat), "p99-read-ms")
			b.ReportMetric(p99(during.writeLat), "p99-write-ms")
			b.ReportMetric(p99(base.readLat), "baseline-p99-read-ms")
			b.ReportMetric(p99(base.writeLat), "baseline-p99-write-ms")
		})
	}
}

// serverCounters reads the server's I/O counters that explain latency
// outliers during a clear: on PostgreSQL the checkpoints and the buffers
// that backends had to write themselves (pg_stat_bgwriter); on MariaDB the
// pages InnoDB read from disk and flushed. BenchmarkClearExpired reports
// how much each grew during the clear.
func serverCounters(b *testing.B, db *gorm.DB) map[string]int64 {
	var q string
	switch db.Dialector.Name() {
	case "postgres":
		q = "SELECT 'srv-checkpoints', checkpoints_req + checkpoints_timed FROM pg_stat_bgwriter UNION ALL SELECT 'srv-backend-writes', buffers_backend FROM pg_stat_bgwriter"
	case "mysql":
		q = "SELECT CASE variable_name WHEN 'INNODB_DATA_READS' THEN 'srv-data-reads' ELSE 'srv-pages-flushed' END, variable_value FROM information_schema.global_status WHERE variable_name IN ('INNODB_DATA_READS', 'INNODB_BUFFER_POOL_PAGES_FLUSHED')"
	default:
		return nil
	}
	rows, err := db.Raw(q).Rows()
	if err != nil {
		b.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			b.Fatal(err)
		}
		out[name] = v
	}
	return out
}

// tableBytes is the space table takes with its indexes: PostgreSQL's
// pg_total_relation_size, InnoDB's data and index length (estimates from
// the statistics bulkFill refreshed), the size of the SQLite file (which
// holds nothing else).
func tableBytes(b *testing.B, db *gorm.DB, table string) int64 {
	var q string
	switch db.Dialector.Name() {
	case "postgres":
		q = "SELECT pg_total_relation_size('" + table + "')"
	case "mysql":
		q = "SELECT data_length + index_length FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '" + table + "'"
	default:
		q = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
	}
	var n int64
	if err := db.Raw(q).Row().Scan(&n); err != nil {
		b.Fatalf("%s: %v", q, err)
	}
	return n
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
				k := keys.key(r.IntN(keys.n))
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
