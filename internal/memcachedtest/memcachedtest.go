// Package memcachedtest starts real memcached processes for tests.
//
// [Start] runs the memcached binary (MEMCACHED_BIN, else memcached on PATH,
// else /usr/bin/memcached) on a free loopback port, waits until it answers
// and kills it when the test ends. When no binary is found the test is
// skipped with a message starting "LOUD SKIP:", unless the environment
// variable CI is "true", in which case the test fails: CI must install
// memcached (Debian: apt-get install -y memcached). Under go test -short
// the test is skipped ("-short: needs memcached").
//
// A [Server] can be stopped and started again on the same port, which is
// how fault tests simulate a cache outage. A restarted memcached is empty.
package memcachedtest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/internal/testenv"
)

// Server is one memcached process owned by a test. Its methods are safe for
// concurrent use.
type Server struct {
	tb   testing.TB
	bin  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	out  *testenv.Buffer
}

// Binary returns the path of the memcached binary the tests will use, or
// an error saying why none was found.
func Binary() (string, error) {
	if p := os.Getenv("MEMCACHED_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("memcachedtest: MEMCACHED_BIN=%q: %w", p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("memcached"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/memcached", "/usr/local/bin/memcached", "/usr/sbin/memcached"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("memcachedtest: no memcached binary (set MEMCACHED_BIN or install memcached: apt-get install -y memcached)")
}

// Require returns the memcached binary or ends the test: a loud skip
// normally, a failure when CI=true, and a skip under -short.
func Require(tb testing.TB) string {
	tb.Helper()
	testenv.Short(tb, "memcached")
	bin, err := Binary()
	if err != nil {
		testenv.Missing(tb, "%v", err)
	}
	return bin
}

// Start starts a fresh memcached on a free 127.0.0.1 port and registers its
// shutdown with tb.Cleanup. See the package comment for skips.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: Require(tb)}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if s.port, err = testenv.FreePort(); err != nil {
			continue
		}
		if err = s.start(); err == nil {
			tb.Cleanup(s.Stop)
			return s
		}
	}
	tb.Fatalf("memcachedtest: cannot start memcached: %v", err)
	return nil
}

// StartN starts n servers (see [Start]) and returns their addresses too.
func StartN(tb testing.TB, n int) ([]*Server, []string) {
	tb.Helper()
	servers := make([]*Server, n)
	addrs := make([]string, n)
	for i := range servers {
		servers[i] = Start(tb)
		addrs[i] = servers[i].Addr()
	}
	return servers, addrs
}

// Addr returns the server's "127.0.0.1:port" address, which stays the same
// across [Server.Stop] and [Server.Restart].
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Stop kills the process and waits for it to exit. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Running reports whether the process is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Pause freezes the process (SIGSTOP) without closing its sockets: clients
// time out instead of being refused, as behind a network partition, and the
// data stays. Resume undoes it.
//
// A signal is delivered asynchronously, and a memcached thread already
// running on another CPU may still answer a request or two; Pause returns
// only once every thread of the process is stopped, so a test's next
// request meets the frozen server.
func (s *Server) Pause() {
	s.tb.Helper()
	s.signal(syscall.SIGSTOP)
	s.mu.Lock()
	pid := s.cmd.Process.Pid
	s.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for !stopped(pid) {
		if time.Now().After(deadline) {
			s.tb.Fatalf("memcachedtest: process %d did not stop within 5s of SIGSTOP", pid)
		}
		time.Sleep(time.Millisecond)
	}
}

// stopped reports whether every thread of process pid is in the stopped
// state, from /proc (Linux). Where /proc is missing it waits a moment and
// reports true.
func stopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		time.Sleep(100 * time.Millisecond)
		return true
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false
		}
		// The state is the first field after the parenthesised command name.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 || i+2 >= len(stat) || (stat[i+2] != 'T' && stat[i+2] != 't') {
			return false
		}
	}
	return true
}

// Resume continues a paused process (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.tb.Fatalf("memcachedtest: signal %v to a stopped server", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("memcachedtest: signal %v: %v", sig, err)
	}
}

// Restart starts the server again on the same port (stopping it first if
// it is running) and waits until it answers. The new process is empty.
func (s *Server) Restart() {
	s.tb.Helper()
	var err error
	for attempt := 0; attempt < 20; attempt++ { // the port may linger briefly
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.tb.Fatalf("memcachedtest: cannot restart memcached on %s: %v", s.Addr(), err)
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a paused process must run to die
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(s.port), "-U", "0", "-m", "64", "-t", "2"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root") // memcached refuses to run as root without -u
	}
	cmd := exec.Command(s.bin, args...)
	out := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := ping(s.Addr()); err == nil {
			break
		} else if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("memcached on %s did not answer: %v (output: %q)", s.Addr(), err, out.String())
		}
		select {
		case <-done:
			return fmt.Errorf("memcached on %s exited at start (output: %q)", s.Addr(), out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.cmd, s.done, s.out = cmd, done, out
	return nil
}

// Stats returns the server's general statistics ("stats" command), for
// tests that check what reached the server (cmd_get, cmd_set,
// delete_hits, delete_misses, curr_items...).
func (s *Server) Stats() (map[string]string, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return nil, fmt.Errorf("memcachedtest: stats: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("stats\r\n")); err != nil {
		return nil, fmt.Errorf("memcachedtest: stats: %w", err)
	}
	r := bufio.NewReader(c)
	stats := make(map[string]string)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("memcachedtest: stats: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "END" {
			return stats, nil
		}
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "STAT" {
			return nil, fmt.Errorf("memcachedtest: stats: unexpected line %q", line)
		}
		stats[f[1]] = f[2]
	}
}

// ping asks the server for its version.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "VERSION ") {
		return fmt.Errorf("unexpected answer %q", line)
	}
	return nil
}
