// Package filestore is a cloakroom store that keeps one file per session in
// a directory, like Django's file session backend, but honouring every form
// of expiry: the absolute expiry is written inside each file.
//
// A session file is named prefix+key (by default "sessionid" followed by the
// key) and holds a header line (expiry, data length, CRC-32C) followed by the
// encoded data. Writes go to a temporary file in the same directory that is
// then renamed (Update) or hard-linked (Create) into place, so a reader sees
// either the old or the new complete file, never a partial one. Files are
// created with mode 0600.
//
// Concurrency: Load takes no lock. Create of a key that has no file uses
// link(2), which fails if the name exists, so two processes can never both
// create one key. The short critical sections that check a file and then
// replace or remove it (Create over an expired file, Update, Delete and
// ClearExpired) hold an exclusive flock(2) on a lock file in the directory,
// so an Update racing a Delete in another process is reported as
// [core.ErrSessionDeleted] instead of resurrecting the session. On platforms
// without flock in package syscall (Windows, Solaris, Plan 9...) that lock
// only excludes goroutines of one process.
//
// Security: keys are checked with [core.ValidKey] before any path is built,
// and files that are not regular files owned by the current user are treated
// as tampered. The default directory, [os.TempDir], is shared on multi-user
// machines; give production deployments a private directory. Two stores
// sharing a directory must use prefixes of which none is a prefix of another.
package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// DefaultPrefix is the file name prefix [New] uses: Django's default session
// cookie name, as Django's file backend uses the cookie name.
const DefaultPrefix = "sessionid"

// DefaultTempMaxAge is how old a leftover temporary file of this store must
// be before ClearExpired removes it.
const DefaultTempMaxAge = time.Hour

// maxPrefix bounds the prefix so that prefix+key stays a short file name.
const maxPrefix = 64

// Store keeps each session in its own file. It is safe for concurrent use by
// goroutines and by processes sharing the directory. Create it with [New].
type Store struct {
	dir        string // absolute and clean
	prefix     string
	tmpPrefix  string // "." + prefix + ".tmp-"
	lockPath   string
	now        func() time.Time
	sync       bool
	tempMaxAge time.Duration
}

// Option configures a [Store].
type Option func(*Store)

// WithPrefix sets the file name prefix (default [DefaultPrefix]). It must be
// 1 to 64 characters of [A-Za-z0-9_.-] and must not start with a dot (dot
// names are the store's own lock and temporary files).
func WithPrefix(prefix string) Option { return func(s *Store) { s.prefix = prefix } }

// WithClock makes the store read the time from now instead of time.Now.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithSync makes every Save fsync the file and the directory before it
// returns, so a saved session survives a power loss. It is off by default,
// as in Django; without it a crash can at worst leave a truncated file, which
// Load reports as tampered (an empty session), never as wrong data.
func WithSync(on bool) Option { return func(s *Store) { s.sync = on } }

// WithTempMaxAge sets how old a leftover temporary file (from a process that
// crashed mid-save) must be before ClearExpired removes it (default
// [DefaultTempMaxAge]).
func WithTempMaxAge(d time.Duration) Option { return func(s *Store) { s.tempMaxAge = d } }

// New returns a store keeping its files in dir (the empty string means
// [os.TempDir]). It returns an error wrapping [core.ErrInvalidConfig] when
// dir does not exist, is not a directory or is not writable, or when an
// option is invalid.
func New(dir string, opts ...Option) (*Store, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	s := &Store{prefix: DefaultPrefix, now: time.Now, tempMaxAge: DefaultTempMaxAge}
	for _, o := range opts {
		o(s)
	}
	if !validPrefix(s.prefix) {
		return nil, fmt.Errorf("filestore: prefix %.80q must be 1 to %d characters of [A-Za-z0-9_.-] not starting with '.': %w",
			s.prefix, maxPrefix, core.ErrInvalidConfig)
	}
	if s.now == nil || s.tempMaxAge <= 0 {
		return nil, fmt.Errorf("filestore: nil clock or non-positive temp max age: %w", core.ErrInvalidConfig)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: directory %q: %w: %w", dir, core.ErrInvalidConfig, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("filestore: directory %q: %w: %w", abs, core.ErrInvalidConfig, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("filestore: %q is not a directory: %w", abs, core.ErrInvalidConfig)
	}
	s.dir = abs
	s.tmpPrefix = "." + s.prefix + ".tmp-"
	s.lockPath = filepath.Join(abs, "."+s.prefix+".lock")
	// Probe writability the way Save writes: access(2) would lie for root
	// and on some network file systems.
	probe, err := s.writeTemp(nil)
	if err != nil {
		return nil, fmt.Errorf("filestore: directory %q is not writable: %w: %w", abs, core.ErrInvalidConfig, err)
	}
	if err := os.Remove(probe); err != nil {
		return nil, fmt.Errorf("filestore: removing probe file: %w: %w", core.ErrInvalidConfig, err)
	}
	return s, nil
}

