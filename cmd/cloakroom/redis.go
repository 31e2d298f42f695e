package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/redisstore"
)

// redisPasswordEnv and sentinelPasswordEnv name the environment variables
// holding the Redis password and the Sentinels' own (a flag would show
// them to every user of ps).
const (
	redisPasswordEnv    = "REDIS_PASSWORD"
	sentinelPasswordEnv = "REDIS_SENTINEL_PASSWORD"
)

// redisFlags reach a Redis deployment: one server, Sentinel or Cluster,
// chosen as redis.NewUniversalClient chooses.
type redisFlags struct {
	addrs, master, user, ca string
	cluster, tls            bool
	db                      int
}

func (f *redisFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addrs, "redis", "127.0.0.1:6379",
		"Redis `addresses`, comma-separated: one server, the Sentinels (with -redis-master) or Cluster nodes (several, or -redis-cluster); the password comes from $"+redisPasswordEnv)
	fs.StringVar(&f.master, "redis-master", "", "Redis Sentinel master `name` (-redis lists the Sentinels; their password, if any, from $"+sentinelPasswordEnv+")")
	fs.BoolVar(&f.cluster, "redis-cluster", false, "Redis Cluster even with one address in -redis (a configuration endpoint)")
	fs.IntVar(&f.db, "redis-db", 0, "Redis database `number` (not on Cluster)")
	fs.StringVar(&f.user, "redis-user", "", "Redis ACL user `name`")
	fs.BoolVar(&f.tls, "redis-tls", false, "connect to Redis over TLS, verifying its certificate against the system's roots or -redis-ca")
	fs.StringVar(&f.ca, "redis-ca", "", "PEM `file` of the certificate authorities that sign Redis's TLS certificate (implies -redis-tls)")
}

// options turns the flags into go-redis's options. Calls are bounded by
// their context (ContextTimeoutEnabled) and fail fast when a server is
// down (one dial retry, not go-redis's five).
func (f *redisFlags) options() (*redis.UniversalOptions, error) {
	addrs := splitServers(f.addrs)
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: -redis is empty", errUsage)
	}
	if f.db != 0 && (f.cluster || (len(addrs) > 1 && f.master == "")) {
		return nil, fmt.Errorf("%w: -redis-db: Redis Cluster has only database 0", errUsage)
	}
	o := &redis.UniversalOptions{
		Addrs:                 addrs,
		MasterName:            f.master,
		IsClusterMode:         f.cluster && f.master == "",
		DB:                    f.db,
		Username:              f.user,
		Password:              os.Getenv(redisPasswordEnv),
		SentinelPassword:      os.Getenv(sentinelPasswordEnv),
		DialTimeout:           5 * time.Second,
		DialerRetries:         1,
		ContextTimeoutEnabled: true,
	}
	if f.tls || f.ca != "" {
		var err error
		if o.TLSConfig, err = tlsConfig(f.ca); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// sentinelMaster returns "" without -redis-master, else the master's
// address as the first Sentinel that answers names it, followed by
// "(master NAME)", or just "master NAME" when none answers.
func (f *redisFlags) sentinelMaster(ctx context.Context) string {
	if f.master == "" {
		return ""
	}
	for _, a := range splitServers(f.addrs) {
		sc := redis.NewSentinelClient(&redis.Options{Addr: a, Password: os.Getenv(sentinelPasswordEnv), DialTimeout: 2 * time.Second, DialerRetries: 1})
		got, err := sc.GetMasterAddrByName(ctx, f.master).Result()
		sc.Close()
		if err == nil && len(got) == 2 {
			return net.JoinHostPort(got[0], got[1]) + " (master " + f.master + ")"
		}
	}
	return "master " + f.master
}

// tlsConfig returns the TLS settings of a Redis connection: TLS 1.2 or
// later, the certificate verified against the roots in the PEM file ca, or
// the system's when ca is empty.
func tlsConfig(ca string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca == "" {
		return c, nil
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		return nil, fmt.Errorf("%w: -redis-ca: %w", errUsage, err)
	}
	c.RootCAs = x509.NewCertPool()
	if !c.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: -redis-ca %s holds no PEM certificate", errUsage, ca)
	}
	return c, nil
}

