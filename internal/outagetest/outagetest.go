// Package outagetest is the fault test of the cached_db composition: a
// core/cachedstore with memcachestore (a real memcached started by the
// test) in front of a database store that the caller chooses, so the same
// test runs over memstore, gormstore with SQLite, or any durable store.
package outagetest

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/memcachestore"
)

// Fault says how memcached fails during the run.
type Fault int

const (
	// Kill stops the process; it is restarted empty on the same port.
	Kill Fault = iota
	// Pause freezes the process (calls time out, its data is kept, as
	// behind a network partition); it then resumes with its old, stale
	// copy of the cart.
	Pause
)

func (f Fault) String() string {
	if f == Pause {
		return "pause"
	}
	return "kill"
}

// Ops is the number of cart operations; the fault spans the middle third.
const Ops = 60

// countingDB counts the loads that reach the database.
type countingDB struct {
	core.Store
	loads atomic.Int64
}

func (c *countingDB) Load(ctx context.Context, key string) (core.Record, error) {
	c.loads.Add(1)
	return c.Store.Load(ctx, key)
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Cart runs [Ops] sequential "add item to cart" operations (load the
// session, append an item, save it with core.Update) through a cachedstore
// of memcached over db, and fails memcached for the middle third of them.
// Every operation must succeed, every item must be there afterwards, the
// failure and the recovery must each be logged once, and once memcached is
// back reads must be served by it again, not by db.
func Cart(t *testing.T, db core.Store, fault Fault) {
	t.Helper()
	srv := memcachedtest.Start(t)
	client := memcache.New(srv.Addr())
	client.Timeout = 100 * time.Millisecond
	t.Cleanup(func() { _ = client.Close() })
	mc, err := memcachestore.New(client, memcachestore.WithPrefix("cart:"))
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingDB{Store: db}
	logs := &lockedBuf{}
	st, err := cachedstore.New(mc, counted,
		cachedstore.WithLogger(slog.New(slog.NewTextHandler(logs, nil))),
		cachedstore.WithRetryInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("cachedstore log:\n%s", logs)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, core.Record{Key: key, Data: []byte(`{"cart":[]}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	type session struct {
		Cart []int `json:"cart"`
	}
	addItem := func(item int) error {
		rec, err := st.Load(ctx, key)
		if err != nil {
			return err
		}
		var s session
		if err := json.Unmarshal(rec.Data, &s); err != nil {
			return err
		}
		s.Cart = append(s.Cart, item)
		if rec.Data, err = json.Marshal(s); err != nil {
			return err
		}
		return st.Save(ctx, rec, core.Update)
	}
	for i := 0; i < Ops; i++ {
		switch i {
		case Ops / 3:
			if fault == Pause {
				srv.Pause()
			} else {
				srv.Stop()
			}
		case 2 * Ops / 3:
			if fault == Pause {
				srv.Resume()
			} else {
				srv.Restart()
			}
		}
		if err := addItem(i); err != nil {
			t.Fatalf("add item %d (memcached %s during items %d..%d): %v", i, fault, Ops/3, 2*Ops/3-1, err)
		}
		time.Sleep(2 * time.Millisecond) // let the retry interval pass now and then
	}

	want := make([]int, Ops)
	for i := range want {
		want[i] = i
	}
	check := func(from string, data []byte) {
		t.Helper()
		var s session
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatalf("%s: %v", from, err)
		}
		if len(s.Cart) != Ops {
			t.Fatalf("%s: cart has %d items, want %d: %v", from, len(s.Cart), Ops, s.Cart)
		}
		for i, v := range s.Cart {
			if v != want[i] {
				t.Fatalf("%s: cart = %v, want 0..%d in order", from, s.Cart, Ops-1)
			}
		}
	}
	rec, err := st.Load(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	check("cached store", rec.Data)
	dbRec, err := db.Load(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	check("database", dbRec.Data)

	// Reads go through memcached again: it holds the full cart and serves
	// it without touching the database.
	cached, err := mc.Load(ctx, key)
	if err != nil {
		t.Fatalf("memcached has no copy after recovery: %v", err)
	}
	data, ok := cachedstore.EntryData(cached.Data)
	if !ok {
		t.Fatalf("memcached holds %.40q, not a cachedstore entry", cached.Data)
	}
	check("memcached", data)
	before := counted.loads.Load()
	for i := 0; i < 5; i++ {
		if _, err := st.Load(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if n := counted.loads.Load() - before; n != 0 {
		t.Fatalf("%d database loads after recovery, want 0 (reads should hit memcached)", n)
	}
	if n := strings.Count(logs.String(), "cache failing"); n != 1 {
		t.Errorf("outage logged %d times, want once", n)
	}
	if n := strings.Count(logs.String(), "cache answers again"); n != 1 {
		t.Errorf("recovery logged %d times, want once", n)
	}
}
