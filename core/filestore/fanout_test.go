package filestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/filestore"
	"github.com/cloakroom/cloakroom/core/storetest"
)

func TestConformanceFanOut(t *testing.T) {
	for _, levels := range []int{1, 2} {
		t.Run(strings.Repeat("level", levels), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) core.Store {
				return newStore(t, t.TempDir(), filestore.WithFanOut(levels))
			}, storetest.Options{})
		})
	}
}

func TestConformanceFanOutSharedDirSync(t *testing.T) {
	dir := t.TempDir()
	storetest.Run(t, func(t *testing.T) core.Store {
		return newStore(t, dir, filestore.WithFanOut(2), filestore.WithSync(true))
	}, storetest.Options{})
}

func TestFanOutOption(t *testing.T) {
	for _, levels := range []int{-1, filestore.MaxFanOut + 1} {
		if _, err := filestore.New(t.TempDir(), filestore.WithFanOut(levels)); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("WithFanOut(%d): New = %v, want ErrInvalidConfig", levels, err)
		}
	}
}

// TestFanOutLayout: a session lands in dir/<k0>/<k1>/prefix+key, the
// subdirectories are private, invalid keys touch nothing, and Stats and
// ClearExpired walk the subdirectories, ignoring what is not theirs.
func TestFanOutLayout(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, "store")
	now := time.Now()
	st := newStore(t, dir, filestore.WithFanOut(2), filestore.WithClock(func() time.Time { return now }))

	before := tree(t, root)
	for _, key := range append(append([]string(nil), storetest.BadKeys...), "../x"+strings.Repeat("a", 32), "a/b"+strings.Repeat("c", 30)) {
		if err := st.Save(ctx, core.Record{Key: key, Data: []byte(`{}`), Expiry: now.Add(time.Hour)}, core.Create); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Save(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	if after := tree(t, root); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("invalid keys changed the file system:\nbefore %v\nafter  %v", before, after)
	}

	save := func(exp time.Time) string {
		t.Helper()
		key, err := core.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Save(ctx, core.Record{Key: key, Data: []byte(`{"a":1}`), Expiry: exp}, core.Create); err != nil {
			t.Fatal(err)
		}
		return key
	}
	live := save(now.Add(time.Hour))
	dead := []string{save(now.Add(time.Minute)), save(now.Add(time.Minute))}
	p := filepath.Join(dir, live[:1], live[1:2], filestore.DefaultPrefix+live)
	if _, err := os.Lstat(p); err != nil {
		t.Fatalf("session file not at %s: %v", p, err)
	}
	for _, d := range []string{filepath.Join(dir, live[:1]), filepath.Join(dir, live[:1], live[1:2])} {
		fi, err := os.Lstat(d)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm != 0o700 {
			t.Errorf("%s: mode %v, want 0700", d, perm)
		}
	}

	// Decoys: a flat file from before the switch (expired: cleared), a
	// session file in the wrong subdirectory and a symbolic link to a
	// directory of expired sessions elsewhere (both left alone).
	flatKey, _ := core.NewKey()
	flat := newStore(t, dir, filestore.WithClock(func() time.Time { return now }))
	if err := flat.Save(ctx, core.Record{Key: flatKey, Data: []byte(`{}`), Expiry: now.Add(time.Minute)}, core.Create); err != nil {
		t.Fatal(err)
	}
	wrongKey := "zz" + live[2:]
	if live[0] == 'z' {
		wrongKey = "yy" + live[2:]
	}
	wrong := filepath.Join(dir, live[:1], live[1:2], filestore.DefaultPrefix+wrongKey)
	content, err := os.ReadFile(filepath.Join(dir, dead[0][:1], dead[0][1:2], filestore.DefaultPrefix+dead[0]))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrong, content, 0o600); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(root, "elsewhere")
	if err := os.MkdirAll(filepath.Join(elsewhere, "q"), 0o700); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(elsewhere, "q", filestore.DefaultPrefix+"q"+dead[0][1:])
	if err := os.WriteFile(outside, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "q")); err == nil {
		t.Skip("a session happened to use the subdirectory q; the symlink decoy needs it free")
	}
	if err := os.Symlink(elsewhere, filepath.Join(dir, "q")); err != nil {
		t.Fatal(err)
	}

	now = now.Add(10 * time.Minute)
	stats, err := st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Live != 1 || stats.Expired != 3 {
		t.Errorf("Stats = %d live, %d expired; want 1 and 3 (two fanned out, one flat)", stats.Live, stats.Expired)
	}
	n, err := st.ClearExpired(ctx)
	if err != nil || n != 3 {
		t.Fatalf("ClearExpired = %d, %v; want 3", n, err)
	}
	for _, p := range []string{wrong, outside, p} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if _, err := st.Load(ctx, live); err != nil {
		t.Errorf("live session: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, filestore.DefaultPrefix+flatKey)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("expired flat file left: %v", err)
	}

	// A removed subdirectory is made again by the next Save.
	if err := os.RemoveAll(filepath.Join(dir, live[:1])); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, core.Record{Key: live, Data: []byte(`{}`), Expiry: now.Add(time.Hour)}, core.Create); err != nil {
		t.Fatalf("Save after its subdirectory was removed: %v", err)
	}
}
