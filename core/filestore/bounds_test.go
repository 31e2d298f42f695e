package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/filestore"
)

// TestNewDirectory: there is no default directory; a missing one is created
// private; one that other users can write to is refused unless it is sticky
// and ours.
func TestNewDirectory(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("LOUD SKIP: permission bits are synthesized on " + runtime.GOOS)
	}
	if _, err := filestore.New(""); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf(`New("") = %v, want ErrInvalidConfig (no default directory)`, err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "sessions")
	st := newStore(t, dir)
	for _, d := range []string{filepath.Join(root, "a"), filepath.Join(root, "a", "b"), dir} {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("created %s: %v, %v; want mode 0700", d, fi.Mode(), err)
		}
	}
	if st.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", st.Dir(), dir)
	}
	for i, c := range []struct {
		mode fs.FileMode
		ok   bool
	}{
		{0o700, true}, {0o755, true}, {0o750, true},
		{0o770, false}, {0o777, false}, {0o702, false}, {0o720, false}, {0o733, false},
		{0o777 | fs.ModeSticky, true}, {0o770 | fs.ModeSticky, true}, // sticky and ours
	} {
		d := filepath.Join(root, "mode"+strconv.Itoa(i))
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, c.mode); err != nil {
			t.Fatal(err)
		}
		_, err := filestore.New(d)
		switch {
		case c.ok && err != nil:
			t.Errorf("New(dir of mode %v) = %v, want nil", c.mode, err)
		case !c.ok && !errors.Is(err, core.ErrInvalidConfig):
			t.Errorf("New(dir of mode %v) = %v, want ErrInvalidConfig", c.mode, err)
		case !c.ok && !strings.Contains(err.Error(), "writable by other users"):
			t.Errorf("New(dir of mode %v): unclear message %q", c.mode, err)
		}
	}
	// A sticky directory of another user, as /tmp is, is refused.
	if os.Geteuid() == 0 {
		d := filepath.Join(root, "othersticky")
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777|fs.ModeSticky); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := filestore.New(d); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("New(sticky directory of another user) = %v, want ErrInvalidConfig", err)
		}
	} else if fi, err := os.Stat(os.TempDir()); err == nil && fi.Mode().Perm()&0o002 != 0 {
		if _, err := filestore.New(os.TempDir()); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("New(%s) = %v, want ErrInvalidConfig", os.TempDir(), err)
		}
	}
}

// TestMaxFileBytes: Save refuses a record over the bound with ErrTooLarge
// and writes nothing; Load refuses a file over the bound as tampered.
func TestMaxFileBytes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const bound = 4096
	st := newStore(t, dir, filestore.WithMaxFileBytes(bound))
	if st.MaxFileBytes() != bound {
		t.Errorf("MaxFileBytes() = %d", st.MaxFileBytes())
	}
	exp := time.Now().Add(time.Hour)
	key, _ := core.NewKey()
	fits := bytes.Repeat([]byte{'a'}, bound-129) // the header takes at most 129 bytes
	if err := st.Save(ctx, core.Record{Key: key, Data: fits, Expiry: exp}, core.Create); err != nil {
		t.Fatalf("Save of a record that fits: %v", err)
	}
	before := tree(t, dir)
	for _, n := range []int{bound - 40, bound, bound + 1, 10 << 20} {
		big := bytes.Repeat([]byte{'b'}, n)
		other, _ := core.NewKey()
		if err := st.Save(ctx, core.Record{Key: other, Data: big, Expiry: exp}, core.Create); !errors.Is(err, core.ErrTooLarge) {
			t.Errorf("Create of %d bytes = %v, want ErrTooLarge", n, err)
		}
		if err := st.Save(ctx, core.Record{Key: key, Data: big, Expiry: exp}, core.Update); !errors.Is(err, core.ErrTooLarge) {
			t.Errorf("Update of %d bytes = %v, want ErrTooLarge", n, err)
		}
	}
	if after := tree(t, dir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("refused saves changed the directory:\nbefore %v\nafter  %v", before, after)
	}
	if rec, err := st.Load(ctx, key); err != nil || !bytes.Equal(rec.Data, fits) {
		t.Errorf("Load after refused updates = %d bytes, %v", len(rec.Data), err)
	}

	// A valid file over this store's bound, saved by a store with a larger
	// one, is corrupt to this store.
	large := newStore(t, dir, filestore.WithMaxFileBytes(1<<20))
	bigKey, _ := core.NewKey()
	bigData := bytes.Repeat([]byte{'c'}, 8<<10)
	if err := large.Save(ctx, core.Record{Key: bigKey, Data: bigData, Expiry: exp}, core.Create); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, bigKey); !errors.Is(err, core.ErrTampered) {
		t.Errorf("Load of a file over the bound = %v, want ErrTampered", err)
	}
	if rec, err := large.Load(ctx, bigKey); err != nil || !bytes.Equal(rec.Data, bigData) {
		t.Errorf("Load by the store with the larger bound = %d bytes, %v", len(rec.Data), err)
	}
	if err := st.Save(ctx, core.Record{Key: bigKey, Data: []byte(`{}`), Expiry: exp}, core.Update); !errors.Is(err, core.ErrSessionDeleted) {
		t.Errorf("Update over a file over the bound = %v, want ErrSessionDeleted (it is corrupt)", err)
	}
}

