package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/internal/redistest"
	"github.com/cloakroom/cloakroom/redisstore"
)

// The tests run against real Redis:
//
//   - single server: the machine's Redis at CLOAKROOM_REDIS_ADDR (default
//     127.0.0.1:6379), database 15, each test under a prefix of its own
//     that it deletes at the end; when nothing answers there, a
//     redis-server the test starts on a free port;
//   - Cluster: three masters the test starts from redis-server on free
//     ports and joins with redis-cli --cluster create;
//   - Sentinel: a master, a replica and three sentinels the test starts
//     from redis-server on free ports (sentinel_test.go).
//
// Without a redis-server binary the tests skip loudly, and fail under
// CI=true (see internal/redistest and internal/testenv). Under -short they skip.

// testDB is the database of the shared server the tests use.
const testDB = redistest.DB

// singleClient returns a client of one Redis server: the machine's, in
// database testDB, or one started for the test.
func singleClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: redistest.Addr(t), DB: testDB, ContextTimeoutEnabled: true,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// clusterClient returns a client of cl for the test.
func clusterClient(t testing.TB, cl *redistest.Cluster) *redis.ClusterClient {
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs, ContextTimeoutEnabled: true,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// uniquePrefix returns a key prefix no other test uses.
func uniquePrefix(t testing.TB) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "cloakroomtest:" + hex.EncodeToString(b[:]) + ":"
}

// newStore returns a store over c under a fresh prefix, whose keys are
// deleted when the test ends (from every master on Cluster).
func newStore(t testing.TB, c redis.UniversalClient, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	prefix := uniquePrefix(t)
	st, err := redisstore.New(c, append([]redisstore.Option{redisstore.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropPrefix(c, prefix) })
	return st
}

// dropPrefix deletes every key under prefix.
func dropPrefix(c redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	drop := func(ctx context.Context, n redis.UniversalClient) error {
		iter := n.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			n.Del(ctx, iter.Val())
		}
		return iter.Err()
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		_ = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return drop(ctx, n) })
		return
	}
	_ = drop(ctx, c)
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustKey(t testing.TB) string {
	k, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
