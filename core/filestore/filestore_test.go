package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/filestore"
	"github.com/cloakroom/cloakroom/core/storetest"
)

func newStore(t *testing.T, dir string, opts ...filestore.Option) *filestore.Store {
	t.Helper()
	st, err := filestore.New(dir, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", dir, err)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store { return newStore(t, t.TempDir()) }, storetest.Options{})
}

// TestConformanceSharedDir runs the suite with every subtest's store in one
// directory, as several stores of one deployment would share it.
func TestConformanceSharedDir(t *testing.T) {
	dir := t.TempDir()
	storetest.Run(t, func(t *testing.T) core.Store { return newStore(t, dir) }, storetest.Options{})
}

func TestConformanceSync(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store { return newStore(t, t.TempDir(), filestore.WithSync(true)) }, storetest.Options{})
}

func TestNewErrors(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "plain")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(root, "ro")
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// Root writes through mode bits; /proc refuses new files even to root.
		readOnly = "/proc"
		if runtime.GOOS != "linux" {
			t.Log("running as root off Linux: the unwritable-directory case is not exercised")
			readOnly = ""
		}
	}
	cases := map[string]struct {
		dir  string
		opts []filestore.Option
	}{
		"empty":       {dir: ""},
		"not a dir":   {dir: file},
		"under file":  {dir: filepath.Join(file, "sub")},
		"max bytes":   {dir: root, opts: []filestore.Option{filestore.WithMaxFileBytes(128)}},
		"empty pfx":   {dir: root, opts: []filestore.Option{filestore.WithPrefix("")}},
		"dot pfx":     {dir: root, opts: []filestore.Option{filestore.WithPrefix(".hidden")}},
		"slash pfx":   {dir: root, opts: []filestore.Option{filestore.WithPrefix("a/b")}},
		"dotdot pfx":  {dir: root, opts: []filestore.Option{filestore.WithPrefix("../x")}},
		"nul pfx":     {dir: root, opts: []filestore.Option{filestore.WithPrefix("a\x00b")}},
		"long pfx":    {dir: root, opts: []filestore.Option{filestore.WithPrefix(strings.Repeat("p", 65))}},
		"nil clock":   {dir: root, opts: []filestore.Option{filestore.WithClock(nil)}},
		"temp maxage": {dir: root, opts: []filestore.Option{filestore.WithTempMaxAge(0)}},
	}
	if readOnly != "" {
		cases["not writable"] = struct {
			dir  string
			opts []filestore.Option
		}{dir: readOnly}
	}
	for name, c := range cases {
		st, err := filestore.New(c.dir, c.opts...)
		if !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("%s: New(%q) = %v, %v; want ErrInvalidConfig", name, c.dir, st, err)
		}
	}
	// The constructor's write probe leaves nothing behind.
	if ents, _ := os.ReadDir(root); len(ents) != 2 {
		t.Errorf("New left files in %s: %v", root, ents)
	}
}

