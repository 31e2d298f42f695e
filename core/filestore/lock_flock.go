//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package filestore

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// openFlags are added when a session file is opened for reading: never
// follow a symbolic link planted under a session name, and never block on a
// FIFO planted there.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// modeBitsMeaningful says whether permission bits and owners describe who
// may write a directory, for [checkDir].
const modeBitsMeaningful = true

// The polling interval of a lock wait bounded by a context: it starts short,
// as the critical sections are, and doubles up to the maximum.
const (
	lockPollMin = 100 * time.Microsecond
	lockPollMax = 10 * time.Millisecond
)

// lockDir takes an exclusive flock(2) on the lock file at path, creating it
// if needed. Each call opens its own descriptor, so the lock excludes other
// goroutines of this process as well as other processes; it is released by
// unlock or when the process dies.
//
// A context that can be done bounds the wait: the lock is then polled
// (LOCK_NB) with a growing interval, and when ctx is done first lockDir
// returns an error wrapping ctx.Err(). A context that can never be done
// (context.Background) blocks in the kernel as long as it takes.
func lockDir(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock file: %w", err)
	}
	flock := func(how int) (ferr error) {
		if err := rc.Control(func(fd uintptr) {
			for {
				ferr = syscall.Flock(int(fd), how)
				if ferr != syscall.EINTR {
					return
				}
			}
		}); err != nil {
			ferr = err
		}
		return ferr
	}
	if ctx.Done() == nil {
		err = flock(syscall.LOCK_EX)
	} else {
		err = pollLock(ctx, func() (bool, error) {
			err := flock(syscall.LOCK_EX | syscall.LOCK_NB)
			if err == syscall.EWOULDBLOCK {
				return false, nil
			}
			return err == nil, err
		})
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// pollLock calls try until it takes the lock, fails, or ctx is done (then
// it returns an error wrapping ctx.Err()).
func pollLock(ctx context.Context, try func() (bool, error)) error {
	delay := lockPollMin
	var timer *time.Timer
	for {
		ok, err := try()
		if ok || err != nil {
			return err
		}
		if timer == nil {
			timer = time.NewTimer(delay)
			defer timer.Stop()
		} else {
			timer.Reset(delay)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the lock: %w", ctx.Err())
		case <-timer.C:
		}
		delay = min(2*delay, lockPollMax)
	}
}

// ownedByMe reports whether fi describes a file owned by this process's
// effective user. Files planted by other users in a shared directory (such
// as /tmp) are never trusted.
func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == uint32(os.Geteuid())
}

// accessWrite reports, by access(2), whether this process may create and
// remove files in dir. tmpPattern is unused here.
func accessWrite(dir, tmpPattern string) error {
	const wOK, xOK = 0x2, 0x1 // POSIX values, the same on every Unix
	return syscall.Access(dir, wOK|xOK)
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
