package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/cloakroom/cloakroom/core"
)

var (
	_ core.Pinger             = (*Store)(nil)
	_ core.CapabilityReporter = (*Store)(nil)
)

// Ping implements [core.Pinger]: it returns nil when Redis answered PING
// within ctx. On Redis Cluster every master is asked (a master that is down
// holds the sessions of its slots), through the client's view of the
// cluster.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	var err error
	if c, ok := s.client.(*redis.ClusterClient); ok {
		err = c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			if err := node.Ping(ctx).Err(); err != nil {
				return fmt.Errorf("%s: %w", node.Options().Addr, err)
			}
			return nil
		})
	} else {
		err = s.client.Ping(ctx).Err()
	}
	if err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// Supports implements [core.CapabilityReporter]: the store offers
// versioning ([core.VersionedStore]), the user index ([core.UserIndex]) and
// Ping ([core.Pinger]). It does not clear expired records: Redis expires
// them itself.
func (s *Store) Supports(c core.Capability) bool {
	switch c {
	case core.CapVersioning, core.CapUserIndex, core.CapPing:
		return true
	}
	return false
}
