package storetest_test

import (
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/core/storetest"
)

// A store package runs the whole suite from one of its tests. Stores that
// keep expiry in whole seconds say so; a cache that cannot tell an update of
// a deleted session from a create sets NoUpdateDetection.
func ExampleRun() {
	// In mystore_test.go:
	testMyStore := func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) core.Store {
			return memstore.New(0) // a fresh store (or a shared backend) per subtest
		}, storetest.Options{ExpiryResolution: time.Second})
	}
	_ = testMyStore
}