// TestDefaultMaxFileBytes: the default holds 1 MiB of data and no more.
func TestDefaultMaxFileBytes(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, t.TempDir())
	if st.MaxFileBytes() != filestore.DefaultMaxFileBytes || filestore.DefaultMaxFileBytes != 1<<20+129 {
		t.Errorf("MaxFileBytes() = %d, DefaultMaxFileBytes = %d", st.MaxFileBytes(), filestore.DefaultMaxFileBytes)
	}
	key, _ := core.NewKey()
	mib := bytes.Repeat([]byte{'m'}, 1<<20)
	if err := st.Save(ctx, core.Record{Key: key, Data: mib, Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatalf("Save of 1 MiB: %v", err)
	}
	if rec, err := st.Load(ctx, key); err != nil || len(rec.Data) != 1<<20 {
		t.Errorf("Load of 1 MiB = %d bytes, %v", len(rec.Data), err)
	}
	over := bytes.Repeat([]byte{'m'}, filestore.DefaultMaxFileBytes-40)
	if err := st.Save(ctx, core.Record{Key: key, Data: over, Expiry: time.Now().Add(time.Hour)}, core.Update); !errors.Is(err, core.ErrTooLarge) {
		t.Errorf("Save of %d bytes = %v, want ErrTooLarge", len(over), err)
	}
}

// plantSparse writes, under key's name, a file of size bytes whose header
// is valid and live and whose data is a hole.
func plantSparse(t *testing.T, dir, key string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, filestore.DefaultPrefix+key)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := fmt.Sprintf("cloakroom-session-v1 %d.0 %d 0\n", time.Now().Add(time.Hour).Unix(), size)
	if _, err := f.WriteString(head); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size + int64(len(head))); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadOversizedReadsNothing: a 200 MB corrupt file is refused without
