package memstore_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// scaleSessions is the number of sessions TestScale holds: the value of
// CLOAKROOM_SCALE_SESSIONS; the test is skipped when it is unset (it takes
// about half a minute and a gigabyte of memory at 1,000,000).
func scaleSessions(t *testing.T) int {
	v := os.Getenv("CLOAKROOM_SCALE_SESSIONS")
	if v == "" {
		t.Skip("set CLOAKROOM_SCALE_SESSIONS (e.g. 1000000) to measure memstore at scale")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1000 {
		t.Fatalf("CLOAKROOM_SCALE_SESSIONS=%q: want a number of sessions, at least 1000", v)
	}
	return n
}

// scaleKey is the i-th of a series of distinct 32-character keys, the
// length of core.NewKey's.
func scaleKey(i int) string { return fmt.Sprintf("%032d", i) }

// scaleData is a typical small session: ~120 bytes of JSON, as in
// gormstore's clear benchmark.
func scaleData(i int) []byte {
	return []byte(`{"_auth_user_id":"12345","_auth_user_backend":"django.contrib.auth.backends.ModelBackend","cart":[1,2,3],"n":` + strconv.Itoa(i) + "}")
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// worstLatency runs Loads of live keys in a loop until stop is closed and
// returns the longest one and how many ran.
func worstLatency(st *memstore.Store, live func(i int) string, n int, stop <-chan struct{}) (time.Duration, int) {
	var worst time.Duration
	ctx := context.Background()
	count := 0
	for i := 0; ; i++ {
		select {
		case <-stop:
			return worst, count
		default:
		}
		t0 := time.Now()
		if _, err := st.Load(ctx, live(i%n)); err != nil {
			panic(err)
		}
		worst = max(worst, time.Since(t0))
		count++
	}
}

// TestScale measures memstore holding CLOAKROOM_SCALE_SESSIONS sessions
// (half of them about to expire) and logs: the Go heap per session, the
// time of a full garbage collection and its stop-the-world pauses with that
// live heap, the worst pause while requests run, the cost of clearing the
// expired half and the worst Load latency meanwhile, and the cost of a
// Create that must evict when the store is full.
//
//	CLOAKROOM_SCALE_SESSIONS=1000000 go test ./core/memstore -run TestScale -v
func TestScale(t *testing.T) {
	n := scaleSessions(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	st := memstore.New(n, memstore.WithMaxBytes(1<<40), memstore.WithClock(clock))
	ctx := context.Background()
	live := func(i int) string { return scaleKey(2 * i) } // even keys live for hours

	before := heapInUse()
	t0 := time.Now()
	var dataBytes int64
	for i := 0; i < n; i++ {
		exp := now.Add(2 * time.Hour)
		if i%2 == 1 {
			exp = now.Add(time.Minute)
		}
		d := scaleData(i)
		dataBytes += int64(len(d))
		if err := st.Save(ctx, core.Record{Key: scaleKey(i), Data: d, Expiry: exp}, core.Create); err != nil {
			t.Fatal(err)
		}
	}
	fill := time.Since(t0)
	after := heapInUse()
	perSession := float64(after-before) / float64(n)
	t.Logf("sessions: %d, filled in %v (%.0f ns each)", n, fill.Round(time.Millisecond), float64(fill.Nanoseconds())/float64(n))
	t.Logf("Go heap: %.0f MiB, %.0f bytes per session (key 32 + data %.0f on average + bookkeeping); Store.Bytes counts %.0f",
		float64(after-before)/(1<<20), perSession, float64(dataBytes)/float64(n), float64(st.Bytes())/float64(n))

	// A full collection with this live heap, and its stop-the-world pauses.
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gcBefore := ms.NumGC
	t0 = time.Now()
	runtime.GC()
	full := time.Since(t0)
	runtime.ReadMemStats(&ms)
	t.Logf("runtime.GC with the live heap: %v (concurrent mark included); STW pauses of that cycle: %v",
		full.Round(time.Microsecond), pauses(&ms, gcBefore))

	// Requests while the collector works: 2 s of Updates with a Load loop
	// alongside, and a collection forced every half second on top of those
	// the allocations start; the worst pause and the worst Load.
	var stats debug.GCStats
	debug.ReadGCStats(&stats)
	gcStart := stats.NumGC
	stop := make(chan struct{})
	var worstLoad atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w, _ := worstLatency(st, live, n/2, stop)
		worstLoad.Store(int64(w))
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 4 {
			time.Sleep(500 * time.Millisecond)
			runtime.GC()
		}
	}()
	deadline := time.Now().Add(2 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		k := live(i % (n / 2))
		if err := st.Save(ctx, core.Record{Key: k, Data: scaleData(i), Expiry: now.Add(2 * time.Hour)}, core.Update); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	debug.ReadGCStats(&stats)
	cycles := stats.NumGC - gcStart
	worstPause := time.Duration(0)
	for _, p := range stats.Pause[:min(int(cycles), len(stats.Pause))] {
		worstPause = max(worstPause, p)
	}
	t.Logf("2 s of Updates with a Load loop alongside and a GC forced every 0.5 s: %d GC cycles, worst STW pause %v, worst Load %v",
		cycles, worstPause, time.Duration(worstLoad.Load()))

	// Clear the expired half with Loads running alongside.
	mu.Lock()
	now = now.Add(10 * time.Minute)
	mu.Unlock()
	stop = make(chan struct{})
	wg.Add(1)
	var loads int
	go func() {
		defer wg.Done()
		w, c := worstLatency(st, live, n/2, stop)
		worstLoad.Store(int64(w))
		loads = c
	}()
	time.Sleep(10 * time.Millisecond)
	t0 = time.Now()
	cleared, err := st.ClearExpired(ctx)
	clear := time.Since(t0)
	close(stop)
	wg.Wait()
	if err != nil || cleared != int64(n/2) {
		t.Fatalf("ClearExpired = %d, %v; want %d", cleared, err, n/2)
	}
	t.Logf("ClearExpired of %d expired sessions: %v (%.0f ns each, %.2f M/s); worst concurrent Load %v over %d loads",
		cleared, clear.Round(time.Millisecond), float64(clear.Nanoseconds())/float64(cleared),
		float64(cleared)/clear.Seconds()/1e6, time.Duration(worstLoad.Load()), loads)

	// Full again, every Create evicts the session closest to expiry.
	for i := n; st.Len() < n; i++ {
		if err := st.Save(ctx, core.Record{Key: scaleKey(i), Data: scaleData(i), Expiry: now.Add(time.Hour + time.Duration(i))}, core.Create); err != nil {
			t.Fatal(err)
		}
	}
	const evictions = 100_000
	t0 = time.Now()
	for i := 0; i < evictions; i++ {
		k := scaleKey(2*n + i)
		if err := st.Save(ctx, core.Record{Key: k, Data: scaleData(i), Expiry: now.Add(3 * time.Hour)}, core.Create); err != nil {
			t.Fatal(err)
		}
	}
	ev := time.Since(t0)
	if st.Len() != n {
		t.Fatalf("Len = %d after evicting Creates, want %d", st.Len(), n)
	}
	t.Logf("Create into a full store (evicts one): %.0f ns each over %d", float64(ev.Nanoseconds())/evictions, evictions)
}

// pauses returns the stop-the-world pauses of the GC cycles after cycle
// since, as recorded in ms.
func pauses(ms *runtime.MemStats, since uint32) []time.Duration {
	var out []time.Duration
	for c := int(since) + 1; c <= int(ms.NumGC); c++ {
		if c > int(ms.NumGC)-len(ms.PauseNs) {
			out = append(out, time.Duration(ms.PauseNs[(c+255)%256]))
		}
	}
	slices.Sort(out)
	return out
}

// TestClearExpiredInChunks: a clear releases the lock between chunks and
// stops between two when its context is done.
func TestClearExpiredInChunks(t *testing.T) {
	now := time.Now()
	st := memstore.New(0, memstore.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	const n = 2500
	for i := 0; i < n; i++ {
		if err := st.Save(ctx, core.Record{Key: scaleKey(i), Data: []byte("{}"), Expiry: now.Add(-time.Second)}, core.Create); err != nil {
			t.Fatal(err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	got, err := st.ClearExpired(cancelled)
	if got <= 0 || got >= n || err == nil {
		t.Fatalf("cancelled ClearExpired = %d, %v; want part of %d and the context's error", got, err, n)
	}
	checkErr(t, "cancelled clear", err, context.Canceled)
	rest, err := st.ClearExpired(ctx)
	if err != nil || got+rest != n || st.Len() != 0 {
		t.Fatalf("second ClearExpired = %d, %v (first %d, left %d); want the rest of %d", rest, err, got, st.Len(), n)
	}
}
