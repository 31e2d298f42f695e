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
// Bounded resources: no session file is read past a bound,
// [DefaultMaxFileBytes] unless [WithMaxFileBytes] says otherwise. Load
// reports a larger file as tampered without reading it, Save refuses data
// that would make one with [core.ErrTooLarge], and ClearExpired removes such
// files along with the other corrupt ones. Lock waits end when the request's
// context does.
//
// Concurrency: Load takes no lock. Create of a key that has no file uses
// link(2), which fails if the name exists, so two processes can never both
// create one key. The short critical sections that check a file and then
// replace or remove it (Create over an expired file, Update, Delete and
// ClearExpired) hold an exclusive flock(2) on a lock file in the directory,
// so an Update racing a Delete in another process is reported as
// [core.ErrSessionDeleted] instead of resurrecting the session. Waiting for
// that lock stops when the operation's context is done, with an error
// wrapping the context's error. On platforms without flock in package
// syscall (Windows, Solaris, Plan 9...) that lock only excludes goroutines of
// one process.
//
// Layout: by default the files lie flat in the directory, as Django's file
// backend keeps them, so that a Go service and a Django project can share
// it. [WithFanOut] spreads them over subdirectories named after the first
// characters of the key instead (dir/a/b/sessionidab...), which keeps each
// directory small when it holds millions of sessions.
//
// Security: there is no default directory: [New] needs one, creates it with
// mode 0700 when it does not exist, and refuses one that other users can
// write to (such as /tmp), unless it is sticky and owned by the current user.
// Keys are checked with [core.ValidKey] before any path is built, and files
// that are not regular files owned by the current user are treated as
// tampered and never removed. Two stores sharing a directory must use
// prefixes of which none is a prefix of another.
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

// DefaultMaxFileBytes is the size bound of a session file unless
// [WithMaxFileBytes] sets another: 1 MiB of session data, far more than a
// session should hold, plus the longest header line (129 bytes).
const DefaultMaxFileBytes = 1<<20 + maxHeader + 1

// maxPrefix bounds the prefix so that prefix+key stays a short file name.
const maxPrefix = 64

// Store keeps each session in its own file. It is safe for concurrent use by
// goroutines and by processes sharing the directory. Create it with [New].
type Store struct {
	dir          string // absolute and clean
	prefix       string
	tmpPrefix    string // "." + prefix + ".tmp-"
	lockPath     string
	now          func() time.Time
	sync         bool
	tempMaxAge   time.Duration
	maxFileBytes int64
	fanOut       int // levels of subdirectories (WithFanOut); 0: flat
}

// The optional capabilities, implemented directly: [core.Supports] reports
// both.
var (
	_ core.ExpiredClearer = (*Store)(nil)
	_ core.Pinger         = (*Store)(nil)
)

// options holds the settings the options of [New] set.
type options struct {
	prefix       string
	now          func() time.Time
	sync         bool
	tempMaxAge   time.Duration
	maxFileBytes int64
	fanOut       int
}

// Option configures a [Store]; pass options to [New].
type Option func(*options)

// WithPrefix sets the file name prefix (default [DefaultPrefix]). It must be
// 1 to 64 characters of [A-Za-z0-9_.-] and must not start with a dot (dot
// names are the store's own lock and temporary files); [New] refuses any
// other with [core.ErrInvalidConfig].
func WithPrefix(prefix string) Option { return func(o *options) { o.prefix = prefix } }

// WithClock makes the store read the time from now instead of time.Now (the
// default). now must not be nil.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithSync makes every Save fsync the file and the directory before it
// returns, so a saved session survives a power loss. It is off by default,
// as in Django; without it a crash can at worst leave a truncated file, which
// Load reports as tampered (an empty session), never as wrong data.
func WithSync(on bool) Option { return func(o *options) { o.sync = on } }

// WithTempMaxAge sets how old a leftover temporary file (from a process that
// crashed mid-save) must be before ClearExpired removes it (default
// [DefaultTempMaxAge]). It must be positive.
func WithTempMaxAge(d time.Duration) Option { return func(o *options) { o.tempMaxAge = d } }