// tree lists every path under root with its size and mode.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, p+" "+fi.Mode().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestPathTraversal(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, "a", "store")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	st := newStore(t, dir)
	valid, _ := core.NewKey()
	bad := append([]string(nil), storetest.BadKeys...)
	bad = append(bad,
		"../"+valid, "..%2f"+valid, valid+"/..", "/"+valid, valid+"\x00", "\x00"+valid,
		"../../a/store/x"+valid[:8], `..\..\`+valid, "./"+valid, valid+".", "."+valid,
		"sessionid"+valid[:31]+"/", valid[:20]+"\u2215"+valid[:8], valid[:20]+"\uff0e\uff0e"+valid[:8],
		strings.Repeat("../", 20)+"etc/passwd", valid+"\n", " "+valid, valid[:10]+"*", valid[:10]+"?",
	)
	before := tree(t, root)
	for _, key := range bad {
		if _, err := st.Load(ctx, key); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Load(%q) = %v, want ErrInvalidKey", key, err)
		}
		for _, mode := range []core.SaveMode{core.Create, core.Update} {
			err := st.Save(ctx, core.Record{Key: key, Data: []byte(`{"x":1}`), Expiry: time.Now().Add(time.Hour)}, mode)
			if !errors.Is(err, core.ErrInvalidKey) {
				t.Errorf("Save(%q, %s) = %v, want ErrInvalidKey", key, mode, err)
			}
		}
		if err := st.Delete(ctx, key); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	if after := tree(t, root); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("invalid keys changed the file system:\nbefore %v\nafter  %v", before, after)
	}
	// A valid key lands directly in the directory, mode 0600.
	if err := st.Save(ctx, core.Record{Key: valid, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dir, filestore.DefaultPrefix+valid))
	if err != nil {
		t.Fatalf("session file not where expected: %v", err)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm != 0o600 {
		t.Errorf("session file mode %v, want 0600", perm)
	}
}

// sessionFile saves one record and returns its path and content.
func sessionFile(t *testing.T, st *filestore.Store, data string, exp time.Time) (string, string, []byte) {
	t.Helper()
	key, _ := core.NewKey()
	if err := st.Save(context.Background(), core.Record{Key: key, Data: []byte(data), Expiry: exp}, core.Create); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(st.Dir(), filestore.DefaultPrefix+key)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return key, p, b
}

func TestCorruptFiles(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, t.TempDir())
	key, p, good := sessionFile(t, st, `{"user":"alice","admin":false}`, time.Now().Add(time.Hour))
	var bad [][]byte
	for i := range good { // every truncation
		bad = append(bad, good[:i])
	}
	for i := range good { // every single flipped bit pattern 0x01 and 0x80
		for _, m := range []byte{0x01, 0x80} {
			b := bytes.Clone(good)
			b[i] ^= m
			bad = append(bad, b)
		}
	}
	bad = append(bad, append(bytes.Clone(good), 'x'), []byte("garbage"), bytes.Repeat([]byte{0xff}, 300),
		[]byte("cloakroom-session-v1 99999999999.0 2 0\n{}"), []byte("cloakroom-session-v1 1.1 -1 0\n"),
		[]byte("cloakroom-session-v1 1.-5 2 0\n{}"), []byte("cloakroom-session-v1 1.1000000000 2 0\n{}"),
		[]byte("cloakroom-session-v1 99999999999999999999999.0 2 0\n{}"),
		append([]byte("cloakroom-session-v1 1.0 2 0"), bytes.Repeat([]byte{' '}, 200)...))
	for _, b := range bad {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		rec, err := st.Load(ctx, key)
		if !errors.Is(err, core.ErrTampered) {
			t.Errorf("Load of corrupt file %.80q = %.40q, %v; want ErrTampered", b, rec.Data, err)
		}
	}
	// A corrupt file is not a live session: Create replaces it, Update refuses it.
	if err := st.Save(ctx, core.Record{Key: key, Data: []byte(`{"u":1}`), Expiry: time.Now().Add(time.Hour)}, core.Update); !errors.Is(err, core.ErrSessionDeleted) {
		t.Errorf("Update over corrupt file = %v, want ErrSessionDeleted", err)
	}
	if err := st.Save(ctx, core.Record{Key: key, Data: []byte(`{"c":1}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Errorf("Create over corrupt file = %v, want nil", err)
	}
	if rec, err := st.Load(ctx, key); err != nil || string(rec.Data) != `{"c":1}` {
		t.Errorf("Load after Create over corrupt file = %q, %v", rec.Data, err)
	}
}

func TestSpecialFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := newStore(t, dir)
	// A symbolic link under a session name is never followed, even to a
	// valid session file.
	_, target, _ := sessionFile(t, st, `{"secret":1}`, time.Now().Add(time.Hour))
	link, _ := core.NewKey()
	if err := os.Symlink(target, filepath.Join(dir, filestore.DefaultPrefix+link)); err != nil {
		t.Skipf("LOUD SKIP: cannot create symlinks here: %v", err)
	}
	if rec, err := st.Load(ctx, link); !errors.Is(err, core.ErrTampered) {
		t.Errorf("Load(symlink) = %q, %v; want ErrTampered", rec.Data, err)
	}
	// A directory under a session name.
	sub, _ := core.NewKey()
	if err := os.Mkdir(filepath.Join(dir, filestore.DefaultPrefix+sub), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, sub); !errors.Is(err, core.ErrTampered) {
		t.Errorf("Load(directory) = %v; want ErrTampered", err)
	}
	if err := st.Save(ctx, core.Record{Key: sub, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err == nil {
		t.Error("Create over a directory succeeded")
	}
	assertNoTemp(t, dir)
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestExpiryForms(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 5, 1, 12, 0, 0, 123456789, time.UTC)
	clock := func() time.Time { return now }
	st := newStore(t, t.TempDir(), filestore.WithClock(clock))
	for _, age := range []time.Duration{time.Second, time.Hour, 14 * 24 * time.Hour, 10 * 365 * 24 * time.Hour} {
		key, _ := core.NewKey()
		exp := now.Add(age)
		if err := st.Save(ctx, core.Record{Key: key, Data: []byte(`{}`), Expiry: exp}, core.Create); err != nil {
			t.Fatal(err)
		}
		rec, err := st.Load(ctx, key)
		if err != nil || !rec.Expiry.Equal(exp) {
			t.Errorf("age %v: Load = %v, %v; want expiry %v exactly", age, rec.Expiry, err, exp)
		}
		now = exp // the instant of expiry is expired
		if _, err := st.Load(ctx, key); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("age %v: Load at expiry = %v, want ErrNotFound", age, err)
		}
		now = exp.Add(-time.Nanosecond)
		if _, err := st.Load(ctx, key); err != nil {
			t.Errorf("age %v: Load 1ns before expiry = %v", age, err)
		}
		now = time.Date(2030, 5, 1, 12, 0, 0, 123456789, time.UTC)
	}
}

func TestClearExpiredDecoys(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	dir := t.TempDir()
	outside := t.TempDir()
	st := newStore(t, dir)
	other := newStore(t, dir, filestore.WithPrefix("cachekey"))
	past, future := now.Add(-time.Hour), now.Add(time.Hour)

	var expired, live []string
	for i := 0; i < 5; i++ {
		k, _, _ := sessionFile(t, st, `{"dead":1}`, past)
		expired = append(expired, k)
		k, _, _ = sessionFile(t, st, `{"live":1}`, future)
		live = append(live, k)
	}
	// Decoys that must all survive, byte for byte.
	decoys := map[string][]byte{}
	plant := func(name string, content []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
		decoys[name] = content
	}
	otherKey, _ := core.NewKey()
	if err := other.Save(ctx, core.Record{Key: otherKey, Data: []byte(`{"other":1}`), Expiry: past}, core.Create); err != nil {
		t.Fatal(err)
	}
	decoys["cachekey"+otherKey], _ = os.ReadFile(filepath.Join(dir, "cachekey"+otherKey))
	_, _, expiredContent := sessionFile(t, newStore(t, outside), `{"x":1}`, past)
	k1, _ := core.NewKey()
	plant("sessionid"+strings.ToUpper(k1), expiredContent)            // invalid key
	plant("sessionidshort", expiredContent)                           // too short
	plant("sessionid"+k1+"x"+strings.Repeat("a", 40), expiredContent) // too long
	plant("xsessionid"+k1, expiredContent)                            // other prefix
	plant(".tmp-other-program-123", []byte("temp of someone else"))   // other temp
	plant("sessionid"+k1+".tmp", expiredContent)                      // suffix
	plant(".sessionid.tmpx-foo", []byte("not our temp pattern"))      // near miss
	sub, _ := core.NewKey()
	if err := os.Mkdir(filepath.Join(dir, "sessionid"+sub), 0o700); err != nil { // directory
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sessionid"+sub, "sessionid"+sub), expiredContent, 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(outside, "target")
	if err := os.WriteFile(target, expiredContent, 0o600); err != nil {
		t.Fatal(err)
	}
	link, _ := core.NewKey()
	if err := os.Symlink(target, filepath.Join(dir, "sessionid"+link)); err != nil { // symlink to an expired session
		t.Fatal(err)
	}
	// Our own temporary files: an old one goes, a fresh one stays.
	oldTmp := filepath.Join(dir, ".sessionid.tmp-111")
	freshTmp := filepath.Join(dir, ".sessionid.tmp-222")
	for _, p := range []string{oldTmp, freshTmp} {
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(oldTmp, now.Add(-2*time.Hour), now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}

	n, err := st.ClearExpired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(expired)) {
		t.Errorf("ClearExpired = %d, want %d", n, len(expired))
	}
	for _, k := range expired {
		if _, err := os.Lstat(filepath.Join(dir, "sessionid"+k)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("expired session %s not removed: %v", k, err)
		}
	}
	for _, k := range live {
		if _, err := st.Load(ctx, k); err != nil {
			t.Errorf("live session %s: %v", k, err)
		}
	}
	for name, content := range decoys {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, content) {
			t.Errorf("decoy %s damaged: %v", name, err)
		}
	}
	for _, p := range []string{filepath.Join(dir, "sessionid"+sub, "sessionid"+sub), filepath.Join(dir, "sessionid"+link), target, freshTmp} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	if _, err := os.Lstat(oldTmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("old temporary file kept: %v", err)
	}
	// The other store clears its own expired file.
	if n, err := other.ClearExpired(ctx); err != nil || n != 1 {
		t.Errorf("other.ClearExpired = %d, %v; want 1", n, err)
	}
}

