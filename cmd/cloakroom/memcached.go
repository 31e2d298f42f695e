package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/memcachestore"
)

func openMemcached(f *storeFlags) (*opened, error) {
	servers := splitServers(f.servers)
	if len(servers) == 0 {
		return nil, fmt.Errorf("%w: -servers is empty", errUsage)
	}
	opts := []memcachestore.Option{memcachestore.WithDistribution(f.distribution)}
	if f.prefix != "" {
		opts = append(opts, memcachestore.WithPrefix(f.prefix))
	}
	st, err := memcachestore.NewServers(servers, opts...)
	if err != nil {
		if errors.Is(err, core.ErrInvalidConfig) {
			return nil, fmt.Errorf("%w: %w", errUsage, err)
		}
		return nil, err
	}
	return &opened{
		name:          "memcached " + strings.Join(servers, ",") + " (" + f.distribution + ")",
		store:         st,
		close:         st.Close,
		expiresItself: "memcached",
		serverStats: func(ctx context.Context, w io.Writer) error {
			for _, addr := range servers {
				if err := serverStats(ctx, addr, w); err != nil {
					return err
				}
			}
			return nil
		},
	}, nil
}

// serverStats prints the counters of one memcached server that say how
// many sessions it holds. Memcached cannot list its keys, so these cover
// every item on the server, sessions or not.
func serverStats(ctx context.Context, addr string, w io.Writer) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("memcached %s: %w", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "stats\r\n"); err != nil {
		return fmt.Errorf("memcached %s: %w", addr, err)
	}
	want := map[string]string{"curr_items": "items stored", "bytes": "bytes used", "limit_maxbytes": "memory limit",
		"evictions": "evicted before expiry", "expired_unfetched": "expired unread", "get_hits": "hits", "get_misses": "misses"}
	got := map[string]string{}
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		line := sc.Text()
		if line == "END" {
			break
		}
		if f := strings.Fields(line); len(f) == 3 && f[0] == "STAT" {
			got[f[1]] = f[2]
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("memcached %s: %w", addr, err)
	}
	fmt.Fprintf(w, "memcached %s (all items on the server; memcached expires sessions by itself)\n", addr)
	for _, k := range []string{"curr_items", "bytes", "limit_maxbytes", "evictions", "expired_unfetched", "get_hits", "get_misses"} {
		if v, ok := got[k]; ok {
			fmt.Fprintf(w, "  %-24s %s\n", want[k], v)
		}
	}
	return nil
}
