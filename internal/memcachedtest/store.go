package memcachedtest

import (
	"testing"

	"github.com/cloakroom/cloakroom/memcachestore"
)

// Open returns a memcachestore on the servers at addrs, with opts, and
// closes it when the test ends.
func Open(tb testing.TB, addrs []string, opts ...memcachestore.Option) *memcachestore.Store {
	tb.Helper()
	st, err := memcachestore.NewServers(addrs, opts...)
	if err != nil {
		tb.Fatalf("memcachedtest: memcachestore.NewServers(%q): %v", addrs, err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// Store starts a fresh memcached (see [Start]) and returns a store on it,
// with opts (see [Open]), and the server.
func Store(tb testing.TB, opts ...memcachestore.Option) (*memcachestore.Store, *Server) {
	tb.Helper()
	srv := Start(tb)
	return Open(tb, []string{srv.Addr()}, opts...), srv
}
