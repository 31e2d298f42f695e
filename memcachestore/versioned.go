package memcachestore

import (
	"context"
	"errors"
	"fmt"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/cloakroom/cloakroom/core"
)

var _ core.VersionedStore = (*Store)(nil)

// LoadVersion implements [core.VersionedStore]: the version is memcached's
// CAS unique of the item, which changes on every write.
func (s *Store) LoadVersion(ctx context.Context, key string) (core.Record, uint64, error) {
	mkey, err := s.begin(ctx, "load", key)
	if err != nil {
		return core.Record{}, 0, err
	}
	it, err := s.client.Get(mkey)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return core.Record{}, 0, fmt.Errorf("memcachestore: load: %w", core.ErrNotFound)
	}
	if err != nil {
		return core.Record{}, 0, fmt.Errorf("memcachestore: load: %w", err)
	}
	rec, err := s.record(key, it)
	if err != nil {
		return core.Record{}, 0, err
	}
	return rec, it.CasID, nil
}

// SaveVersion implements [core.VersionedStore] with memcached's cas command:
// the write succeeds only if nobody wrote the item since it was loaded.
func (s *Store) SaveVersion(ctx context.Context, rec core.Record, version uint64) error {
	mkey, err := s.begin(ctx, "save", rec.Key)
	if err != nil {
		return err
	}
	exp, live := expiration(rec.Expiry, s.now())
	if !live {
		return s.Save(ctx, rec, core.Update) // deletes it
	}
	it, err := s.item(mkey, rec, exp)
	if err != nil {
		return err
	}
	it.CasID = version
	switch err := s.client.CompareAndSwap(it); {
	case err == nil:
		return nil
	case errors.Is(err, memcache.ErrCASConflict):
		return fmt.Errorf("memcachestore: versioned update: %w", core.ErrVersionConflict)
	case errors.Is(err, memcache.ErrCacheMiss), errors.Is(err, memcache.ErrNotStored):
		return fmt.Errorf("memcachestore: versioned update: %w", core.ErrSessionDeleted)
	default:
		return fmt.Errorf("memcachestore: versioned update: %w", err)
	}
}
