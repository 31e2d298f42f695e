package testenv

import "net"

// FreePort returns a loopback TCP port nobody listens on right now, for a
// server a test starts (memcached, redis-server, Django). Another process
// may take it before the server binds it: callers retry on a start that
// fails.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
