// Package testenv holds the one rule for tests that need something outside
// the Go toolchain (a database server, memcached, Chromium, Django): when it
// is missing the test is skipped loudly, except under CI=true, where CI has
// installed and started everything and a missing part is a failure.
//
// It also holds the fast loop's rule: under go test -short, [Short] skips
// the tests that need such a part or take more than about a second, so that
// go test -short ./... needs no server and runs in seconds.
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

// Short skips the test under go test -short with the message
// "-short: needs <what>"; what names the server, program or time the test
// needs ("PostgreSQL", "Chromium", "about 20 s").
func Short(tb testing.TB, what string) {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("-short: needs %s", what)
	}
}

// servers names what the environment variables [Env] reads point to.
var servers = map[string]string{
	"CLOAKROOM_POSTGRES_DSN": "PostgreSQL",
	"CLOAKROOM_MYSQL_DSN":    "MySQL/MariaDB",
}

// Env returns the environment variable name, or ends the test through
// [Missing] when it is unset or empty. Under -short it skips the test
// (see [Short]): the variable names a server.
func Env(tb testing.TB, name string) string {
	tb.Helper()
	what, ok := servers[name]
	if !ok {
		what = "the server " + name + " names"
	}
	Short(tb, what+" ("+name+")")
	v := os.Getenv(name)
	if v == "" {
		Missing(tb, "%s is not set; set it to run this test against a real server (.ci/run sets it)", name)
	}
	return v
}
