package cachedstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// Two memory stores stand in for memcached (memcachestore) and a database
// (gormstore) here; any two core.Store values work.
func Example() {
	cache, db := memstore.New(0), memstore.New(0)
	st, err := cachedstore.New(cache, db, cachedstore.WithRetryInterval(time.Second))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	key, _ := core.NewKey()
	rec := core.Record{Key: key, Data: []byte(`{"cart":["apple"]}`), Expiry: time.Now().Add(14 * 24 * time.Hour)}
	if err := st.Save(ctx, rec, core.Create); err != nil { // database, then cache
		panic(err)
	}
	_ = cache.Delete(ctx, key)    // the cache loses its copy (eviction, restart)
	got, err := st.Load(ctx, key) // served by the database, cache refilled
	fmt.Println(string(got.Data), err)
	_, err = cache.Load(ctx, key)
	fmt.Println("cached again:", err == nil)
	// Output:
	// {"cart":["apple"]} <nil>
	// cached again: true
}