// WithMaxFileBytes bounds the size of a session file, header included, to n
// bytes (default [DefaultMaxFileBytes]; zero or less means the default, and
// n must leave room for the header: at least 129). Save refuses a record
// whose file would be larger with an error wrapping [core.ErrTooLarge], and
// writes nothing. Load never reads more than n+1 bytes: a larger file is
// corrupt (an error wrapping [core.ErrTampered]), and Stats and ClearExpired
// treat it as such, so ClearExpired removes it.
//
// Every store sharing a directory and prefix, including the cloakroom
// clearsessions command (its -max-file-bytes flag), must use the same bound,
// or one of them removes the sessions the others saved over its bound.
func WithMaxFileBytes(n int64) Option { return func(o *options) { o.maxFileBytes = n } }

// MaxFanOut is the largest number of subdirectory levels [WithFanOut]
// accepts.
const MaxFanOut = 2

// WithFanOut spreads the session files over levels of subdirectories (1 or
// 2; 0, the default, keeps them flat in the directory as Django does): each
// level is named after one more character of the key, so with 2 the session
// of key "ab12..." lives in dir/a/b/sessionidab12... Keys are 32 characters
// of [a-z0-9], so 2 levels make 1,296 directories, and a million sessions
// about 770 files in each. The subdirectories are created (mode 0700) as
// sessions need them. Temporary files and the lock file stay in the
// directory itself.
//
// Django's file backend reads only the flat layout: use fan-out only when no
// Django process shares the directory. Every store and clearsessions run on
// a directory must use the same setting (clearsessions' -fanout flag):
// Load finds a session only where its layout puts it. ClearExpired removes
// expired files of either layout, so after switching a directory from flat
// to fan-out the old files go when they expire (their sessions are not
// found meanwhile: their users start new ones).
func WithFanOut(levels int) Option { return func(o *options) { o.fanOut = levels } }

// check validates the settings, filling in the defaults that stand for
// zero values.
func (o *options) check() error {
	if !validPrefix(o.prefix) {
		return fmt.Errorf("filestore: prefix %.80q: want 1 to %d characters of [A-Za-z0-9_.-] not starting with '.': %w",
			o.prefix, maxPrefix, core.ErrInvalidConfig)
	}
	if o.now == nil {
		return fmt.Errorf("filestore: nil clock: %w", core.ErrInvalidConfig)
	}
	if o.tempMaxAge <= 0 {
		return fmt.Errorf("filestore: temp max age %v: want a positive duration: %w", o.tempMaxAge, core.ErrInvalidConfig)
	}
	if o.maxFileBytes <= 0 {
		o.maxFileBytes = DefaultMaxFileBytes
	}
	if o.fanOut < 0 || o.fanOut > MaxFanOut {
		return fmt.Errorf("filestore: fan-out of %d levels: want 0 to %d: %w", o.fanOut, MaxFanOut, core.ErrInvalidConfig)
	}
	if o.maxFileBytes <= maxHeader {
		return fmt.Errorf("filestore: max file bytes %d: leaves no room for the %d-byte header: %w",
			o.maxFileBytes, maxHeader+1, core.ErrInvalidConfig)
	}
	return nil
}

