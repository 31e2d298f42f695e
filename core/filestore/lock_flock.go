//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package filestore

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// openFlags are added when a session file is opened for reading: never
// follow a symbolic link planted under a session name, and never block on a
// FIFO planted there.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// lockDir takes an exclusive flock(2) on the lock file at path, creating it
// if needed. Each call opens its own descriptor, so the lock excludes other
// goroutines of this process as well as other processes; it is released by
// unlock or when the process dies.
func lockDir(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("filestore: opening lock file: %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("filestore: lock file: %w", err)
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), syscall.LOCK_EX)
			if ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		ferr = err
	}
	if ferr != nil {
		f.Close()
		return nil, fmt.Errorf("filestore: locking %s: %w", path, ferr)
	}
	return func() { f.Close() }, nil
}

// ownedByMe reports whether fi describes a file owned by this process's
// effective user. Files planted by other users in a shared directory (such
// as /tmp) are never trusted.
func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == uint32(os.Geteuid())
}

// syncDir flushes the directory entry changes of dir to stable storage.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
