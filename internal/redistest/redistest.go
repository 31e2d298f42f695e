// Package redistest runs Redis for tests: it finds the machine's server or
// starts redis-server processes on free ports (one server, a three-master
// Cluster, a master with a replica and three Sentinels) and kills them by
// pid when the test ends. It speaks to Redis through a few lines of the
// protocol of its own (PING, INFO, CLUSTER INFO, SENTINEL ...), not
// through a Redis client, so that the library's module graph keeps none.
// The redisstore module, the cloakroom command and the example shop use
// it.
//
// Without a redis-server binary a test skips loudly, and fails under
// CI=true (see internal/testenv); under -short it skips.
package redistest

import (
	"os"
	"os/exec"
	"testing"

	"github.com/cloakroom/cloakroom/internal/testenv"
)

// DB is the database number tests use on a shared server, so that their
// keys stay apart from an application's (which use database 0).
const DB = 15

// Binary finds a Redis program: the environment variable env (say
// REDIS_SERVER_BIN), else name on PATH, else /usr/bin/name or
// /usr/local/bin/name. It skips under -short, and ends the test through
// testenv.Missing when there is none.
func Binary(tb testing.TB, env, name string) string {
	tb.Helper()
	testenv.Short(tb, "Redis")
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			testenv.Missing(tb, "%s=%q: %v", env, p, err)
		}
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range []string{"/usr/bin/" + name, "/usr/local/bin/" + name} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testenv.Missing(tb, "no %s binary (set %s or install Redis: apt-get install -y redis-server; scripts/install-deps.sh)", name, env)
	return ""
}

// Addr returns the address of a Redis server the test may use (in
// database [DB], under a key prefix of its own that it removes): the one
// CLOAKROOM_REDIS_ADDR names, the machine's on 127.0.0.1:6379, or, when
// nothing answers there, one started for the test.
func Addr(tb testing.TB) string {
	tb.Helper()
	Binary(tb, "REDIS_SERVER_BIN", "redis-server") // required under CI=true either way
	addr := os.Getenv("CLOAKROOM_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	if Ping(addr) {
		return addr
	}
	return Start(tb, nil).Addr()
}
