package middlewaretest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// StallTimeout is the Config.StoreTimeout [Stall] runs with.
const StallTimeout = 300 * time.Millisecond

// Stall checks, through serve, a store that stops answering without failing
// (a blackholed network, a frozen server): with st stalled by stall and
// Config.StoreTimeout at [StallTimeout], a returning visitor's read and a
// new visitor's save each answer 503 with Retry-After from the error
// handler in well under 3 s, set no cookie and log the timeout; after
// restore, everything saved before the stall is there.
func Stall(t *testing.T, serve Serve, st core.Store, stall, restore func()) {
	x := suite{serve: serve, newStore: func(*testing.T) core.Store { return st }}
	e := x.newEnv(t, func(c *core.Config) { c.StoreTimeout = StallTimeout })
	a := e.client()
	wantStatus(t, a.get(t, "/set"), 200)
	stall()
	for _, req := range []struct {
		what string
		c    *Client
		path string
	}{{"a read (the load stalls)", a, "/peek"}, {"a new visitor (the save stalls)", e.client(), "/set"}} {
		start := time.Now()
		r := req.c.get(t, req.path)
		if d := time.Since(start); d >= 3*time.Second {
			t.Errorf("%s with a stalled store took %v with StoreTimeout %v", req.what, d, StallTimeout)
		}
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || strings.Contains(r.Body, "peeked") || strings.Contains(r.Body, "set") {
			t.Errorf("%s with a stalled store: %d %q Retry-After %q, want 503 with Retry-After from the error handler", req.what, r.Status, r.Body, r.Header.Get("Retry-After"))
		}
		if len(r.Cookies) != 0 {
			t.Errorf("%s with a stalled store set cookies %q", req.what, r.Cookies)
		}
	}
	if logs := e.logs(); !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, core.ErrStoreTimeout.Error()) {
		t.Errorf("the timeout was not logged as one: %q", logs)
	}
	restore()
	want := fmt.Sprintf("n=42 t=%s", fixedTime.Format(time.RFC3339Nano))
	if r := a.get(t, "/get"); !strings.HasPrefix(r.Body, want) {
		t.Errorf("after the stall: %d %q, want the data saved before it", r.Status, r.Body)
	}
}
