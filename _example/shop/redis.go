package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/redisstore"
)

// redisPasswordEnv and sentinelPasswordEnv name the environment variables
// holding the Redis password and the Sentinels' own, as for the cloakroom
// command.
const (
	redisPasswordEnv    = "REDIS_PASSWORD"
	sentinelPasswordEnv = "REDIS_SENTINEL_PASSWORD"
)

// openRedis opens the Redis store the -redis flags reach: one server,
// Sentinel or Cluster, as redis.NewUniversalClient chooses. Its calls are
// bounded by the request's context (core.Config.StoreTimeout), and a dead
// server fails a request after one dial retry rather than go-redis's five.
func openRedis(f storeFlags) (core.Store, func(), error) {
	var addrs []string
	for _, a := range strings.Split(f.redis.addrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return nil, nil, errors.New("-redis is empty")
	}
	opts := &redis.UniversalOptions{
		Addrs:                 addrs,
		MasterName:            f.redis.master,
		IsClusterMode:         f.redis.cluster && f.redis.master == "",
		DB:                    f.redis.db,
		Username:              f.redis.user,
		Password:              os.Getenv(redisPasswordEnv),
		SentinelPassword:      os.Getenv(sentinelPasswordEnv),
		DialerRetries:         1,
		ContextTimeoutEnabled: true,
	}
	if f.redis.tls || f.redis.ca != "" {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if f.redis.ca != "" {
			pem, err := os.ReadFile(f.redis.ca)
			if err != nil {
				return nil, nil, err
			}
			opts.TLSConfig.RootCAs = x509.NewCertPool()
			if !opts.TLSConfig.RootCAs.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("-redis-ca %s holds no PEM certificate", f.redis.ca)
			}
		}
	}
	client := redis.NewUniversalClient(opts)
	var sopts []redisstore.Option
	if f.prefix != "" {
		sopts = append(sopts, redisstore.WithPrefix(f.prefix))
	}
	st, err := redisstore.New(client, sopts...)
	if err != nil {
		_ = client.Close()
		return nil, nil, err
	}
	return st, func() { _ = client.Close() }, nil
}
