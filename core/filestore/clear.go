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
	var n int64
	err := s.eachEntry(ctx, func(dir, keyStart string, e fs.DirEntry) error {
		removed, err := s.clearEntry(ctx, dir, keyStart, e)
		if removed {
			n++
		}
		return err
	})
	if err != nil {
		return n, fmt.Errorf("filestore: clear expired: %w", err)
	}
	return n, nil
}

// eachEntry calls fn for each entry of the directory, and with fan-out (see
// [WithFanOut]) for each entry of the subdirectories, with the directory
// holding it and the characters the keys of session files there must start
// with ("" in the directory itself, which may hold flat files from before a
// switch to fan-out). It descends only into real directories of this user
// named with one key character, down to the fan-out depth. It reads
// directories 256 entries at a time, so memory stays bounded whatever their
// size, and stops when ctx is done.
func (s *Store) eachEntry(ctx context.Context, fn func(dir, keyStart string, e fs.DirEntry) error) error {
	return s.visit(ctx, s.dir, "", fn)
}

func (s *Store) visit(ctx context.Context, dir, keyStart string, fn func(dir, keyStart string, e fs.DirEntry) error) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		ents, rerr := d.ReadDir(256)
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			name := e.Name()
			if len(keyStart) < s.fanOut && e.Type().IsDir() && len(name) == 1 && isKeyChar(name[0]) {
				sub := filepath.Join(dir, name)
				if fi, err := os.Lstat(sub); err != nil || !fi.IsDir() || !ownedByMe(fi) {
					continue // gone, replaced or foreign: not ours to walk
				}
				if err := s.visit(ctx, sub, keyStart+name, fn); err != nil {
					return err
				}
				continue
			}
			if err := fn(dir, keyStart, e); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("reading directory: %w", rerr)
		}
	}
}

func isKeyChar(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// isSessionName reports whether name is prefix+key with a valid key.
func (s *Store) isSessionName(name string) bool {
	return strings.HasPrefix(name, s.prefix) && core.ValidKey(name[len(s.prefix):])
}

// sessionFile reports whether e, an entry of a directory whose session
// files' keys start with keyStart, is named as such a file.
func (s *Store) sessionFile(keyStart string, e fs.DirEntry) bool {
	name := e.Name()
	return s.isSessionName(name) && strings.HasPrefix(name[len(s.prefix):], keyStart)
}

// clearEntry removes e, an entry of dir, if it is an expired or corrupt
// session file of this store (reporting true), or an old temporary file of
// this store (only ever in the directory itself).
func (s *Store) clearEntry(ctx context.Context, dir, keyStart string, e fs.DirEntry) (bool, error) {
	name := e.Name()
	isSession := s.sessionFile(keyStart, e)
	isTemp := dir == s.dir && strings.HasPrefix(name, s.tmpPrefix)
	if (!isSession && !isTemp) || !e.Type().IsRegular() {
		return false, nil
	}
	p := filepath.Join(dir, name)
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
