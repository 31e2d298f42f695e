package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/filestore"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runStdin(t, "", args...)
}

// runStdin runs the command with stdin as its standard input.
func runStdin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestClearSessionsAndStatsOnSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlitedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := gormstore.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		k, _ := core.NewKey()
		exp := time.Now().Add(time.Hour)
		if i%3 != 0 {
			exp = time.Now().Add(-time.Hour) // 20 expired, 10 live
		}
		data := `{"cart":[1,2,3]}`
		if i == 0 {
			data = `{"blob":"` + strings.Repeat("x", 5000) + `"}`
		}
		if err := st.Save(context.Background(), core.Record{Key: k, Data: []byte(data), Expiry: exp}, core.Create); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runCmd(t, "stats", "-dsn", path)
	if code != 0 || !strings.Contains(out, "live sessions     10") || !strings.Contains(out, "expired sessions  20") || !strings.Contains(out, "4 KiB - 16 KiB            1") {
		t.Fatalf("stats: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "clearsessions", "-dsn", path)
	if code != 0 || !strings.Contains(out, "deleted 20 expired sessions") {
		t.Fatalf("clearsessions: %d %s %s", code, out, errOut)
	}
	if s, _ := st.Stats(context.Background()); s.Expired != 0 || s.Live != 10 {
		t.Errorf("after clearsessions: %+v", s)
	}
}

func TestMemcachedStats(t *testing.T) {
	srv := memcachedtest.Start(t)
	code, out, errOut := runCmd(t, "stats", "-store", "memcached", "-servers", srv.Addr())
	if code != 0 || !strings.Contains(out, "items stored") {
		t.Fatalf("stats: %d %s %s", code, out, errOut)
	}
	code, out, _ = runCmd(t, "clearsessions", "-store", "memcached", "-servers", srv.Addr())
	if code != 0 || !strings.Contains(out, "nothing to clear") {
		t.Fatalf("clearsessions on memcached: %d %s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}, {"stats", "-store", "couchdb"}, {"stats", "extra"}, {"sessions"}, {"sessions", "-user", "a", "-limit", "0"}, {"show"}, {"show", "a", "b"}, {"show", "../../etc/passwd"}, {"show", "-codec", "pickle", "abcdefgh12"}, {"revoke"}, {"revoke", "-user", "a", "abcdefgh12"}, {"revoke", "not a key"}, {"show", "-timeout", "0s", "abcdefgh12"}, {"stats", "-store", "memcached", "-distribution", "consistent"}, {"stats", "-store", "redis", "-redis", ""}, {"stats", "-store", "redis", "-redis", "a:1,b:2", "-redis-db", "3"}, {"stats", "-store", "redis", "-prefix", "{tag}"}, {"clearsessions", "-limit", "3"}, {"clearsessions", "-batch", "0"}, {"stats"}, {"stats", "-driver", "oracle", "-dsn", "x"}, {"stats", "-bogus"}, {"stats", "-store", "file"}, {"clearsessions", "-store", "file"}} {
		if code, _, errOut := runCmd(t, args...); code != 2 || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}

func TestProgressLine(t *testing.T) {
	p := &progress{}
	if got, want := p.line(2_500_000, 10_000_000, 50*time.Second), "[#######                       ]  25% 2,500,000/10,000,000, 50,000/s, 50s elapsed, ~2m30s left"; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
	if got, want := p.line(7, -1, 2*time.Second), "deleted 7, 3/s, 2s elapsed"; got != want {
		t.Errorf("unknown total: %q, want %q", got, want)
	}
	if got, want := p.line(12, 10, time.Second), "[##############################] 100% 12/10, 12/s, 1s elapsed"; got != want {
		t.Errorf("past the estimate: %q, want %q", got, want)
	}
}

// TestProgressOutput: on a terminal the line is redrawn in place at most
// every 100 ms and wiped at the end; elsewhere a plain line comes every
// progressEvery.
func TestProgressOutput(t *testing.T) {
	var clock time.Time
	for _, tty := range []bool{true, false} {
		var out strings.Builder
		start := time.Unix(1e9, 0)
		p := &progress{w: &out, tty: tty, start: start, now: func() time.Time { return clock }, every: progressEvery, total: -1, last: start}
		p.setTotal(1000)
		for i := int64(1); i <= 100; i++ {
			clock = start.Add(time.Duration(i) * time.Second / 4) // 25 s in all
			p.update(10 * i)
		}
		p.done(1000)
		got := out.String()
		if tty {
			if n := strings.Count(got, "\r"); n != 101 || !strings.HasSuffix(got, "\r\033[K") || strings.Contains(got, "\n") {
				t.Errorf("terminal: %d redraws (want 100 and a wipe), output %q", n, got)
			}
		} else if lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "clearsessions: [") || strings.Contains(got, "\r") {
			t.Errorf("not a terminal: want 2 lines (10 s and 20 s), got %q", got)
		}
	}
}

func TestFileStore(t *testing.T) {
	t.Run("flat", func(t *testing.T) { testFileStore(t, 0) })
	t.Run("fanout", func(t *testing.T) { testFileStore(t, 2) })
}

func testFileStore(t *testing.T, fanOut int) {
	dir := t.TempDir()
	st, err := filestore.New(dir, filestore.WithFanOut(fanOut))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		k, _ := core.NewKey()
		exp := time.Now().Add(time.Hour)
		if i > 0 {
			exp = time.Now().Add(-time.Hour)
		}
		if err := st.Save(context.Background(), core.Record{Key: k, Data: []byte(`{"a":1}`), Expiry: exp}, core.Create); err != nil {
			t.Fatal(err)
		}
	}
	fan := fmt.Sprint(fanOut)
	code, out, errOut := runCmd(t, "stats", "-store", "file", "-dir", dir, "-fanout", fan)
	if code != 0 || !strings.Contains(out, "live sessions     1") || !strings.Contains(out, "expired sessions  3") {
		t.Fatalf("stats: %d %s %s", code, out, errOut)
	}
	code, out, _ = runCmd(t, "clearsessions", "-store", "file", "-dir", dir, "-fanout", fan)
	if code != 0 || !strings.Contains(out, "deleted 3 expired sessions") {
		t.Fatalf("clearsessions: %d %s", code, out)
	}
}

// TestFileStoreCorruptFiles: stats counts corrupt session files as expired
// and clearsessions deletes exactly what stats counted, corrupt files
// included; -max-file-bytes must match the application's bound.
func TestFileStoreCorruptFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const appBound = 4 << 20 // the application raised the bound
	app, err := filestore.New(dir, filestore.WithMaxFileBytes(appBound))
	if err != nil {
		t.Fatal(err)
	}
	save := func(data string, exp time.Time) string {
		t.Helper()
		k, _ := core.NewKey()
		if err := app.Save(ctx, core.Record{Key: k, Data: []byte(data), Expiry: exp}, core.Create); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, filestore.DefaultPrefix+k)
	}
	future, past := time.Now().Add(time.Hour), time.Now().Add(-time.Hour)
	save(`{"a":1}`, future)
	big := save(`{"blob":"`+strings.Repeat("x", 2<<20)+`"}`, future) // over the default bound
	save(`{"a":2}`, past)
	save(`{"a":3}`, past)
	// Corrupt: garbage, a flipped data byte, a truncated file, a huge one.
	if err := os.WriteFile(save(`{"a":4}`, future), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := save(`{"user":"alice"}`, future)
	b, _ := os.ReadFile(p)
	b[len(b)-3] ^= 0x20
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	p = save(`{"user":"bob"}`, future)
	if err := os.Truncate(p, 20); err != nil {
		t.Fatal(err)
	}
	p = save(`{"user":"carol"}`, future)
	if err := os.Truncate(p, 100<<20); err != nil { // a 100 MB file
		t.Fatal(err)
	}
	// Not session files: left alone and not counted.
	decoy := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(decoy, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	bound := fmt.Sprint(appBound)

	// With the default bound, the large live session would count as corrupt.
	code, out, errOut := runCmd(t, "stats", "-store", "file", "-dir", dir)
	if code != 0 || !strings.Contains(out, "live sessions     1\n") || !strings.Contains(out, "expired sessions  7 ") {
		t.Errorf("stats with the default bound: %d %s %s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "stats", "-store", "file", "-dir", dir, "-max-file-bytes", bound)
	if code != 0 || !strings.Contains(out, "live sessions     2\n") || !strings.Contains(out, "expired sessions  6 ") {
		t.Fatalf("stats: %d %s %s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "clearsessions", "-store", "file", "-dir", dir, "-max-file-bytes", bound)
	if code != 0 || !strings.Contains(out, "deleted 6 expired sessions") {
		t.Fatalf("clearsessions: %d %s %s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "stats", "-store", "file", "-dir", dir, "-max-file-bytes", bound)
	if code != 0 || !strings.Contains(out, "live sessions     2\n") || !strings.Contains(out, "expired sessions  0 ") {
		t.Errorf("stats after clearsessions: %d %s %s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "clearsessions", "-store", "file", "-dir", dir, "-max-file-bytes", bound)
	if code != 0 || !strings.Contains(out, "deleted 0 expired sessions") {
		t.Errorf("second clearsessions: %d %s %s", code, out, errOut)
	}
	for _, p := range []string{big, decoy} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}

// TestFileStoreDirRequired: the file store has no default directory (the OS
// temp dir is shared); a missing one is created private.
func TestFileStoreDirRequired(t *testing.T) {
	code, _, errOut := runCmd(t, "stats", "-store", "file")
	if code != 2 || !strings.Contains(errOut, "-dir is required") {
		t.Errorf("stats -store file without -dir: exit %d, %q", code, errOut)
	}
	dir := filepath.Join(t.TempDir(), "new")
	code, out, errOut := runCmd(t, "stats", "-store", "file", "-dir", dir)
	if code != 0 || !strings.Contains(out, "live sessions     0") {
		t.Errorf("stats on a new directory: %d %s %s", code, out, errOut)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("created directory: %v, %v; want mode 0700", fi, err)
	}
}

// TestStoreFlagNames lists the store flags. The example shop has the same
// ones (its TestStoreFlagsMatchCloakroomCommand runs this command's stats
// with -h and compares): rename one here and there together.
func TestStoreFlagNames(t *testing.T) {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs)
	var got []string
	fs.VisitAll(func(f *flag.Flag) { got = append(got, f.Name) })
	want := []string{"dir", "distribution", "driver", "dsn", "fanout", "max-file-bytes", "prefix",
		"redis", "redis-ca", "redis-cluster", "redis-db", "redis-master", "redis-tls", "redis-user", "servers", "store", "table"}
	if !slices.Equal(got, want) {
		t.Errorf("store flags %q, want %q", got, want)
	}
}
