package hardening

import (
	"testing"

	"github.com/cloakroom/cloakroom/internal/adapters"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
	"github.com/cloakroom/cloakroom/internal/testenv"
	"github.com/cloakroom/cloakroom/internal/teststores"
)

// TestEveryStoreEveryFramework runs the whole behaviour suite (cookie
// defaults, hostile and invalid cookies, corrupt stored data, load and save
// failures, expiry, streaming, parallel clients) for each store through
// each framework.
func TestEveryStoreEveryFramework(t *testing.T) {
	testenv.Short(t, "about 30 s, and the servers of every store (ginsession, echosession and core run the suite over memstore)")
	stores := teststores.All(false)
	for _, name := range teststores.Names {
		for _, fw := range []string{"net/http", "gin", "echo"} {
			t.Run(name+"/"+fw, func(t *testing.T) {
				t.Parallel() // each has a store of its own: a table, a directory or a server
				middlewaretest.RunWith(t, adapters.All[fw], middlewaretest.NewStore(stores[name]))
			})
		}
	}
}
