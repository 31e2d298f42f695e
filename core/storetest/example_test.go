package storetest_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cookiestore"
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

// A store that keeps the session in the cookie runs the cookie suite.
func ExampleRunCookieStore() {
	// In mycookiestore_test.go:
	testMyCookieStore := func(t *testing.T) {
		storetest.RunCookieStore(t, func(t *testing.T) core.CookieStore {
			st, err := cookiestore.New(bytes.Repeat([]byte("k"), 32))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}, storetest.CookieOptions{})
	}
	_ = testMyCookieStore
}
