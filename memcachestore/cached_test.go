package memcachestore_test

import (
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/core/storetest"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
)

// cachedstore with memcached (one server and three) in front of memstore.
func TestConformanceCachedOverMemstore(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run(map[int]string{1: "one-server", 3: "three-servers"}[n], func(t *testing.T) {
			_, addrs := memcachedtest.StartN(t, n)
			storetest.Run(t, func(t *testing.T) core.Store {
				st, err := cachedstore.New(memcachedtest.Open(t, addrs), memstore.New(0))
				if err != nil {
					t.Fatal(err)
				}
				return st
			}, storetest.Options{})
		})
	}
}