// being read: Load allocates far less than the file's size.
func TestLoadOversizedReadsNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := newStore(t, dir)
	key, _ := core.NewKey()
	plantSparse(t, dir, key, 200<<20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := st.Load(ctx, key)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, core.ErrTampered) {
		t.Errorf("Load of a 200 MB file = %v, want ErrTampered", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("Load of a 200 MB file allocated %d bytes: it read the file", alloc)
	}
	runtime.ReadMemStats(&before)
	s, err := st.Stats(ctx)
	runtime.ReadMemStats(&after)
	if err != nil || s.Expired != 1 || s.Live != 0 {
		t.Errorf("Stats = %+v, %v; want the file counted as expired (corrupt)", s, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("Stats allocated %d bytes: it read the file", alloc)
	}
}

// TestClearExpiredCorrupt: ClearExpired removes and counts corrupt session
// files as well as expired ones, and Stats counted exactly those as expired.
func TestClearExpiredCorrupt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := newStore(t, dir, filestore.WithMaxFileBytes(64<<10))
	future, past := time.Now().Add(time.Hour), time.Now().Add(-time.Hour)
	var live []string
	for _, data := range []string{`{"a":1}`, `{"b":"` + strings.Repeat("x", 10<<10) + `"}`} {
		k, _, _ := sessionFile(t, st, data, future)
		live = append(live, k)
	}
	var gone []string // expired and corrupt
	for i := 0; i < 2; i++ {
		k, _, _ := sessionFile(t, st, `{"dead":1}`, past)
		gone = append(gone, k)
	}
	corrupt := func(name string, mutate func(p string, b []byte) []byte) {
		t.Helper()
		k, p, b := sessionFile(t, st, `{"user":"alice"}`, future)
		if err := os.WriteFile(p, mutate(p, b), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Load(ctx, k); !errors.Is(err, core.ErrTampered) {
			t.Fatalf("%s: Load = %v, want ErrTampered", name, err)
		}
		gone = append(gone, k)
	}
	corrupt("garbage", func(string, []byte) []byte { return []byte("garbage") })
	corrupt("empty", func(string, []byte) []byte { return nil })
	corrupt("truncated", func(_ string, b []byte) []byte { return b[:len(b)-3] })
	corrupt("header only half", func(_ string, b []byte) []byte { return b[:10] })
	corrupt("checksum", func(_ string, b []byte) []byte { b[len(b)-2] ^= 1; return b })
	corrupt("extra byte", func(_ string, b []byte) []byte { return append(b, 'x') })
	// Over the bound: a complete file written with a larger bound, and a
	// 200 MB sparse one.
	bigKey, _ := core.NewKey()
	if err := newStore(t, dir, filestore.WithMaxFileBytes(1<<20)).Save(ctx, core.Record{Key: bigKey, Data: bytes.Repeat([]byte{'z'}, 100<<10), Expiry: future}, core.Create); err != nil {
		t.Fatal(err)
	}
	gone = append(gone, bigKey)
	sparseKey, _ := core.NewKey()
	plantSparse(t, dir, sparseKey, 200<<20)
	gone = append(gone, sparseKey)
	// Kept: a corrupt file of another user, a symbolic link to garbage.
	var kept []string
	if os.Geteuid() == 0 {
		k, _ := core.NewKey()
		p := filepath.Join(dir, filestore.DefaultPrefix+k)
		if err := os.WriteFile(p, []byte("garbage of another user"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, p)
	}
	k, _ := core.NewKey()
	garbage := filepath.Join(t.TempDir(), "garbage")
	if err := os.WriteFile(garbage, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(garbage, filepath.Join(dir, filestore.DefaultPrefix+k)); err == nil {
		kept = append(kept, filepath.Join(dir, filestore.DefaultPrefix+k), garbage)
	}

	s, err := st.Stats(ctx)
	if err != nil || s.Live != int64(len(live)) || s.Expired != int64(len(gone)) {
		t.Errorf("Stats = %+v, %v; want %d live, %d expired", s, err, len(live), len(gone))
	}
	n, err := st.ClearExpired(ctx)
	if err != nil || n != int64(len(gone)) {
		t.Errorf("ClearExpired = %d, %v; want %d (2 expired, %d corrupt)", n, err, len(gone), len(gone)-2)
	}
	for _, k := range gone {
		if _, err := os.Lstat(filepath.Join(dir, filestore.DefaultPrefix+k)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s not removed: %v", k, err)
		}
	}
	for _, k := range live {
		if _, err := st.Load(ctx, k); err != nil {
			t.Errorf("live session %s: %v", k, err)
		}
	}
	for _, p := range kept {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	if s, err := st.Stats(ctx); err != nil || s.Live != int64(len(live)) || s.Expired != 0 {
		t.Errorf("Stats after ClearExpired = %+v, %v", s, err)
	}
	if n, err := st.ClearExpired(ctx); err != nil || n != 0 {
		t.Errorf("second ClearExpired = %d, %v; want 0", n, err)
	}
}

// TestLockWaitBoundedByContext: while another store on the same directory
// holds the lock, every operation that needs it gives up when its context
// ends, with an error wrapping the context's, and changes nothing.
func TestLockWaitBoundedByContext(t *testing.T) {
	dir := t.TempDir()
	st := newStore(t, dir)
	liveKey, _, liveBefore := sessionFile(t, st, `{"n":0}`, time.Now().Add(time.Hour))
	deadKey, _, _ := sessionFile(t, st, `{"dead":1}`, time.Now().Add(-time.Hour))
	newKey, _ := core.NewKey()
	save := func(key string, mode core.SaveMode) func(context.Context) error {
		return func(ctx context.Context) error {
			return st.Save(ctx, core.Record{Key: key, Data: []byte(`{"n":1}`), Expiry: time.Now().Add(time.Hour)}, mode)
		}
	}
	ops := []struct {
		name string
		op   func(context.Context) error
	}{
		{"Update", save(liveKey, core.Update)},
		{"Create over expired", save(deadKey, core.Create)},
		{"Create", save(newKey, core.Create)},
		{"Delete", func(ctx context.Context) error { return st.Delete(ctx, liveKey) }},
		{"ClearExpired", func(ctx context.Context) error { _, err := st.ClearExpired(ctx); return err }},
	}
	unlock, err := filestore.HoldLock(newStore(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			unlock()
		}
	}
	defer release()
	before := tree(t, dir)
	for _, o := range ops {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- o.op(ctx) }()
		select {
		case err := <-done:
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("%s took %v", o.name, took)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s with the lock held = %v, want DeadlineExceeded", o.name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still waiting for the lock 10s after its 50ms context ended", o.name)
		}
		cancel()
	}
	if after := tree(t, dir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("operations that timed out changed the directory:\nbefore %v\nafter  %v", before, after)
	}
	if b, err := os.ReadFile(filepath.Join(dir, filestore.DefaultPrefix+liveKey)); err != nil || !bytes.Equal(b, liveBefore) {
		t.Errorf("timed-out Update or Delete changed the session: %q, %v", b, err)
	}

	// A context that can never end waits as long as it takes.
	done := make(chan error, 1)
	go func() { done <- save(liveKey, core.Update)(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Update without a deadline returned %v while the lock was held", err)
	case <-time.After(100 * time.Millisecond):
	}
	release()
	if err := <-done; err != nil {
		t.Errorf("Update once the lock was released: %v", err)
	}
	// With the lock free, a short context is plenty.
	for _, o := range ops {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := o.op(ctx); err != nil {
			t.Errorf("%s with the lock free: %v", o.name, err)
		}
		cancel()
	}
}

// TestPing: Ping answers nil for a usable directory and an error once it is
// gone, replaced, opened to others or unwritable.
func TestPing(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "sessions")
	st := newStore(t, dir)
	if !core.Supports(st, core.CapPing) || !core.Supports(st, core.CapClearExpired) {
		t.Errorf("core.Supports: Pinger %v, ExpiredClearer %v; want both", core.Supports(st, core.CapPing), core.Supports(st, core.CapClearExpired))
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	before := tree(t, dir)
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if after := tree(t, dir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("Ping changed the directory: %v -> %v", before, after)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := st.Ping(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Ping(cancelled) = %v, want context.Canceled", err)
	}
	check := func(what string, wantOK bool) {
		t.Helper()
		if err := st.Ping(ctx); (err == nil) != wantOK {
			t.Errorf("Ping with the directory %s = %v", what, err)
		}
	}
	if err := os.Rename(dir, dir+".away"); err != nil {
		t.Fatal(err)
	}
	check("gone", false)
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	check("replaced by a file", false)
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir+".away", dir); err != nil {
		t.Fatal(err)
	}
	check("back", true)
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		return
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	check("world-writable", false)
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		t.Log("running as root, who writes through mode bits: the read-only directory case is not exercised")
	} else {
		check("read-only", false)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	check("private again", true)
}
