package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Cluster is a Redis Cluster of three masters, without replicas, started
// by the test.
type Cluster struct {
	Servers []*Server
	Addrs   []string
}

// StartCluster starts three cluster-enabled redis-servers, joins them
// with redis-cli --cluster create, and waits until every node says
// cluster_state:ok. nodeTimeout is cluster-node-timeout.
func StartCluster(tb testing.TB, nodeTimeout time.Duration) *Cluster {
	tb.Helper()
	cli := Binary(tb, "REDIS_CLI_BIN", "redis-cli")
	cl := &Cluster{}
	for range 3 {
		s := Start(tb, func(port int, dir string) []string {
			return []string{"--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", port)),
				"--cluster-node-timeout", strconv.FormatInt(nodeTimeout.Milliseconds(), 10)}
		})
		cl.Servers = append(cl.Servers, s)
		cl.Addrs = append(cl.Addrs, s.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, cl.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	cl.WaitOK(tb)
	return cl
}

// WaitOK waits, at most 20 s, until every node says cluster_state:ok with
// all 16384 slots served.
func (cl *Cluster) WaitOK(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, addr := range cl.Addrs {
		for {
			info, err := Text(addr, "CLUSTER", "INFO")
			if err == nil && info["cluster_state"] == "ok" && info["cluster_slots_ok"] == "16384" {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("cluster node %s not ok within 20s: %v %v", addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
