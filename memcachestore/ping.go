package memcachestore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

var _ core.Pinger = (*Store)(nil)

// Ping implements [core.Pinger]: it returns nil when every server answered
// memcached's version command, and otherwise an error naming each server
// that did not.
//
// For a store made by [NewServers], every server is asked at once, each on
// a connection of its own (the client's pooled connections are left
// alone), and Ping returns by the earlier of ctx's deadline and the store's
// timeout ([WithTimeout]); a cancelled ctx ends it at once. It starts no
// goroutine that outlives the call.
//
// For a store made by [New], the store does not know the client's servers:
// Ping calls the client's own Ping, which asks the servers one after another
// and stops at the first failure, each bounded by the client's Timeout (a
// dead server may take twice that: connection, then answer) and not by ctx,
// which is only checked before the first.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memcachestore: ping: %w", err)
	}
	if s.servers == nil {
		if err := s.client.Ping(); err != nil {
			return fmt.Errorf("memcachestore: ping: %w", err)
		}
		return nil
	}
	var addrs []net.Addr
	_ = s.servers.Each(func(a net.Addr) error { addrs = append(addrs, a); return nil })
	deadline, byCtx := time.Now().Add(s.timeout), false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, byCtx = d, true
	}
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Go(func() {
			if err := pingServer(ctx, a, deadline); err != nil {
				errs[i] = fmt.Errorf("%s: %w", a, s.explain(ctx, err, byCtx))
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("memcachestore: ping: %w", err)
	}
	return nil
}

// explain says why a ping failed: ctx ended (the error then matches
// ctx.Err()), or the store's timeout passed.
func (s *Store) explain(ctx context.Context, err error, byCtx bool) error {
	timedOut := errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("%w: %w", context.Canceled, err)
	case timedOut && byCtx:
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	case timedOut:
		return fmt.Errorf("no answer within the timeout of %v: %w", s.timeout, err)
	}
	return err
}

// pingServer sends "version" to one server on a new connection, which it
// closes, and checks the answer arrives by deadline.
func pingServer(ctx context.Context, addr net.Addr, deadline time.Time) error {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(dctx, addr.Network(), addr.String())
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(deadline); err != nil {
		return err
	}
	// A cancelled ctx interrupts the exchange. The callback runs on a
	// goroutine of its own; once stop fails it has started, and is waited
	// for, so none outlives the call.
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = c.SetDeadline(time.Unix(1, 0))
		close(interrupted)
	})
	defer func() {
		if !stop() {
			<-interrupted
		}
	}()
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReaderSize(c, 64).ReadSlice('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(line), "VERSION ") {
		return fmt.Errorf("unexpected answer %.40q", line)
	}
	return nil
}
