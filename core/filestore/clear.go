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
// current user, parse as session files and have expired. It never removes
// any other file: not other programs' files, not subdirectories or symbolic
// links, not session files it cannot parse. It also removes this store's own
// temporary files older than the temp max age (left by a crash mid-save);
// those are not counted. Each expired file is re-checked under the lock
// before removal, so a session updated meanwhile survives.
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
			removed, err := s.clearEntry(e)
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

// clearEntry removes e if it is an expired session file of this store
// (reporting true), or an old temporary file of this store.
func (s *Store) clearEntry(e fs.DirEntry) (bool, error) {
	name := e.Name()
	isSession := strings.HasPrefix(name, s.prefix) && core.ValidKey(name[len(s.prefix):])
	isTemp := strings.HasPrefix(name, s.tmpPrefix)
	if (!isSession && !isTemp) || !e.Type().IsRegular() {
		return false, nil
	}
	fi, err := e.Info()
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // removed meanwhile
	}
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() || !ownedByMe(fi) {
		return false, nil
	}
	p := filepath.Join(s.dir, name)
	if isTemp {
		if s.now().Sub(fi.ModTime()) > s.tempMaxAge {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, err
			}
		}
		return false, nil
	}
	if expired, err := s.expired(p); err != nil || !expired {
		return false, err
	}
	unlock, err := lockDir(s.lockPath)
	if err != nil {
		return false, err
	}
	defer unlock()
	if expired, err := s.expired(p); err != nil || !expired {
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

// expired reports whether p is a readable session file whose expiry has
// passed. Missing, corrupt and foreign files are not expired.
func (s *Store) expired(p string) (bool, error) {
	exp, ok, err := readExpiry(p)
	return ok && !exp.After(s.now()), err
}
