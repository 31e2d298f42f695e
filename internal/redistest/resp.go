package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Ping reports whether a Redis server answers PING at addr within a
// second: PONG, or NOAUTH from a server that wants a password.
func Ping(addr string) bool {
	reply, err := Do(addr, "PING")
	var re ReplyError
	return err == nil && reply == "PONG" || errors.As(err, &re) && strings.HasPrefix(string(re), "NOAUTH")
}

// ReplyError is an error reply of the server.
type ReplyError string

func (e ReplyError) Error() string { return string(e) }

// Do sends one command to the Redis server at addr on a connection of its
// own and returns the reply: a string (simple or bulk), an int64, a []any,
// nil for a nil reply, or an error: a [ReplyError] for an error reply, or
// the failure (no answer within a second among them).
func Do(addr string, args ...string) (any, error) {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		return nil, err
	}
	return readReply(bufio.NewReader(c))
}

func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("redistest: empty reply line")
	}
	switch body := line[1:]; line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, ReplyError(body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readReply(r); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("redistest: unexpected reply %q", line)
}

// Text runs a command whose reply is text (INFO, CLUSTER INFO) and returns
// it as "field:value" pairs.
func Text(addr string, args ...string) (map[string]string, error) {
	reply, err := Do(addr, args...)
	if err != nil {
		return nil, err
	}
	s, ok := reply.(string)
	if !ok {
		return nil, fmt.Errorf("redistest: %s: reply %v is not text", args[0], reply)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	return fields, nil
}

// pairs turns a flat [field, value, ...] reply (SENTINEL MASTER) into a map.
func pairs(reply any) map[string]string {
	m := map[string]string{}
	list, _ := reply.([]any)
	for i := 0; i+1 < len(list); i += 2 {
		k, _ := list[i].(string)
		v, _ := list[i+1].(string)
		m[k] = v
	}
	return m
}
