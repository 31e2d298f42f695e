package gormstore

import (
	"context"
	"fmt"

	"github.com/cloakroom/cloakroom/core"
)

var (
	_ core.VersionedStore     = (*Store)(nil)
	_ core.UserIndex          = (*Store)(nil)
	_ core.UserKeysDeleter    = (*Store)(nil)
	_ core.UserSessionLister  = (*Store)(nil)
	_ core.Pinger             = (*Store)(nil)
	_ core.CapabilityReporter = (*Store)(nil)
)

// Supports implements [core.CapabilityReporter]: versioning needs
// [WithVersioning] and the user index [WithUserIndex]; clearing expired
// sessions and Ping always work.
func (s *Store) Supports(c core.Capability) bool {
	switch c {
	case core.CapVersioning:
		return s.cfg.versioning
	case core.CapUserIndex:
		return s.cfg.userIndex
	case core.CapClearExpired, core.CapPing:
		return true
	}
	return false
}

// Ping implements [core.Pinger]: it checks that the database answers
// within ctx.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("gormstore: ping: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("gormstore: ping: %w", err)
	}
	return nil
}
