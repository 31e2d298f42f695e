package memcachestore_test

import (
	"fmt"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloakroom/cloakroom/memcachestore"
)

// A pool that grows while the application runs: the client is built on a
// Ketama selector, and SetServers adds a fourth server. Only the keys the
// new server takes move; the others stay where they were. The placement is
// pylibmc's with {"ketama_weighted": True} over the same list, so a Django
// application with PyLibMCCache finds the same sessions.
func ExampleNewKetama() {
	k, err := memcachestore.NewKetama(memcachestore.KetamaWeighted,
		"127.0.0.2:11211", "127.0.0.3:11211", "127.0.0.4:11211")
	if err != nil {
		fmt.Println(err)
		return
	}
	client := memcache.NewFromSelector(k)
	defer client.Close()
	st, err := memcachestore.New(client, memcachestore.WithPrefix("shop:session:"))
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = st // serve requests with st

	keys := []string{"shop:session:a", "shop:session:b", "shop:session:c", "shop:session:d"}
	for _, key := range keys {
		addr, _ := k.PickServer(key)
		fmt.Println(key, "on", addr)
	}
	if err := k.SetServers("127.0.0.2:11211", "127.0.0.3:11211", "127.0.0.4:11211", "127.0.0.5:11211"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after adding 127.0.0.5:11211:")
	for _, key := range keys {
		addr, _ := k.PickServer(key)
		fmt.Println(key, "on", addr)
	}
	// Output:
	// shop:session:a on 127.0.0.3:11211
	// shop:session:b on 127.0.0.4:11211
	// shop:session:c on 127.0.0.2:11211
	// shop:session:d on 127.0.0.4:11211
	// after adding 127.0.0.5:11211:
	// shop:session:a on 127.0.0.3:11211
	// shop:session:b on 127.0.0.5:11211
	// shop:session:c on 127.0.0.2:11211
	// shop:session:d on 127.0.0.4:11211
}
