package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cloakroom/cloakroom/core"
)

// ClearExpired implements [core.ExpiredClearer]. It removes the files that
// are named prefix+key with a valid key, are regular files owned by the
// current user, and either have expired or are corrupt (their header does
// not parse, their size disagrees with the header or exceeds the bound of
// [WithMaxFileBytes], or their checksum does not match), and reports how
// many it removed, corrupt ones included: the count [Store.Stats] reports as
// expired. A corrupt file is never a write in progress, as session names
// only ever receive complete files, by rename(2) or link(2).
//
// It never removes any other file: not other programs' files, not
// subdirectories or symbolic links, not other users' files. It also removes
// this store's own temporary files older than the temp max age (left by a
// crash mid-save); those are not counted. Each file is re-checked under the
// lock before removal, so a session updated or re-created meanwhile
// survives. When ctx is done, during the scan or while waiting for the
// lock, it stops with an error wrapping ctx.Err() and the count so far.
func (s *Store) ClearExpired(ctx context.Context) (int64, error) {
	d, err := os.Open(s.dir)
	if err != nil {
		return 0, fmt.Errorf("filestore: clear expired: %w", err)
	}
	defer d.Close()
	var n int64
	for {
		ents, rerr := d.ReadDir(256)
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return n, fmt.Errorf("filestore: clear expired: %w", err)
			}
			removed, err := s.clearEntry(ctx, e)
			if err != nil {
				return n, fmt.Errorf("filestore: clear expired: %w", err)
			}
			if removed {
				n++
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, fmt.Errorf("filestore: clear expired: reading directory: %w", rerr)
		}
	}
}

// isSessionName reports whether name is prefix+key with a valid key.
func (s *Store) isSessionName(name string) bool {
	return strings.HasPrefix(name, s.prefix) && core.ValidKey(name[len(s.prefix):])
}

// clearEntry removes e if it is an expired or corrupt session file of this
// store (reporting true), or an old temporary file of this store.
func (s *Store) clearEntry(ctx context.Context, e fs.DirEntry) (bool, error) {
	name := e.Name()
	isSession := s.isSessionName(name)
	isTemp := strings.HasPrefix(name, s.tmpPrefix)
	if (!isSession && !isTemp) || !e.Type().IsRegular() {
		return false, nil
	}
	p := filepath.Join(s.dir, name)
	if isTemp {
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil // removed meanwhile
		}
		if err != nil {
			return false, err
		}
		if fi.Mode().IsRegular() && ownedByMe(fi) && s.now().Sub(fi.ModTime()) > s.tempMaxAge {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, err
			}
		}
		return false, nil
	}
	if ok, err := s.removable(p); err != nil || !ok {
		return false, err
	}
	unlock, err := lockDir(ctx, s.lockPath)
	if err != nil {
		return false, err
	}
	defer unlock()
	if ok, err := s.removable(p); err != nil || !ok {
		return false, err // updated, replaced or removed meanwhile
	}
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// removable reports whether p is a session file of this user that has
// expired or is corrupt. Missing and foreign files are not removable.
func (s *Store) removable(p string) (bool, error) {
	state, _, err := s.inspect(p, true)
	return state == fileExpired || state == fileCorrupt, err
}
