package redistest

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/internal/testenv"
)

// Server is one redis-server process owned by a test.
type Server struct {
	// Port is the port it listens on, on 127.0.0.1.
	Port int
	tb   testing.TB
	bin  string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
	out  *testenv.Buffer
}

// Addr returns the server's address.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Start starts redis-server on a free port of 127.0.0.1, without
// persistence, in a directory of its own; extra, when not nil, gives more
// arguments for the chosen port and directory. The process is killed (by
// its pid) when the test ends.
func Start(tb testing.TB, extra func(port int, dir string) []string) *Server {
	tb.Helper()
	return StartWith(tb, nil, extra)
}

// StartWith is [Start] whose first, when not nil, gives the arguments that
// come before all others: a configuration file and --sentinel for a
// Sentinel, which needs a file of its own that it can rewrite.
func StartWith(tb testing.TB, first, extra func(port int, dir string) []string) *Server {
	tb.Helper()
	bin := Binary(tb, "REDIS_SERVER_BIN", "redis-server")
	var err error
	for range 5 { // a free port can be taken before the server binds it
		s := &Server{tb: tb, bin: bin}
		if s.Port, err = testenv.FreePort(); err != nil {
			continue
		}
		dir := tb.TempDir()
		if first != nil {
			s.args = first(s.Port, dir)
		}
		s.args = append(s.args, "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--logfile", "")
		if extra != nil {
			s.args = append(s.args, extra(s.Port, dir)...)
		}
		if err = s.start(); err == nil {
			tb.Cleanup(s.Kill)
			return s
		}
	}
	tb.Fatalf("cannot start redis-server: %v", err)
	return nil
}

func (s *Server) start() error {
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
		if Ping(s.Addr()) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Kill()
	return fmt.Errorf("redis-server on port %d did not answer within 5s: %s", s.Port, s.out.String())
}

// Kill kills the process by its pid (SIGKILL: a crash, nothing saved) and
// waits for it. Killing a dead server does nothing.
func (s *Server) Kill() {
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

// Restart starts the killed server again with the same arguments.
func (s *Server) Restart() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatal(err)
	}
}