// kind names the deployment the flags reach.
func (f *redisFlags) kind() string {
	switch addrs := splitServers(f.addrs); {
	case f.master != "":
		return "sentinel " + f.master + " via " + strings.Join(addrs, ",")
	case f.cluster || len(addrs) > 1:
		return "cluster " + strings.Join(addrs, ",")
	default:
		return strings.Join(addrs, ",") + fmt.Sprintf(" db %d", f.db)
	}
}

// quiet drops go-redis's own log lines (a failed dial, logged before the
// error it returns): the command reports the error itself.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func openRedis(ctx context.Context, f *storeFlags) (*opened, error) {
	redis.SetLogger(quiet{})
	opts, err := f.redis.options()
	if err != nil {
		return nil, err
	}
	client := redis.NewUniversalClient(opts)
	var sopts []redisstore.Option
	if f.prefix != "" {
		sopts = append(sopts, redisstore.WithPrefix(f.prefix))
	}
	st, err := redisstore.New(client, sopts...)
	if err != nil {
		client.Close()
		if errors.Is(err, core.ErrInvalidConfig) {
			return nil, fmt.Errorf("%w: %w", errUsage, err)
		}
		return nil, err
	}
	if err := st.Ping(ctx); err != nil {
		client.Close()
		return nil, err
	}
	return &opened{
		name:          "redis " + f.redis.kind() + " (prefix " + st.Prefix() + ")",
		store:         st,
		close:         client.Close,
		expiresItself: "Redis",
		serverStats: func(ctx context.Context, w io.Writer) error {
			return redisStats(ctx, client, f.redis.sentinelMaster(ctx), w)
		},
	}, nil
}

// redisStats prints, for each master, the counters that say how its
// sessions fare: memory used and its limit, the eviction policy (an
// allkeys policy may evict live sessions, which users see as being logged
// out), keys evicted and expired, and the keys of each database. Redis
// cannot count one prefix's keys without scanning them all, so the
// counts cover every key on the server.
//
// A Sentinel failover client names no address of its own: label, when not
// empty, names its master.
func redisStats(ctx context.Context, c redis.UniversalClient, label string, w io.Writer) error {
	var masters []*redis.Client
	if cc, ok := c.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		if err := cc.ForEachMaster(ctx, func(_ context.Context, m *redis.Client) error {
			mu.Lock()
			masters = append(masters, m)
			mu.Unlock()
			return nil
		}); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		slices.SortFunc(masters, func(a, b *redis.Client) int { return strings.Compare(a.Options().Addr, b.Options().Addr) })
	} else if sc, ok := c.(*redis.Client); ok {
		masters = []*redis.Client{sc}
	}
	for _, m := range masters {
		addr := m.Options().Addr
		if label != "" {
			addr = label
		}
		info, err := m.Info(ctx, "memory", "stats", "keyspace").Result()
		if err != nil {
			return fmt.Errorf("redis %s: %w", addr, err)
		}
		got := map[string]string{}
		var dbs []string
		for _, line := range strings.Split(info, "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
			if !ok {
				continue
			}
			got[k] = v
			if strings.HasPrefix(k, "db") {
				dbs = append(dbs, k)
			}
		}
		fmt.Fprintf(w, "redis %s (all keys on the server; Redis expires sessions by itself)\n", addr)
		for _, row := range [][2]string{{"used_memory_human", "memory used"}, {"maxmemory_human", "memory limit (0B: none)"},
			{"maxmemory_policy", "eviction policy"}, {"evicted_keys", "evicted before expiry"}, {"expired_keys", "expired"}} {
			if v, ok := got[row[0]]; ok {
				fmt.Fprintf(w, "  %-24s %s\n", row[1], v)
			}
		}
		for _, db := range dbs {
			fmt.Fprintf(w, "  %-24s %s\n", db, got[db])
		}
		if p := got["maxmemory_policy"]; strings.HasPrefix(p, "allkeys-") {
			fmt.Fprintf(w, "  warning: %s may evict live sessions when memory is full (users are logged out); volatile-lru or noeviction keeps them\n", p)
		}
	}
	return nil
}
