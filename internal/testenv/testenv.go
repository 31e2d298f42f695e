// Package testenv holds the one rule for tests that need something outside
// the Go toolchain (a database server, memcached, Chromium, Django): when it
// is missing the test is skipped loudly, except under CI=true, where CI has
// installed and started everything and a missing part is a failure.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// Missing ends the test because what it needs is missing: a failure under
// CI=true, otherwise a skip whose message starts with "LOUD SKIP". what says
// what is missing and how to get it.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	what := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		tb.Fatalf("required under CI=true: %s", what)
	}
	tb.Skipf("LOUD SKIP: %s", what)
}

// Env returns the environment variable name, or ends the test through
// [Missing] when it is unset or empty.
func Env(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		Missing(tb, "%s is not set; set it to run this test against a real server (.ci/run sets it)", name)
	}
	return v
}
