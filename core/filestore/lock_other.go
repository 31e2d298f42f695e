//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package filestore

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"
)

const openFlags = 0

// modeBitsMeaningful says whether permission bits describe who may write a
// directory, for [checkDir]: not on Windows and Plan 9, where package os
// synthesizes them. Elsewhere the owner is not known here, so a sticky
// directory writable by others is accepted whoever owns it.
var modeBitsMeaningful = runtime.GOOS != "windows" && runtime.GOOS != "plan9"

// locks holds a semaphore per lock file path. On platforms without flock(2)
// in package syscall the critical sections of Save, Delete and ClearExpired
// only exclude goroutines of this process. Create of a new key stays safe
// between processes (it uses link(2) semantics), but replacing an expired
// file and the Update/Delete race are only guarded within one process.
var locks sync.Map // lock file path -> chan struct{} of capacity 1

// lockDir takes the semaphore of path, waiting no longer than ctx allows:
// when ctx is done first it returns an error wrapping ctx.Err().
func lockDir(ctx context.Context, path string) (unlock func(), err error) {
	v, _ := locks.LoadOrStore(path, make(chan struct{}, 1))
	sem := v.(chan struct{})
	unlock = func() { <-sem }
	select {
	case sem <- struct{}{}:
		return unlock, nil
	default:
	}
	select {
	case sem <- struct{}{}:
		return unlock, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("locking %s: waiting for the lock: %w", path, ctx.Err())
	}
}

func ownedByMe(fs.FileInfo) bool { return true }

// accessWrite reports whether this process may create and remove files in
// dir by doing so, with a file named by tmpPattern (see [os.CreateTemp]), as
// there is no portable access(2) here.
func accessWrite(dir, tmpPattern string) error {
	f, err := os.CreateTemp(dir, tmpPattern)
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

func syncDir(string) error { return nil }
