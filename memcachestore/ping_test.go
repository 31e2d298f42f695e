package memcachestore_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/memcachestore"
)

// timed runs Ping and returns its error and how long it took.
func timed(c context.Context, p core.Pinger) (time.Duration, error) {
	start := time.Now()
	err := p.Ping(c)
	return time.Since(start), err
}

func TestPingAnswers(t *testing.T) {
	_, addrs := memcachedtest.StartN(t, 3)
	for _, servers := range [][]string{addrs[:1], addrs} {
		st := memcachedtest.Open(t, servers)
		if !core.Supports(st, core.CapPing) {
			t.Fatal("core.Supports(store, CapPing) = false")
		}
		if err := st.Ping(ctx(t)); err != nil {
			t.Fatalf("Ping over %d servers: %v", len(servers), err)
		}
		m, err := core.New(st, core.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Ping(ctx(t)); err != nil {
			t.Fatalf("Manager.Ping over %d servers: %v", len(servers), err)
		}
	}
}

// A memcached that is down at start: the store is made (the cache may come
// up later), Ping says it is down, and Ping recovers once it is up.
func TestPingServerDownAtStart(t *testing.T) {
	srv := memcachedtest.Start(t)
	srv.Stop()
	st := memcachedtest.Open(t, []string{srv.Addr()})
	m, err := core.New(st, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	took, err := timed(ctx(t), m)
	if err == nil || !strings.Contains(err.Error(), srv.Addr()) {
		t.Fatalf("Manager.Ping with the server stopped = %v, want an error naming %s", err, srv.Addr())
	}
	if took > memcachestore.DefaultTimeout {
		t.Errorf("Ping of a stopped server (connection refused) took %v", took)
	}
	t.Logf("stopped server: %v after %v", err, took)

	srv.Restart()
	if err := m.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping once the server is up: %v", err)
	}
	if err := st.Save(ctx(t), core.Record{Key: mustKey(t), Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatalf("Save once the server is up: %v", err)
	}
}

// A frozen server (SIGSTOP) accepts connections but never answers: Ping
// and the store's calls fail within twice the timeout, and Ping honours a
// shorter context deadline and a cancellation.
func TestPingPausedServer(t *testing.T) {
	const timeout = 300 * time.Millisecond
	st, srv := memcachedtest.Store(t, memcachestore.WithTimeout(timeout))
	key := mustKey(t)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err) // leaves a pooled connection for the Load below
	}
	before := runtime.NumGoroutine()
	srv.Pause()

	took, err := timed(ctx(t), st)
	if err == nil || !strings.Contains(err.Error(), srv.Addr()) || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("Ping of a paused server = %v", err)
	}
	if took < timeout*9/10 || took > 2*timeout {
		t.Errorf("Ping of a paused server took %v, want about the timeout (%v)", took, timeout)
	}
	t.Logf("paused server, timeout %v: Ping failed after %v: %v", timeout, took, err)

	// The store's own calls are bounded by the same timeout.
	for name, call := range map[string]func() error{
		"Load": func() error { _, err := st.Load(ctx(t), key); return err },
		"Save": func() error {
			return st.Save(ctx(t), core.Record{Key: mustKey(t), Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create)
		},
	} {
		start := time.Now()
		err := call()
		if took := time.Since(start); err == nil || took > 2*timeout {
			t.Errorf("%s with the server paused = %v after %v, want an error within %v", name, err, took, 2*timeout)
		}
	}

	// A context deadline shorter than the timeout wins.
	long := memcachedtest.Open(t, []string{srv.Addr()}, memcachestore.WithTimeout(10*time.Second))
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	took, err = timed(short, long)
	if !errors.Is(err, context.DeadlineExceeded) || took > time.Second {
		t.Errorf("Ping with a 100ms context = %v after %v, want DeadlineExceeded soon", err, took)
	}

	// A cancellation ends it at once.
	cancelled, cancelNow := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancelNow)
	took, err = timed(cancelled, long)
	if !errors.Is(err, context.Canceled) || took > time.Second {
		t.Errorf("Ping cancelled after 100ms = %v after %v, want Canceled soon", err, took)
	}
	if err := long.Ping(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("Ping with a cancelled context = %v", err)
	}

	// Nothing was left running.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines before the pings, %d after", before, runtime.NumGoroutine())
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	srv.Resume()
	if err := st.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping after Resume: %v", err)
	}
}

// The servers are asked at once: two paused servers of three cost one
// timeout, not two, and both are named.
func TestPingServersInParallel(t *testing.T) {
	const timeout = 300 * time.Millisecond
	servers, addrs := memcachedtest.StartN(t, 3)
	st := memcachedtest.Open(t, addrs, memcachestore.WithTimeout(timeout))
	servers[0].Pause()
	servers[2].Pause()
	took, err := timed(ctx(t), st)
	if err == nil || !strings.Contains(err.Error(), addrs[0]) || !strings.Contains(err.Error(), addrs[2]) || strings.Contains(err.Error(), addrs[1]) {
		t.Fatalf("Ping with servers 0 and 2 paused = %v", err)
	}
	if took > timeout*3/2 {
		t.Errorf("Ping of two paused servers took %v, want about one timeout (%v)", took, timeout)
	}
}

// With a client the application built, Ping goes through the client's own
// Ping, bounded by the client's Timeout.
func TestPingCallerClient(t *testing.T) {
	const timeout = 300 * time.Millisecond
	srv := memcachedtest.Start(t)
	client := memcache.New(srv.Addr())
	client.Timeout = timeout
	defer client.Close()
	st, err := memcachestore.New(client)
	if err != nil {
		t.Fatal(err)
	}
	if !core.Supports(st, core.CapPing) {
		t.Fatal("core.Supports(store, CapPing) = false")
	}
	if err := st.Ping(ctx(t)); err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	took, err := timed(ctx(t), st)
	if err == nil || took > 2*timeout {
		t.Errorf("Ping of a paused server = %v after %v, want an error within %v", err, took, 2*timeout)
	}
	t.Logf("caller's client, paused server, timeout %v: Ping failed after %v", timeout, took)
	srv.Resume()
	srv.Stop()
	if err := st.Ping(ctx(t)); err == nil {
		t.Error("Ping of a stopped server succeeded")
	}
}

func TestTimeoutOption(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		if _, err := memcachestore.NewServers([]string{"127.0.0.1:1"}, memcachestore.WithTimeout(d)); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("WithTimeout(%v) = %v, want ErrInvalidConfig", d, err)
		}
	}
	if _, err := memcachestore.New(memcache.New("127.0.0.1:1"), memcachestore.WithTimeout(time.Second)); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf("New with WithTimeout = %v, want ErrInvalidConfig (the client's Timeout is the caller's)", err)
	}
	if memcachestore.DefaultTimeout != memcache.DefaultTimeout {
		t.Errorf("DefaultTimeout %v, gomemcache's %v", memcachestore.DefaultTimeout, memcache.DefaultTimeout)
	}
}
