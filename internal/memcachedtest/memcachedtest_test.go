package memcachedtest_test

import (
	"net"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/internal/memcachedtest"
)

func TestStartStopRestart(t *testing.T) {
	srv := memcachedtest.Start(t)
	addr := srv.Addr()
	dial := func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatalf("started server does not accept connections: %v", err)
	}
	srv.Stop()
	if srv.Running() {
		t.Fatal("Running after Stop")
	}
	if err := dial(); err == nil {
		t.Fatal("stopped server still accepts connections")
	}
	srv.Restart()
	if srv.Addr() != addr {
		t.Fatalf("restarted on %s, want %s", srv.Addr(), addr)
	}
	if err := dial(); err != nil {
		t.Fatalf("restarted server does not accept connections: %v", err)
	}
}

func TestStats(t *testing.T) {
	srv := memcachedtest.Start(t)
	st, err := srv.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st["cmd_get"] != "0" || st["pid"] == "" {
		t.Fatalf("unexpected stats of a fresh server: cmd_get=%q pid=%q", st["cmd_get"], st["pid"])
	}
}

func TestPauseResume(t *testing.T) {
	srv := memcachedtest.Start(t)
	srv.Pause()
	c, err := net.Dial("tcp", srv.Addr()) // the kernel still accepts...
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := c.Read(buf); err == nil { // ...but nobody answers
		t.Fatal("paused server answered")
	}
	srv.Resume()
	if _, err := srv.Stats(); err != nil {
		t.Fatalf("resumed server does not answer: %v", err)
	}
}
