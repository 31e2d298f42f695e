package filestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/internal/testenv"
)

// checkMsg asserts that err names the package once, at the front.
func checkMsg(t *testing.T, what string, err error) {
	t.Helper()
	testenv.ErrorNamesPackage(t, "filestore", what, err)
}

// checkErr asserts that err wraps want and names the package once.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	testenv.ErrorNamesPackage(t, "filestore", what, err, want)
}

func TestErrorMessagesConfig(t *testing.T) {
	dir := t.TempDir()
	_, err := New("")
	checkErr(t, "no directory", err, core.ErrInvalidConfig)
	for name, opt := range map[string]Option{
		"dot prefix":        WithPrefix(".hidden"),
		"nil clock":         WithClock(nil),
		"zero temp max age": WithTempMaxAge(0),
		"tiny file bound":   WithMaxFileBytes(maxHeader),
	} {
		_, err := New(dir, opt)
		checkErr(t, name, err, core.ErrInvalidConfig)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = New(file)
	checkErr(t, "a file for a directory", err, core.ErrInvalidConfig)
}

func TestErrorMessages(t *testing.T) {
	ctx := context.Background()
	s, err := New(t.TempDir(), WithMaxFileBytes(maxHeader+100))
	if err != nil {
		t.Fatal(err)
	}
	key, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	rec := core.Record{Key: key, Data: []byte("{}"), Expiry: exp}

	_, err = s.Load(ctx, key)
	checkErr(t, "load of a missing key", err, core.ErrNotFound)
	_, err = s.Load(ctx, "../../etc/passwd")
	checkErr(t, "load of an invalid key", err, core.ErrInvalidKey)
	err = s.Save(ctx, core.Record{Key: key, Data: make([]byte, 200), Expiry: exp}, core.Create)
	checkErr(t, "save over the file bound", err, core.ErrTooLarge)
	err = s.Save(ctx, rec, core.Update)
	checkErr(t, "update of a missing file", err, core.ErrSessionDeleted)
	if err := s.Save(ctx, rec, core.Create); err != nil {
		t.Fatal(err)
	}
	err = s.Save(ctx, rec, core.Create)
	checkErr(t, "second create", err, core.ErrKeyExists)

	// A corrupt file, and a symbolic link under a session name.
	p, _ := s.path("test", key)
	if err := os.WriteFile(p, []byte("cloakroom-session-v1 garbage\n{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = s.Load(ctx, key)
	checkErr(t, "load of a corrupt file", err, core.ErrTampered)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(s.dir, "elsewhere"), p); err == nil {
		_, err = s.Load(ctx, key)
		checkErr(t, "load of a symbolic link", err, core.ErrTampered)
		if !errors.Is(err, errForeign) {
			t.Errorf("load of a symbolic link: %v does not wrap errForeign", err)
		}
		os.Remove(p)
	}

	// The directory's lock held elsewhere: the wait ends with the context.
	unlock, err := lockDir(ctx, s.lockPath)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	err = s.Save(short, rec, core.Create)
	cancel()
	checkErr(t, "save while the lock is held", err, context.DeadlineExceeded)
	short, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
	err = s.Delete(short, key)
	cancel()
	checkErr(t, "delete while the lock is held", err, context.DeadlineExceeded)
	unlock()

	// A directory opened to other users fails Ping.
	if modeBitsMeaningful {
		if err := os.Chmod(s.dir, 0o777); err != nil {
			t.Fatal(err)
		}
		checkMsg(t, "ping of a world-writable directory", s.Ping(ctx))
		if err := os.Chmod(s.dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
}