func validPrefix(p string) bool {
	if len(p) == 0 || len(p) > maxPrefix || p[0] == '.' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Dir returns the absolute directory holding the session files.
func (s *Store) Dir() string { return s.dir }

// path returns the file path for key, after checking that key is valid and
// that the path names an entry directly inside the directory.
func (s *Store) path(op, key string) (string, error) {
	if !core.ValidKey(key) {
		return "", fmt.Errorf("filestore: %s %.50q: %w", op, key, core.ErrInvalidKey)
	}
	name := s.prefix + key
	p := filepath.Join(s.dir, name)
	if filepath.Dir(p) != s.dir || filepath.Base(p) != name {
		return "", fmt.Errorf("filestore: %s %.50q: path escapes the directory: %w", op, key, core.ErrInvalidKey)
	}
	return p, nil
}

// Load implements [core.Store]. A file that is truncated, corrupt, not a
// regular file or not owned by the current user yields an error wrapping
// [core.ErrTampered].
func (s *Store) Load(ctx context.Context, key string) (core.Record, error) {
	p, err := s.path("load", key)
	if err != nil {
		return core.Record{}, err
	}
	if err := ctx.Err(); err != nil {
		return core.Record{}, fmt.Errorf("filestore: load: %w", err)
	}
	b, err := readFile(p, -1)
	if errors.Is(err, fs.ErrNotExist) {
		return core.Record{}, fmt.Errorf("filestore: load: %w", core.ErrNotFound)
	}
	if err != nil {
		return core.Record{}, fmt.Errorf("filestore: load %s: %w", key, err)
	}
	data, expiry, err := decode(b)
	if err != nil {
		return core.Record{}, fmt.Errorf("filestore: load %s: %w", key, err)
	}
	if !expiry.After(s.now()) {
		return core.Record{}, fmt.Errorf("filestore: load: %w", core.ErrNotFound)
	}
	return core.Record{Key: key, Data: data, Expiry: expiry}, nil
}

// readFile reads the regular file at p, at most limit bytes (all of it when
// limit < 0). It refuses symbolic links, FIFOs and other special files, and
// files owned by another user, with an error wrapping [core.ErrTampered].
func readFile(p string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|openFlags, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if fi, lerr := os.Lstat(p); lerr == nil && !fi.Mode().IsRegular() {
			return nil, corrupt("not a regular file")
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, corrupt("not a regular file")
	}
	if !ownedByMe(fi) {
		return nil, corrupt("owned by another user")
	}
	var r io.Reader = f
	if limit >= 0 {
		r = io.LimitReader(f, limit)
	}
	return io.ReadAll(r)
}

// live reports whether p holds a session that has not expired. A missing,
// corrupt or foreign file is not live; other errors are returned.
func (s *Store) live(p string) (bool, error) {
	exp, ok, err := readExpiry(p)
	return ok && exp.After(s.now()), err
}

// readExpiry reads the expiry in the header of the session file p. ok is
// false for a missing, corrupt or foreign file; other errors are returned.
func readExpiry(p string) (exp time.Time, ok bool, err error) {
	b, err := readFile(p, maxHeader+1)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, core.ErrTampered):
		return time.Time{}, false, nil
	case err != nil:
		return time.Time{}, false, err
	}
	h, err := parseHeader(b)
	if err != nil {
		return time.Time{}, false, nil
	}
	return h.expiry, true, nil
}

// Save implements [core.Store]. The new content is written to a temporary
// file first; Create links it into place (failing with [core.ErrKeyExists]
// when a live session holds the key, replacing an expired or corrupt one),
// Update renames it over the existing file (failing with
// [core.ErrSessionDeleted] when there is no live file).
func (s *Store) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	p, err := s.path("save", rec.Key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filestore: save: %w", err)
	}
	tmp, err := s.writeTemp(encode(rec.Data, rec.Expiry))
	if err != nil {
		return fmt.Errorf("filestore: save %s: %w", rec.Key, err)
	}
	placed := false
	defer func() {
		if !placed {
			os.Remove(tmp) // best effort; ClearExpired removes leftovers
		}
	}()
	unlock, err := lockDir(s.lockPath)
	if err != nil {
		return err
	}
	defer unlock()
	if mode == core.Create {
		// link(2) fails when the name exists: the fast, race-free path.
		// Its temporary name is removed by the deferred cleanup.
		if os.Link(tmp, p) == nil {
			return s.synced(rec.Key)
		}
		// The name exists (or the file system cannot link): under the lock,
		// replace it unless it holds a live session.
		live, err := s.live(p)
		if err != nil {
			return fmt.Errorf("filestore: create %s: %w", rec.Key, err)
		}
		if live {
			return fmt.Errorf("filestore: create: %w", core.ErrKeyExists)
		}
	} else {
		live, err := s.live(p)
		if err != nil {
			return fmt.Errorf("filestore: update %s: %w", rec.Key, err)
		}
		if !live {
			return fmt.Errorf("filestore: update: %w", core.ErrSessionDeleted)
		}
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("filestore: %s %s: %w", mode, rec.Key, err)
	}
	placed = true
	return s.synced(rec.Key)
}

func (s *Store) synced(key string) error {
	if !s.sync {
		return nil
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("filestore: save %s: syncing directory: %w", key, err)
	}
	return nil
}

// writeTemp writes content to a new temporary file (mode 0600) in the
// directory and returns its path.
func (s *Store) writeTemp(content []byte) (string, error) {
	f, err := os.CreateTemp(s.dir, s.tmpPrefix+"*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(content)
	if err == nil && s.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// Delete implements [core.Store].
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path("delete", key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filestore: delete: %w", err)
	}
	unlock, err := lockDir(s.lockPath)
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("filestore: delete %s: %w", key, err)
	}
	return nil
}
