package redisstore_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/internal/testenv"
	"github.com/cloakroom/cloakroom/redisstore"
)

// The tests run against real Redis:
//
//   - single server: the machine's Redis at CLOAKROOM_REDIS_ADDR (default
//     127.0.0.1:6379), database 15, each test under a prefix of its own
//     that it deletes at the end; when nothing answers there, a
//     redis-server the test starts on a free port;
//   - Cluster: three masters the test starts from redis-server on free
//     ports and joins with redis-cli --cluster create;
//   - Sentinel: a master, a replica and three sentinels the test starts
//     from redis-server on free ports (sentinel_test.go).
//
// Without a redis-server binary the tests skip loudly, and fail under
// CI=true (see internal/testenv). Under -short they skip.

// binary finds a Redis program: the environment variable env, else name on
// PATH, else /usr/bin/name.
func binary(tb testing.TB, env, name string) string {
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
	testenv.Missing(tb, "no %s binary (set %s or install Redis: apt-get install -y redis-server)", name, env)
	return ""
}

// server is one redis-server process owned by a test.
type server struct {
	tb   testing.TB
	bin  string
	args []string
	port int
	cmd  *exec.Cmd
	done chan struct{}
	out  *testenv.Buffer
}

func (s *server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// startServer starts redis-server on a free port with no persistence; extra
// gives more arguments for the chosen port and data directory. The process
// is killed (by its pid) when the test ends.
func startServer(tb testing.TB, extra func(port int, dir string) []string) *server {
	tb.Helper()
	return startRedis(tb, nil, extra)
}

// startRedis is startServer whose first, when not nil, gives the arguments
// that come before all others: a configuration file and --sentinel for a
// Sentinel, which needs a config file of its own that it can rewrite.
func startRedis(tb testing.TB, first, extra func(port int, dir string) []string) *server {
	tb.Helper()
	bin := binary(tb, "REDIS_SERVER_BIN", "redis-server")
	var err error
	for range 5 {
		s := &server{tb: tb, bin: bin}
		if s.port, err = testenv.FreePort(); err != nil {
			continue
		}
		dir := tb.TempDir()
		if first != nil {
			s.args = first(s.port, dir)
		}
		s.args = append(s.args, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--logfile", "")
		if extra != nil {
			s.args = append(s.args, extra(s.port, dir)...)
		}
		if err = s.start(); err == nil {
			tb.Cleanup(s.kill)
			return s
		}
	}
	tb.Fatalf("cannot start redis-server: %v", err)
	return nil
}

func (s *server) start() error {
	s.out = new(testenv.Buffer)
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("redis-server exited: %s", s.out.String())
		default:
		}
		if pingRaw(s.addr()) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.kill()
	return fmt.Errorf("redis-server on port %d did not answer within 5s: %s", s.port, s.out.String())
}

// kill kills the process by its pid (SIGKILL: a crash, nothing saved) and
// waits for it. Killing a dead server does nothing.
func (s *server) kill() {
	if s.cmd == nil {
		return
	}
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// restart starts the killed server again with the same arguments.
func (s *server) restart() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatal(err)
	}
}

// pingRaw reports whether a Redis server answers PING at addr.
func pingRaw(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// testDB is the database of the shared server the tests use.
const testDB = 15

// singleClient returns a client of one Redis server: the machine's, in
// database testDB, or one started for the test.
func singleClient(t testing.TB) *redis.Client {
	t.Helper()
	binary(t, "REDIS_SERVER_BIN", "redis-server") // required under CI=true either way
	addr := os.Getenv("CLOAKROOM_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	if !pingRaw(addr) {
		addr = startServer(t, nil).addr()
	}
	c := redis.NewClient(&redis.Options{Addr: addr, DB: testDB, ContextTimeoutEnabled: true,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// cluster is a Redis Cluster of three masters started by the test.
type cluster struct {
	servers []*server
	addrs   []string
}

// startCluster starts three cluster-enabled redis-servers, joins them with
// redis-cli --cluster create, and waits until every node says
// cluster_state:ok. nodeTimeout is cluster-node-timeout.
func startCluster(t testing.TB, nodeTimeout time.Duration) *cluster {
	t.Helper()
	cli := binary(t, "REDIS_CLI_BIN", "redis-cli")
	cl := &cluster{}
	for range 3 {
		s := startServer(t, func(port int, dir string) []string {
			return []string{"--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", port)),
				"--cluster-node-timeout", strconv.FormatInt(nodeTimeout.Milliseconds(), 10)}
		})
		cl.servers = append(cl.servers, s)
		cl.addrs = append(cl.addrs, s.addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, cl.addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	cl.waitOK(t)
	return cl
}

// waitOK waits until every running node says cluster_state:ok.
func (cl *cluster) waitOK(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, addr := range cl.addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		for {
			info, err := c.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_slots_ok:16384") {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				t.Fatalf("cluster node %s not ok within 20s: %v %s", addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
}

// client returns a cluster client for the test.
func (cl *cluster) client(t testing.TB) *redis.ClusterClient {
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.addrs, ContextTimeoutEnabled: true,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// uniquePrefix returns a key prefix no other test uses.
func uniquePrefix(t testing.TB) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "cloakroomtest:" + hex.EncodeToString(b[:]) + ":"
}

// newStore returns a store over c under a fresh prefix, whose keys are
// deleted when the test ends (from every master on Cluster).
func newStore(t testing.TB, c redis.UniversalClient, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	prefix := uniquePrefix(t)
	st, err := redisstore.New(c, append([]redisstore.Option{redisstore.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropPrefix(c, prefix) })
	return st
}

// dropPrefix deletes every key under prefix.
func dropPrefix(c redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	drop := func(ctx context.Context, n redis.UniversalClient) error {
		iter := n.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			n.Del(ctx, iter.Val())
		}
		return iter.Err()
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		_ = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return drop(ctx, n) })
		return
	}
	_ = drop(ctx, c)
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustKey(t testing.TB) string {
	k, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
