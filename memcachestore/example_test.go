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
