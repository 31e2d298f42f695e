package cachedstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// Supports implements [core.CapabilityReporter]: the store offers what the
// database store offers.
func (s *Store) Supports(c core.Capability) bool { return core.Supports(s.db, c) }

func (s *Store) unsupported(c core.Capability) error {
	return fmt.Errorf("cachedstore: database store %T does not offer %v: %w", s.db, c, core.ErrUnsupported)
}

// ClearExpired implements [core.ExpiredClearer] by clearing the database;
// the cache's copies expire by themselves.
func (s *Store) ClearExpired(ctx context.Context) (int64, error) {
	if !s.Supports(core.CapClearExpired) {
		return 0, s.unsupported(core.CapClearExpired)
	}
	n, err := s.db.(core.ExpiredClearer).ClearExpired(ctx)
	if err != nil {
		return n, fmt.Errorf("cachedstore: clear expired: %w", err)
	}
	return n, nil
}

// LinkUser implements [core.UserIndex] through the database store.
func (s *Store) LinkUser(ctx context.Context, user, key string, expiry time.Time) error {
	if !s.Supports(core.CapUserIndex) {
		return s.unsupported(core.CapUserIndex)
	}
	if err := checkKey("link user", key); err != nil {
		return err
	}
	return s.db.(core.UserIndex).LinkUser(ctx, user, key, expiry)
}

// UnlinkUser implements [core.UserIndex] through the database store.
func (s *Store) UnlinkUser(ctx context.Context, key string) error {
	if !s.Supports(core.CapUserIndex) {
		return s.unsupported(core.CapUserIndex)
	}
	if err := checkKey("unlink user", key); err != nil {
		return err
	}
	return s.db.(core.UserIndex).UnlinkUser(ctx, key)
}

// DeleteUserSessions implements [core.UserIndex]: the database deletes the
// user's sessions, then their cache copies are deleted. When the database
// can name the sessions it deleted ([core.UserKeysDeleter]: memstore,
// gormstore) exactly those copies go, and every process sees the log out at
// once; otherwise (a hashkeys wrapper below), or when a cache delete fails,
// the store ends the cache generation, and other processes see it within
// the refresh interval. An error after the database deleted means copies
// may survive in other processes for that long.
func (s *Store) DeleteUserSessions(ctx context.Context, user string) (int64, error) {
	if !s.Supports(core.CapUserIndex) {
		return 0, s.unsupported(core.CapUserIndex)
	}
	if keys, err := s.DeleteUserSessionKeys(ctx, user); !errors.Is(err, core.ErrUnsupported) {
		return int64(len(keys)), err
	}
	n, err := s.db.(core.UserIndex).DeleteUserSessions(ctx, user)
	if n > 0 || err != nil {
		if berr := s.entries.endGeneration(context.WithoutCancel(ctx)); berr != nil {
			err = errors.Join(err, fmt.Errorf("cached copies may survive: %w", berr))
		}
	}
	if err != nil {
		return n, fmt.Errorf("cachedstore: delete user sessions: %w", err)
	}
	return n, nil
}

// DeleteUserSessionKeys implements [core.UserKeysDeleter] when the
// database store does: see DeleteUserSessions. Otherwise it returns an
// error wrapping [core.ErrUnsupported] and deletes nothing.
func (s *Store) DeleteUserSessionKeys(ctx context.Context, user string) ([]string, error) {
	kd, ok := s.db.(core.UserKeysDeleter)
	if !ok || !s.Supports(core.CapUserIndex) {
		return nil, fmt.Errorf("cachedstore: database store %T cannot name the sessions it deletes: %w", s.db, core.ErrUnsupported)
	}
	keys, err := kd.DeleteUserSessionKeys(ctx, user)
	if err != nil {
		return nil, err // unsupported, or the transaction failed: nothing deleted
	}
	for _, key := range keys {
		if err := s.invalidate(ctx, key); err != nil {
			return keys, fmt.Errorf("cachedstore: delete user sessions: %w", err)
		}
	}
	return keys, nil
}

// Ping implements [core.Pinger] when the database store does: it returns
// the database's answer. The store works through the database while the
// cache is down, so a health check built on Ping must not fail for the
// cache: when the cache can be pinged and does not answer, Ping records
// and logs the outage (once per burst, as for any failing cache call) and
// still returns nil.
func (s *Store) Ping(ctx context.Context) error {
	if !s.Supports(core.CapPing) {
		return s.unsupported(core.CapPing)
	}
	if err := s.db.(core.Pinger).Ping(ctx); err != nil {
		return fmt.Errorf("cachedstore: database: %w", err)
	}
	if core.Supports(s.cache, core.CapPing) {
		if err := s.cache.(core.Pinger).Ping(ctx); err != nil {
			s.failed("ping", err)
		} else {
			s.succeeded(false)
		}
	}
	return nil
}
