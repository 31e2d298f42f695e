package redisstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/redisstore"
)

// A manager over one Redis server, in the atomic mode. The client's
// ContextTimeoutEnabled lets Config.StoreTimeout bound every store call.
// New does not contact Redis: Ping tells whether it answers.
func ExampleNew() {
	client := redis.NewClient(&redis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	st, err := redisstore.New(client, redisstore.WithPrefix("shop:session:"))
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := core.DefaultConfig()
	cfg.Optimistic = true // 50 parallel cart adds lose nothing
	m, err := core.New(st, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := m.Ping(ctx); err != nil {
		fmt.Println("Redis is not answering:", err)
	}
	fmt.Println(st.Prefix(), m.Supports(core.CapVersioning), m.Supports(core.CapUserIndex))
	// Output: shop:session: true true
}

// One store serves Redis Cluster (and Sentinel, through
// redis.NewFailoverClient or redis.NewUniversalClient): every command of the
// store touches one key, so it works whatever the slots.
func ExampleNew_cluster() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	st, err := redisstore.New(client)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Prefix())
	// Output: cloakroom:session:
}

// One store serves Sentinel: redis.NewUniversalClient with MasterName
// returns a failover client, which asks the sentinels where the master is
// and follows it when they promote a replica. The short dial settings make
// requests fail fast (500) while the master is down instead of retrying
// each dial for 0.4 s; see "Time limits and failures" in the package
// documentation.
func ExampleNew_sentinel() {
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		MasterName:            "mymaster",
		Addrs:                 []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"},
		ContextTimeoutEnabled: true,
		DialTimeout:           250 * time.Millisecond,
		DialerRetries:         1,
		MaxRetries:            1,
	})
	defer client.Close()
	st, err := redisstore.New(client)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := core.New(st, core.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = m // m.Handler(mux) serves the application
}

// Log out everywhere, after a password change: every session linked to the
// user (by Session.Login) is deleted.
func ExampleStore_DeleteUserSessions() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer client.Close()
	st, _ := redisstore.New(client)
	m, _ := core.New(st, core.DefaultConfig())
	n, err := m.LogoutEverywhere(context.Background(), "42")
	if err != nil {
		fmt.Println("Redis failed:", err)
		return
	}
	fmt.Println(n, "sessions ended")
}