// New returns a store keeping its files in dir, which is required. When dir
// does not exist, New creates it (and its missing parents) with mode 0700.
// It returns an error wrapping [core.ErrInvalidConfig] when dir is empty, is
// not a directory, cannot be created or written, or is writable by other
// users (group or world write permission) without being a sticky directory
// owned by the current user; or when an option is invalid.
func New(dir string, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("filestore: a directory is required (a private one: not the shared %s): %w", os.TempDir(), core.ErrInvalidConfig)
	}
	o := options{prefix: DefaultPrefix, now: time.Now, tempMaxAge: DefaultTempMaxAge, maxFileBytes: DefaultMaxFileBytes}
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	s := &Store{prefix: o.prefix, now: o.now, sync: o.sync, tempMaxAge: o.tempMaxAge, maxFileBytes: o.maxFileBytes, fanOut: o.fanOut}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: directory %q: %w: %w", dir, core.ErrInvalidConfig, err)
	}
	fi, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return nil, fmt.Errorf("filestore: creating directory %q: %w: %w", abs, core.ErrInvalidConfig, err)
		}
		fi, err = os.Stat(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("filestore: directory %q: %w: %w", abs, core.ErrInvalidConfig, err)
	}
	if err := checkDir(abs, fi); err != nil {
		return nil, fmt.Errorf("filestore: %w: %w", err, core.ErrInvalidConfig)
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

// checkDir returns an error when fi, the information of directory dir, is
// not a directory or lets other users replace or remove the files in it.
func checkDir(dir string, fi fs.FileInfo) error {
	if !fi.IsDir() {
		return fmt.Errorf("%q is not a directory", dir)
	}
	if !modeBitsMeaningful || fi.Mode().Perm()&0o022 == 0 {
		return nil
	}
	if fi.Mode()&fs.ModeSticky != 0 && ownedByMe(fi) {
		return nil // others may add files, which are ignored, but not touch ours
	}
	return fmt.Errorf("directory %q (mode %v) is writable by other users, who could remove or replace "+
		"session files: give the store a private directory (mode 0700; New creates a missing one so), or chmod go-w it", dir, fi.Mode())
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

// MaxFileBytes returns the size bound of a session file (see
// [WithMaxFileBytes]).
func (s *Store) MaxFileBytes() int64 { return s.maxFileBytes }

// Ping implements [core.Pinger]: it returns nil when the directory is still
// a directory that this process may write to and that other users may not,
// as [New] checked. It uses stat(2) and access(2), writing nothing (where
// there is no flock(2), and so no access(2) in package syscall, it creates
// and removes a temporary file instead). It returns an error when the
// directory is gone or replaced by a file, was opened to other users or
// became unwritable (such as a read-only remount), or when ctx is done.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filestore: ping: %w", err)
	}
	fi, err := os.Stat(s.dir)
	if err != nil {
		return fmt.Errorf("filestore: ping: %w", err)
	}
	if err := checkDir(s.dir, fi); err != nil {
		return fmt.Errorf("filestore: ping: %w", err)
	}
	if err := accessWrite(s.dir, s.tmpPrefix+"ping-*"); err != nil {
		return fmt.Errorf("filestore: ping: directory %q is not writable: %w", s.dir, err)
	}
	return nil
}

// path returns the file path for key, after checking that key is valid and
// that the path names an entry directly inside the directory, or inside the
// subdirectory the fan-out gives the key.
func (s *Store) path(op, key string) (string, error) {
	if !core.ValidKey(key) {
		return "", fmt.Errorf("filestore: %s %.50q: %w", op, key, core.ErrInvalidKey)
	}
	name := s.prefix + key
	dir := s.subdir(key)
	p := filepath.Join(dir, name)
	if filepath.Dir(p) != dir || filepath.Base(p) != name {
		return "", fmt.Errorf("filestore: %s %.50q: path escapes the directory: %w", op, key, core.ErrInvalidKey)
	}
	return p, nil
}

// subdir returns the directory of the session file of key, a valid key
// (and so at least MaxFanOut characters of [a-z0-9]).
func (s *Store) subdir(key string) string {
	switch s.fanOut {
	case 1:
		return s.dir + string(filepath.Separator) + key[:1]
	case 2:
		return s.dir + string(filepath.Separator) + key[:1] + string(filepath.Separator) + key[1:2]
	}
	return s.dir
}

// place runs link or rename of a temporary file to p, creating the
// fan-out subdirectories of p first when they are missing.
func (s *Store) place(op func(string, string) error, tmp, p string) error {
	err := op(tmp, p)
	if s.fanOut == 0 || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := s.mkSubdirs(filepath.Dir(p)); err != nil {
		return err
	}
	return op(tmp, p)
}

