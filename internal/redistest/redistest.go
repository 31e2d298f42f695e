// Package redistest finds a Redis server for tests outside the redisstore
// module (the cloakroom command, the example shop): the one
// CLOAKROOM_REDIS_ADDR names, the machine's on 127.0.0.1:6379, or a
// redis-server started for the test on a free port and killed when it
// ends. It speaks to Redis only to ask PING, so that the library's module
// graph keeps no Redis client.
//
// Without a redis-server binary the test skips loudly, and fails under
// CI=true (see internal/testenv); under -short it skips.
package redistest

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/internal/testenv"
)

// DB is the database number tests use on a shared server, so that their
// keys stay apart from an application's (which use database 0).
const DB = 15

// Addr returns the address of a Redis server the test may use (in
// database [DB], under a key prefix of its own that it removes).
func Addr(tb testing.TB) string {
	tb.Helper()
	testenv.Short(tb, "Redis")
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		bin = "/usr/bin/redis-server"
		if _, err := os.Stat(bin); err != nil {
			testenv.Missing(tb, "no redis-server binary (apt-get install -y redis-server; scripts/install-deps.sh)")
		}
	}
	addr := os.Getenv("CLOAKROOM_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	if Ping(addr) {
		return addr
	}
	port, err := testenv.FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tb.TempDir())
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting redis-server: %v", err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(5 * time.Second); !Ping(addr); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("redis-server on %s did not answer PING within 5 s", addr)
		}
	}
	return addr
}

// Ping reports whether a Redis server answers PING at addr within a second.
func Ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
