// Package middlewaretest checks that a framework adapter (net/http, Gin,
// Echo) applies cloakroom's request and response rules. Each adapter's tests
// call [Run] with a function that serves a set of routes through the
// framework; the same behaviour is then checked through a real HTTP server
// with a cookie jar for every framework.
package middlewaretest

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// Response is what a route answers. Status 0 writes nothing, leaving the
// framework's implicit 200; a Status with no Body and no Stream sets only
// the status, the framework's way (WriteHeader, c.Status, c.NoContent).
type Response struct {
	Status int
	Body   string
	// Stream, when set, is written chunk by chunk with a flush after each;
	// Between runs after each flushed chunk but the last.
	Stream  []string
	Between func()
}

// Route handles one request with the request's session.
type Route func(s *core.Session, r *http.Request) Response

// Serve builds an http.Handler that runs m's middleware for the adapter
// under test and dispatches GET and POST requests by path to routes. It
// writes Response as the framework's idiom does (c.String, c.Status ...).
// Outside m's middleware it installs one of the framework's own, where a
// request logger would be, that calls outer with the status the framework
// reports once the rest of the chain has returned.
type Serve func(m *core.Manager, routes map[string]Route, outer func(status int)) http.Handler

// NewManager returns a manager over a fresh memory store with the default
// configuration, edited by edit when it is not nil: the plain manager of an
// adapter's own tests.
func NewManager(tb testing.TB, edit func(*core.Config)) *core.Manager {
	tb.Helper()
	cfg := core.DefaultConfig()
	if edit != nil {
		edit(&cfg)
	}
	m, err := core.New(memstore.New(0), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// CountingStore wraps a real store, counts calls and can be made to fail.
type CountingStore struct {
	core.Store
	Loads, Saves, Deletes atomic.Int64
	FailLoad, FailSave    atomic.Bool
	mu                    sync.Mutex
	keys                  []string // every key the manager passed in
}

// ErrInjected is the failure a CountingStore returns when told to fail.
var ErrInjected = errors.New("middlewaretest: injected store failure")

func (c *CountingStore) note(key string) {
	c.mu.Lock()
	c.keys = append(c.keys, key)
	c.mu.Unlock()
}

// Keys returns every key the store was called with.
func (c *CountingStore) Keys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.keys...)
}

// Load implements core.Store.
func (c *CountingStore) Load(ctx context.Context, key string) (core.Record, error) {
	c.Loads.Add(1)
	c.note(key)
	if c.FailLoad.Load() {
		return core.Record{}, ErrInjected
	}
	return c.Store.Load(ctx, key)
}

// Save implements core.Store.
func (c *CountingStore) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	c.Saves.Add(1)
	c.note(rec.Key)
	if c.FailSave.Load() {
		return ErrInjected
	}
	return c.Store.Save(ctx, rec, mode)
}

// Delete implements core.Store.
func (c *CountingStore) Delete(ctx context.Context, key string) error {
	c.Deletes.Add(1)
	c.note(key)
	return c.Store.Delete(ctx, key)
}
