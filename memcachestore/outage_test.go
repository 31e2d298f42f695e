package memcachestore_test

import (
	"testing"

	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/internal/outagetest"
)

// The cached_db fault test over an in-memory database. gormstore runs the
// same test over SQLite.
func TestCartOutageMemstore(t *testing.T) {
	for _, fault := range []outagetest.Fault{outagetest.Kill, outagetest.Pause} {
		t.Run(fault.String(), func(t *testing.T) { outagetest.Cart(t, memstore.New(0), fault) })
	}
}
