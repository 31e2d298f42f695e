package core

import (
	"context"
	"errors"
	"time"
)

// backend is where a manager's sessions live. [New] and
// [NewWithCookieStore] choose one of three once, so that a Session never
// asks which kind of store it has:
//
//   - serverBackend: records on the server under random keys ([Store]);
//   - versionedBackend: the same, saved with optimistic concurrency
//     ([Config.Optimistic] over a [VersionedStore]);
//   - cookieBackend: the record sealed into the cookie value ([CookieStore]).
type backend interface {
	// accepts reports whether a cookie value may be handed to the backend:
	// a valid key for a server store; for a cookie store, RFC 6265 cookie
	// characters that fit a browser's cookie.
	accepts(v string) bool
	// load returns the session data stored under key (or sealed in it) and
	// its version (0 where versions are not kept).
	load(ctx context.Context, key string) (data []byte, version uint64, err error)
	// save stores data, the encoded values of s, until exp: under s.key,
	// or under a fresh key that it gives s. s.mu is held.
	save(ctx context.Context, s *Session, data []byte, exp time.Time) error
	// remove deletes the record stored under key.
	remove(ctx context.Context, key string) error
	// cycle gives s a new key that the next save creates, as CycleKey
	// asks. s.mu is held.
	cycle(s *Session) error
	// sealed reports whether the key is the session itself (a cookie
	// store): it must be verified before Key returns it, and a value that
	// does not decode leaves no record behind to overwrite.
	sealed() bool
}

// serverBackend keeps records in a [Store] under random keys.
type serverBackend struct{ store Store }

func (b serverBackend) accepts(v string) bool { return ValidKey(v) }

func (b serverBackend) load(ctx context.Context, key string) ([]byte, uint64, error) {
	rec, err := b.store.Load(ctx, key)
	return rec.Data, 0, err
}

func (b serverBackend) save(ctx context.Context, s *Session, data []byte, exp time.Time) error {
	if !s.storedLocked() {
		return s.createLocked(ctx, b.store, data, exp)
	}
	if err := b.store.Save(ctx, Record{Key: s.key, Data: data, Expiry: exp}, Update); err != nil {
		return wrapErr("saving session", err)
	}
	return s.updatedLocked(ctx, exp)
}

func (b serverBackend) remove(ctx context.Context, key string) error { return b.store.Delete(ctx, key) }

func (b serverBackend) cycle(s *Session) error {
	key, err := NewKey()
	if err != nil {
		return err
	}
	if s.storedLocked() {
		s.oldKey = s.key
	}
	s.key, s.mustCreate = key, true
	return nil
}

func (b serverBackend) sealed() bool { return false }

// versionedBackend is serverBackend with optimistic concurrency: loads
// return the record's version, and an update that finds the record changed
// reloads it and replays the request's changes (see Session.saveVersionedLocked).
type versionedBackend struct {
	serverBackend
	vs VersionedStore
}

func (b versionedBackend) load(ctx context.Context, key string) ([]byte, uint64, error) {
	rec, version, err := b.vs.LoadVersion(ctx, key)
	return rec.Data, version, err
}

func (b versionedBackend) save(ctx context.Context, s *Session, data []byte, exp time.Time) error {
	if !s.storedLocked() {
		return s.createLocked(ctx, b.store, data, exp)
	}
	if err := s.saveVersionedLocked(ctx, b.vs, Record{Key: s.key, Data: data, Expiry: exp}); err != nil {
		return err
	}
	return s.updatedLocked(ctx, exp)
}

// cookieBackend seals each session into its cookie through a [CookieStore].
type cookieBackend struct{ cs CookieStore }

func (b cookieBackend) accepts(v string) bool {
	return len(v) <= maxCookieBytes && cookieSafe(v)
}

func (b cookieBackend) load(ctx context.Context, key string) ([]byte, uint64, error) {
	data, _, err := b.cs.Open(ctx, key)
	return data, 0, err
}

func (b cookieBackend) save(ctx context.Context, s *Session, data []byte, exp time.Time) error {
	v, err := b.cs.Seal(ctx, data, exp)
	if err != nil {
		return wrapErr("sealing session cookie", err)
	}
	s.key = v
	return nil
}

// remove has nothing to delete: the session lives in the client's cookie,
// which the commit deletes.
func (b cookieBackend) remove(context.Context, string) error { return nil }

// cycle has nothing to do: the next save seals a new value anyway.
func (b cookieBackend) cycle(*Session) error { return nil }

func (b cookieBackend) sealed() bool { return true }

// storedLocked reports whether s.key names a record the store holds (or
// held when the session loaded), so that a save updates it rather than
// creating one. s.mu must be held.
func (s *Session) storedLocked() bool { return s.key != "" && !s.mustCreate }

// createLocked stores data under a fresh key (s.key when CycleKey drew
// it), drawing another when a key collides, then deletes the key CycleKey
// replaced and links the session to its user. s.mu must be held.
func (s *Session) createLocked(ctx context.Context, store Store, data []byte, exp time.Time) error {
	for attempt := 0; ; attempt++ {
		if s.key == "" || attempt > 0 {
			var err error
			if s.key, err = NewKey(); err != nil {
				return err
			}
		}
		err := store.Save(ctx, Record{Key: s.key, Data: data, Expiry: exp}, Create)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrKeyExists) || attempt+1 == maxCreateAttempts {
			s.key = ""
			return wrapErr("creating session", err)
		}
	}
	s.mustCreate, s.version, s.ops = false, 1, s.ops[:0]
	if s.oldKey != "" {
		if err := store.Delete(ctx, s.oldKey); err != nil {
			return wrapErr("deleting the session's previous key", err)
		}
		s.oldKey = ""
	}
	return s.linkUserLocked(ctx, true, exp)
}

// updatedLocked finishes a save that updated the record under s.key:
// nothing is left to replay, and the user index follows the session's
// user. s.mu must be held.
func (s *Session) updatedLocked(ctx context.Context, exp time.Time) error {
	s.ops = s.ops[:0]
	return s.linkUserLocked(ctx, false, exp)
}