func TestClearExpiredCancel(t *testing.T) {
	st := newStore(t, t.TempDir())
	sessionFile(t, st, `{}`, time.Now().Add(-time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.ClearExpired(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ClearExpired(cancelled) = %v, want context.Canceled", err)
	}
}

// TestClearExpiredRacesUpdate refreshes sessions while ClearExpired runs:
// a session whose Update succeeded must never be removed by a clear that
// read its old, expired content.
func TestClearExpiredRacesUpdate(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	st := newStore(t, t.TempDir(), filestore.WithClock(clock))
	for round := 0; round < 20; round++ {
		var keys []string
		for i := 0; i < 10; i++ {
			k, _ := core.NewKey()
			if err := st.Save(ctx, core.Record{Key: k, Data: []byte(`{}`), Expiry: clock().Add(time.Second)}, core.Create); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		var wg sync.WaitGroup
		updated := make([]bool, len(keys))
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i, k := range keys {
				// The store's clock says the record is live at this instant;
				// the far expiry makes the new content live for good.
				err := st.Save(ctx, core.Record{Key: k, Data: []byte(`{"u":1}`), Expiry: clock().Add(time.Hour)}, core.Update)
				updated[i] = err == nil
			}
		}()
		go func() {
			defer wg.Done()
			mu.Lock()
			now = now.Add(2 * time.Second) // the original records expire now
			mu.Unlock()
			if _, err := st.ClearExpired(ctx); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
		for i, k := range keys {
			_, err := st.Load(ctx, k)
			if updated[i] && err != nil {
				t.Fatalf("round %d: session %s updated successfully, then lost: %v", round, k, err)
			}
		}
	}
}

// TestUpdateDeleteRace: once Delete has returned, the session stays deleted:
// no Update racing it may resurrect it.
func TestUpdateDeleteRace(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, t.TempDir())
	for round := 0; round < 30; round++ {
		key, _, _ := sessionFile(t, st, `{"n":0}`, time.Now().Add(time.Hour))
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					err := st.Save(ctx, core.Record{Key: key, Data: []byte(`{"n":1}`), Expiry: time.Now().Add(time.Hour)}, core.Update)
					if errors.Is(err, core.ErrSessionDeleted) {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		time.Sleep(time.Millisecond)
		if err := st.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if rec, err := st.Load(ctx, key); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("round %d: deleted session resurrected by a racing Update: %q, %v", round, rec.Data, err)
		}
	}
	assertNoTemp(t, st.Dir())
}
