package cachedstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// clock is a settable clock shared by the stores of one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestNoStaleAcrossProcessesAndRestarts is the partition case: process A
// cannot reach the cache while it updates one session and logs another
// out; the cache keeps the old copies. A process started afterwards (a
// restart) must serve the database's state at once, and a process that was
// already running (B) within the refresh interval. The next write must not
// overwrite the newer data with the stale copy.
func TestNoStaleAcrossProcessesAndRestarts(t *testing.T) {
	const refresh = 5 * time.Second
	clk := &clock{t: time.Now()}
	log, _ := newLogger(t)
	sharedCache := memstore.New(0)
	db := memstore.New(0)
	cacheOfA := &faulty{Store: sharedCache} // A's view: partitioned later
	open := func(cache core.Store) *cachedstore.Store {
		return mustNew(t, cache, db, cachedstore.WithLogger(log), cachedstore.WithClock(clk.Now),
			cachedstore.WithGenerationRefresh(refresh), cachedstore.WithRetryInterval(time.Hour))
	}
	a, b := open(cacheOfA), open(sharedCache)
	exp := clk.Now().Add(time.Hour)
	cart, login := mustKey(t), mustKey(t)
	for key, data := range map[string]string{cart: `{"cart":[1]}`, login: `{"_auth_user_id":"7"}`} {
		if err := a.Save(ctx(t), core.Record{Key: key, Data: []byte(data), Expiry: exp}, core.Create); err != nil {
			t.Fatal(err)
		}
	}
	wantData(t, b, cart, `{"cart":[1]}`) // B has read the generation and uses the cache
	wantData(t, b, login, `{"_auth_user_id":"7"}`)

	cacheOfA.failAll(true) // the partition
	if err := a.Save(ctx(t), core.Record{Key: cart, Data: []byte(`{"cart":[1,2]}`), Expiry: exp}, core.Update); err != nil {
		t.Fatalf("update during the partition: %v", err)
	}
	if err := a.Delete(ctx(t), login); err != nil {
		t.Fatalf("log out during the partition: %v", err)
	}
	wantCached(t, sharedCache, cart, `{"cart":[1]}`) // the stale copies are really there
	wantCached(t, sharedCache, login, `{"_auth_user_id":"7"}`)
	cacheOfA.failAll(false) // the partition heals

	// A restart (or a new process) never sees the old copies.
	c := open(sharedCache)
	wantData(t, c, cart, `{"cart":[1,2]}`)
	if rec, err := c.Load(ctx(t), login); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("restarted process loads the logged-out session: %s, %v", rec.Data, err)
	}
	// Neither does A.
	wantData(t, a, cart, `{"cart":[1,2]}`)
	if _, err := a.Load(ctx(t), login); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("process A loads the logged-out session: %v", err)
	}
	// B, running since before, may serve the old copies within the refresh
	// interval, and not after it.
	clk.Add(refresh)
	wantData(t, b, cart, `{"cart":[1,2]}`)
	if _, err := b.Load(ctx(t), login); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("process B loads the logged-out session after the refresh interval: %v", err)
	}
	// Writes go on from the fresh state, and the cache serves it again.
	if err := c.Save(ctx(t), core.Record{Key: cart, Data: []byte(`{"cart":[1,2,3]}`), Expiry: exp}, core.Update); err != nil {
		t.Fatal(err)
	}
	for _, st := range []core.Store{a, b, c, db} {
		wantData(t, st, cart, `{"cart":[1,2,3]}`)
	}
	wantCached(t, sharedCache, cart, `{"cart":[1,2,3]}`)
}

// TestGenerationUnreadableSkipsCache: when the generation cannot be read,
// reads go to the database, never to a cache that may be stale.
func TestGenerationUnreadableSkipsCache(t *testing.T) {
	log, _ := newLogger(t)
	cache := &faulty{Store: memstore.New(0)}
	db := &faulty{Store: memstore.New(0)}
	st := mustNew(t, cache, db, cachedstore.WithLogger(log), cachedstore.WithGenerationRefresh(time.Nanosecond))
	key := mustSaved(t, st)
	wantData(t, st, key, `{}`)
	db.failLoad.Store(true)
	before := cache.loads.Load()
	if _, err := st.Load(ctx(t), key); err == nil {
		t.Fatal("Load served a cache entry although the generation could not be read")
	}
	if n := cache.loads.Load() - before; n != 0 {
		t.Fatalf("%d cache reads without a current generation, want 0", n)
	}
}

// TestRenewalFailureIsAnError: when the cache cannot be told and the
// generation cannot be renewed either, the write is not acknowledged, and
// this process stops trusting the cache until a renewal works.
func TestRenewalFailureIsAnError(t *testing.T) {
	log, logs := newLogger(t)
	cache := &faulty{Store: memstore.New(0)}
	db := &failingSaves{Store: memstore.New(0)}
	st := mustNew(t, cache, db, cachedstore.WithLogger(log), cachedstore.WithRetryInterval(0))
	key := mustSaved(t, st)
	wantData(t, st, key, `{}`)
	cache.failDelete.Store(true)
	cache.failSave.Store(true)
	db.failKey = cachedstore.GenerationKey
	if err := st.Delete(ctx(t), key); err == nil {
		t.Fatal("Delete acknowledged although the cache keeps the copy and no new generation was written")
	}
	if logs.count("cannot renew the cache generation") != 1 {
		t.Fatal("renewal failure not logged")
	}
	cache.failDelete.Store(false)
	cache.failSave.Store(false)
	if _, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Load after an unrenewed delete = %v, want ErrNotFound", err)
	}
	db.failKey = ""
	if _, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Load after renewal = %v, want ErrNotFound", err)
	}
	if logs.count("cache generation renewed") != 1 {
		t.Fatal("renewal not logged")
	}
}

// failingSaves fails saves of one key.
type failingSaves struct {
	core.Store
	mu      sync.Mutex
	failKey string
}

func (f *failingSaves) Save(ctx2 context.Context, rec core.Record, mode core.SaveMode) error {
	f.mu.Lock()
	fail := rec.Key == f.failKey
	f.mu.Unlock()
	if fail {
		return errInjected
	}
	return f.Store.Save(ctx2, rec, mode)
}
