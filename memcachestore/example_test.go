package memcachestore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/memcachestore"
)

// A store over two memcached servers with its own client. A server that is
// down does not stop the store from being made; Ping tells.
func ExampleNewServers() {
	st, err := memcachestore.NewServers([]string{"127.0.0.1:11211", "127.0.0.1:11212"},
		memcachestore.WithPrefix("shop:session:"), memcachestore.WithTimeout(200*time.Millisecond))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Ping(ctx); err != nil {
		fmt.Println("memcached is not answering yet:", err)
	}
	key, _ := core.NewKey()
	// A 31-day session: sent to memcached as an absolute time (30-day rule).
	err = st.Save(ctx, core.Record{Key: key, Data: []byte(`{"user":42}`), Expiry: time.Now().Add(31 * 24 * time.Hour)}, core.Create)
	if err != nil {
		fmt.Println("save:", err)
		return
	}
	rec, err := st.Load(ctx, key)
	fmt.Println(string(rec.Data), err)
}

// A client built by the application (its timeout, idle connections) can be
// shared with other code; the store does not close it.
func ExampleNew() {
	client := memcache.New("127.0.0.1:11211")
	client.Timeout = 200 * time.Millisecond
	client.MaxIdleConns = 16
	st, err := memcachestore.New(client)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Prefix())
	// Output: cloakroom:session:
}

// The placement by name, as a flag or a configuration file gives it: the
// application and every other client of the pool (the cloakroom command's
// -distribution, a Django app's PyLibMCCache behaviours) must agree.
func ExampleWithDistribution() {
	for _, name := range []string{"ketama", "consistent"} {
		st, err := memcachestore.NewServers([]string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"},
			memcachestore.WithDistribution(name))
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(name, "ok")
		st.Close()
	}
	// Output:
	// ketama ok
	// memcachestore: unknown distribution "consistent" (want one of ketama_weighted, ketama, ketama+md5, modulo): invalid configuration
}
