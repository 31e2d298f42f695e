package filestore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/filestore"
)

// TestScale measures the store with CLOAKROOM_SCALE_FILES session files
// (skipped when unset), flat and with a fan-out of two levels, in a
// directory under CLOAKROOM_SCALE_DIR (default: the test's temporary
// directory; CLOAKROOM_SCALE_FANOUT=0 or 2 runs one layout only): creating them (half expired), loading random live ones,
// Stats, and ClearExpired of the expired half. It logs the time of each and
// the disk used per session. At 1,000,000 it needs about 10 GB free and a
// few minutes.
//
//	CLOAKROOM_SCALE_FILES=1000000 go test ./core/filestore -run TestScale -v -timeout 60m
func TestScale(t *testing.T) {
	v := os.Getenv("CLOAKROOM_SCALE_FILES")
	if v == "" {
		t.Skip("set CLOAKROOM_SCALE_FILES (e.g. 1000000) to measure the file store at scale")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1000 {
		t.Fatalf("CLOAKROOM_SCALE_FILES=%q: want a number of files, at least 1000", v)
	}
	layouts := []int{0, 2}
	if v := os.Getenv("CLOAKROOM_SCALE_FANOUT"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("CLOAKROOM_SCALE_FANOUT=%q: want a number of levels", v)
		}
		layouts = []int{l}
	}
	for _, levels := range layouts {
		t.Run(fmt.Sprintf("fanout=%d", levels), func(t *testing.T) {
			parent := os.Getenv("CLOAKROOM_SCALE_DIR")
			if parent == "" {
				parent = t.TempDir()
			}
			dir, err := os.MkdirTemp(parent, "scale-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				start := time.Now()
				if err := os.RemoveAll(dir); err != nil {
					t.Error(err)
				}
				t.Logf("removing the directory: %v", time.Since(start).Round(time.Millisecond))
			})
			scaleRun(t, dir, n, levels)
		})
	}
}

// scaleKey is the i-th of a series of distinct valid keys whose first two
// characters spread evenly over [0-9a-z], as random keys' do (so that a
// fan-out fills all its subdirectories).
func scaleKey(i int) string {
	const chars = "0123456789abcdefghijklmnopqrstuvwxyz"
	h := uint64(i) * 0x9e3779b97f4a7c15
	return fmt.Sprintf("%c%c%030d", chars[h>>32%36], chars[h>>40%36], i)
}

func scaleRun(t *testing.T, dir string, n, levels int) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	st := newStore(t, dir, filestore.WithFanOut(levels), filestore.WithClock(clock))
	data := []byte(`{"_auth_user_id":"12345","_auth_user_backend":"django.contrib.auth.backends.ModelBackend","cart":[1,2,3],"n":0}`)

	start := time.Now()
	var worst time.Duration
	for i := 0; i < n; i++ {
		exp := now.Add(2 * time.Hour)
		if i%2 == 1 {
			exp = now.Add(time.Minute)
		}
		t0 := time.Now()
		if err := st.Save(ctx, core.Record{Key: scaleKey(i), Data: data, Expiry: exp}, core.Create); err != nil {
			t.Fatal(err)
		}
		worst = max(worst, time.Since(t0))
	}
	d := time.Since(start)
	t.Logf("create %d: %v (%.1f µs each, worst %v)", n, d.Round(time.Millisecond), float64(d.Microseconds())/float64(n), worst.Round(time.Microsecond))
	var used int64
	if out, err := diskUsage(dir); err == nil {
		used = out
		t.Logf("disk used: %.0f MiB, %.0f bytes per session", float64(used)/(1<<20), float64(used)/float64(n))
	}

	r := rand.New(rand.NewPCG(1, 2))
	const loads = 100_000
	worst = 0
	start = time.Now()
	for i := 0; i < loads; i++ {
		t0 := time.Now()
		if _, err := st.Load(ctx, scaleKey(2*r.IntN(n/2))); err != nil {
			t.Fatal(err)
		}
		worst = max(worst, time.Since(t0))
	}
	d = time.Since(start)
	t.Logf("load %d random live: %.1f µs each (worst %v)", loads, float64(d.Microseconds())/loads, worst.Round(time.Microsecond))

	start = time.Now()
	stats, err := st.Stats(ctx)
	if err != nil || stats.Live != int64(n) {
		t.Fatalf("Stats = %+v, %v", stats, err)
	}
	t.Logf("Stats: %v", time.Since(start).Round(time.Millisecond))

	now = now.Add(10 * time.Minute)
	start = time.Now()
	cleared, err := st.ClearExpired(ctx)
	d = time.Since(start)
	if err != nil || cleared != int64(n/2) {
		t.Fatalf("ClearExpired = %d, %v; want %d", cleared, err, n/2)
	}
	t.Logf("ClearExpired of %d of %d: %v (%.0f files/s)", cleared, n, d.Round(time.Millisecond), float64(cleared)/d.Seconds())
}
