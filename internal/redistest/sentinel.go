package redistest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SentinelName is the name the Sentinels of [StartSentinels] monitor their
// master under.
const SentinelName = "cloakroom"

// Sentinels is a master, its replica and three Sentinels watching them
// (quorum 2, down-after-milliseconds 1000, failover-timeout 3000), all
// started by the test.
type Sentinels struct {
	Master, Replica *Server
	Sentinels       []*Server
	// Addrs are the Sentinels' addresses, what a client is given.
	Addrs []string
}

// StartSentinels starts a master, a replica of it and three Sentinels, and
// waits until the replica is in sync and every Sentinel sees the master,
// the replica and the two other Sentinels (so that a failover can be
// voted).
func StartSentinels(tb testing.TB) *Sentinels {
	tb.Helper()
	began := time.Now()
	sn := &Sentinels{}
	sn.Master = Start(tb, func(int, string) []string {
		// The full sync to the replica starts at once, not after 5 s
		// (Redis 7's default wait for more replicas to share a diskless sync).
		return []string{"--repl-diskless-sync-delay", "0"}
	})
	sn.Replica = Start(tb, func(int, string) []string {
		return []string{"--replicaof", "127.0.0.1", strconv.Itoa(sn.Master.Port)}
	})
	WaitReplicaInSync(tb, sn.Master, sn.Replica)
	// Started after the replica is in sync: a Sentinel learns the replicas
	// from the master's INFO, which it asks at once, then every 10 s.
	for range 3 {
		s := StartWith(tb, func(_ int, dir string) []string {
			conf := filepath.Join(dir, "sentinel.conf") // rewritten by the Sentinel: one file each
			text := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 2\n"+
				"sentinel down-after-milliseconds %[1]s 1000\n"+
				"sentinel failover-timeout %[1]s 3000\n"+
				"sentinel parallel-syncs %[1]s 1\n", SentinelName, sn.Master.Port)
			if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
				tb.Fatal(err)
			}
			return []string{conf, "--sentinel"}
		}, nil)
		sn.Sentinels = append(sn.Sentinels, s)
		sn.Addrs = append(sn.Addrs, s.Addr())
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, addr := range sn.Addrs {
		for {
			err := sn.ready(addr)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("sentinel %s not ready within 20s: %v", addr, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	tb.Logf("master %s, replica %s, sentinels %v ready in %v", sn.Master.Addr(), sn.Replica.Addr(), sn.Addrs, time.Since(began).Round(time.Millisecond))
	return sn
}

// WaitReplicaInSync waits, at most 10 s, until replica has finished its
// sync with master and master counts it online.
func WaitReplicaInSync(tb testing.TB, master, replica *Server) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rinfo, rerr := Text(replica.Addr(), "INFO", "replication")
		minfo, merr := Text(master.Addr(), "INFO", "replication")
		if rerr == nil && merr == nil && rinfo["master_link_status"] == "up" && rinfo["master_sync_in_progress"] == "0" &&
			minfo["connected_slaves"] == "1" && strings.Contains(minfo["slave0"], "state=online") {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("replica %s not in sync with %s within 10s: %v %v\nreplica: %v\nmaster: %v", replica.Addr(), master.Addr(), rerr, merr, rinfo, minfo)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ready checks what one Sentinel knows: the master by
// get-master-addr-by-name, up with one replica and two other Sentinels,
// and the replica, up and linked to the master.
func (sn *Sentinels) ready(addr string) error {
	if got := sn.masterAddr(addr); got != sn.Master.Addr() {
		return fmt.Errorf("get-master-addr-by-name = %q, want %s", got, sn.Master.Addr())
	}
	reply, err := Do(addr, "SENTINEL", "MASTER", SentinelName)
	if err != nil {
		return err
	}
	m := pairs(reply)
	if m["flags"] != "master" || m["num-slaves"] != "1" || m["num-other-sentinels"] != "2" {
		return fmt.Errorf("master flags %q, %s replicas, %s other sentinels; want master, 1, 2", m["flags"], m["num-slaves"], m["num-other-sentinels"])
	}
	reply, err = Do(addr, "SENTINEL", "REPLICAS", SentinelName)
	if err != nil {
		return err
	}
	list, _ := reply.([]any)
	if len(list) != 1 {
		return fmt.Errorf("%d replicas listed, want 1", len(list))
	}
	r := pairs(list[0])
	if net.JoinHostPort(r["ip"], r["port"]) != sn.Replica.Addr() || r["flags"] != "slave" || r["master-link-status"] != "ok" {
		return fmt.Errorf("replica %s:%s flags %q link %q, want %s slave ok", r["ip"], r["port"], r["flags"], r["master-link-status"], sn.Replica.Addr())
	}
	return nil
}

// masterAddr returns the master's address as the Sentinel at addr names it,
// or "" when it does not answer.
func (sn *Sentinels) masterAddr(addr string) string {
	reply, err := Do(addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelName)
	list, _ := reply.([]any)
	if err != nil || len(list) != 2 {
		return ""
	}
	host, _ := list[0].(string)
	port, _ := list[1].(string)
	return net.JoinHostPort(host, port)
}

// MasterAddrs returns the master's address as each Sentinel names it (""
// for a Sentinel that did not answer).
func (sn *Sentinels) MasterAddrs() []string {
	addrs := make([]string, len(sn.Addrs))
	for i, addr := range sn.Addrs {
		addrs[i] = sn.masterAddr(addr)
	}
	return addrs
}