// mkSubdirs creates the fan-out directory dir and its parents below s.dir
// (mode 0700), fsyncing their parents when the store syncs.
func (s *Store) mkSubdirs(dir string) error {
	if dir == s.dir {
		return nil
	}
	if err := s.mkSubdirs(filepath.Dir(dir)); err != nil {
		return err
	}
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err == nil && s.sync {
		err = syncDir(filepath.Dir(dir))
	}
	return err
}

// Load implements [core.Store]. A file that is truncated, corrupt, larger
// than the bound (see [WithMaxFileBytes]; it is not read), not a regular
// file or not owned by the current user yields an error wrapping
// [core.ErrTampered].
func (s *Store) Load(ctx context.Context, key string) (core.Record, error) {
	p, err := s.path("load", key)
	if err != nil {
		return core.Record{}, err
	}
	if err := ctx.Err(); err != nil {
		return core.Record{}, fmt.Errorf("filestore: load: %w", err)
	}
	b, err := s.readFile(p)
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

// foreign returns an error wrapping errForeign for a file of mode m (or of
// another user, when m is regular).
func foreign(m fs.FileMode) error {
	why := "owned by another user"
	switch {
	case m&fs.ModeSymlink != 0:
		why = "a symbolic link"
	case m.IsDir():
		why = "a directory"
	case m&fs.ModeNamedPipe != 0:
		why = "a FIFO"
	case !m.IsRegular():
		why = "a special file"
	}
	return fmt.Errorf("session file is %s: %w", why, errForeign)
}

// openFile opens the regular file at p for reading. It refuses symbolic
// links, FIFOs and other special files, and files owned by another user,
// with an error wrapping errForeign (and so [core.ErrTampered]).
func openFile(p string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|openFlags, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		if fi, lerr := os.Lstat(p); lerr == nil && !fi.Mode().IsRegular() {
			return nil, nil, foreign(fi.Mode())
		}
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() || !ownedByMe(fi) {
		f.Close()
		return nil, nil, foreign(fi.Mode())
	}
	return f, fi, nil
}

// readFile reads the whole session file at p, refusing (without reading it)
// a file larger than the bound with an error wrapping [core.ErrTampered].
func (s *Store) readFile(p string) ([]byte, error) {
	f, fi, err := openFile(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return s.readRest(f, fi.Size(), nil)
}

// readRest returns head followed by the rest of f, a file that fstat said
// is size bytes long. It reads at most one byte past the size and never past
// the bound, and reports a file over the bound, or one that grew since the
// fstat, as corrupt.
func (s *Store) readRest(f *os.File, size int64, head []byte) ([]byte, error) {
	if size > s.maxFileBytes {
		return nil, corrupt(fmt.Sprintf("file is %d bytes, over the bound of %d", size, s.maxFileBytes))
	}
	b := make([]byte, size+1)
	n := copy(b, head)
	m, err := io.ReadFull(f, b[n:])
	switch {
	case err == nil:
		return nil, corrupt("file grew while read")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return b[:n+m], nil
	default:
		return nil, err
	}
}

// fileState is what inspect finds under a session name.
type fileState uint8

const (
	// fileAbsent: no file, or one that is not ours to read or remove.
	fileAbsent fileState = iota
	fileLive
	fileExpired
	// fileCorrupt: ours, but not a complete session file within the bound.
	fileCorrupt
)

// inspect classifies the file at p, reading no more than the bound. A file
// whose header does not parse, whose size disagrees with its header or
// exceeds the bound is corrupt; one whose header says it has expired is
// expired. With verify, the data of a file that would otherwise be live is
// read and checked against the header's checksum (a mismatch is corrupt);
// without, only the header is read. size is the data length of a live file.
// Errors other than missing, foreign and corrupt files are returned.
func (s *Store) inspect(p string, verify bool) (state fileState, size int64, err error) {
	f, fi, err := openFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errForeign):
		return fileAbsent, 0, nil
	case err != nil:
		return fileAbsent, 0, err
	}
	defer f.Close()
	if fi.Size() > s.maxFileBytes {
		return fileCorrupt, 0, nil
	}
	head := make([]byte, min(fi.Size(), maxHeader+1))
	if _, err := io.ReadFull(f, head); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fileCorrupt, 0, nil // shrank since the fstat
		}
		return fileAbsent, 0, err
	}
	h, err := parseHeader(head)
	if err != nil || int64(h.size)+int64(h.length) != fi.Size() {
		return fileCorrupt, 0, nil
	}
	if !h.expiry.After(s.now()) {
		return fileExpired, 0, nil
	}
	if verify {
		b, err := s.readRest(f, fi.Size(), head)
		if errors.Is(err, core.ErrTampered) {
			return fileCorrupt, 0, nil
		}
		if err != nil {
			return fileAbsent, 0, err
		}
		if _, _, err := decode(b); err != nil {
			return fileCorrupt, 0, nil
		}
	}
	return fileLive, int64(h.length), nil
}

