//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package filestore

import (
	"io/fs"
	"sync"
)

const openFlags = 0

// locks holds a mutex per lock file path. On platforms without flock(2) in
// package syscall the critical sections of Save, Delete and ClearExpired
// only exclude goroutines of this process. Create of a new key stays safe
// between processes (it uses link(2) semantics), but replacing an expired
// file and the Update/Delete race are only guarded within one process.
var locks sync.Map // lock file path -> *sync.Mutex

func lockDir(path string) (unlock func(), err error) {
	m, _ := locks.LoadOrStore(path, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock, nil
}

func ownedByMe(fs.FileInfo) bool { return true }

func syncDir(string) error { return nil }
