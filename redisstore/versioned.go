package redisstore

import (
	"context"
	"strconv"

	"github.com/cloakroom/cloakroom/core"
)

var _ core.VersionedStore = (*Store)(nil)

// LoadVersion implements [core.VersionedStore]: the version is the
// session's counter, 1 at creation and one more on every write (Save or
// SaveVersion), so the manager can predict the next one.
func (s *Store) LoadVersion(ctx context.Context, key string) (core.Record, uint64, error) {
	return s.load(ctx, key)
}

// SaveVersion implements [core.VersionedStore]: one script on the server
// compares the session's version with version and writes only if they are
// equal, returning an error wrapping [core.ErrVersionConflict] otherwise
// and [core.ErrSessionDeleted] when the session is gone. A record whose
// expiry has passed deletes the session (at that version only).
func (s *Store) SaveVersion(ctx context.Context, rec core.Record, version uint64) error {
	return s.update(ctx, "versioned update", rec, strconv.FormatUint(version, 10))
}