// live reports whether p holds a session that has not expired, by its
// header and size. A missing, corrupt or foreign file is not live; other
// errors are returned.
func (s *Store) live(p string) (bool, error) {
	state, _, err := s.inspect(p, false)
	return state == fileLive, err
}

// Save implements [core.Store]. The new content is written to a temporary
// file first; Create links it into place (failing with [core.ErrKeyExists]
// when a live session holds the key, replacing an expired or corrupt one),
// Update renames it over the existing file (failing with
// [core.ErrSessionDeleted] when there is no live file). A record whose file
// would exceed the bound (see [WithMaxFileBytes]) is refused with an error
// wrapping [core.ErrTooLarge] and nothing is written. When ctx is done while
// Save waits for the directory's lock, it returns an error wrapping
// ctx.Err() and nothing is changed.
func (s *Store) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	p, err := s.path("save", rec.Key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filestore: save: %w", err)
	}
	if int64(len(rec.Data)) > s.maxFileBytes {
		return s.tooLarge(rec.Key, int64(len(rec.Data)))
	}
	content := encode(rec.Data, rec.Expiry)
	if int64(len(content)) > s.maxFileBytes {
		return s.tooLarge(rec.Key, int64(len(content)))
	}
	tmp, err := s.writeTemp(content)
	if err != nil {
		return fmt.Errorf("filestore: save %s: %w", rec.Key, err)
	}
	placed := false
	defer func() {
		if !placed {
			os.Remove(tmp) // best effort; ClearExpired removes leftovers
		}
	}()
	unlock, err := lockDir(ctx, s.lockPath)
	if err != nil {
		return fmt.Errorf("filestore: %s %s: %w", mode, rec.Key, err)
	}
	defer unlock()
	if mode == core.Create {
		// link(2) fails when the name exists: the fast, race-free path.
		// Its temporary name is removed by the deferred cleanup.
		if s.place(os.Link, tmp, p) == nil {
			return s.synced(p, rec.Key)
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
	if err := s.place(os.Rename, tmp, p); err != nil {
		return fmt.Errorf("filestore: %s %s: %w", mode, rec.Key, err)
	}
	placed = true
	return s.synced(p, rec.Key)
}

func (s *Store) tooLarge(key string, n int64) error {
	return fmt.Errorf("filestore: save %s: a session file of at least %d bytes exceeds the bound of %d (WithMaxFileBytes): %w",
		key, n, s.maxFileBytes, core.ErrTooLarge)
}

// synced fsyncs the directory of the session file p, when the store syncs.
func (s *Store) synced(p, key string) error {
	if !s.sync {
		return nil
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
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

// Delete implements [core.Store]. When ctx is done while Delete waits for
// the directory's lock, it returns an error wrapping ctx.Err() and the file
// stays.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path("delete", key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filestore: delete: %w", err)
	}
	unlock, err := lockDir(ctx, s.lockPath)
	if err != nil {
		return fmt.Errorf("filestore: delete %s: %w", key, err)
	}
	defer unlock()
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("filestore: delete %s: %w", key, err)
	}
	return nil
}
