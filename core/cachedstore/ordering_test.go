package cachedstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// gatedCache holds the first cache SaveVersion after arm until released,
// so that two requests' cache writes arrive in the other order than their
// database writes.
type gatedCache struct {
	*memstore.Store
	mu       sync.Mutex
	armed    bool
	entered  chan struct{}
	released chan struct{}
}

func (g *gatedCache) arm() {
	g.mu.Lock()
	g.armed, g.entered, g.released = true, make(chan struct{}), make(chan struct{})
	g.mu.Unlock()
}

func (g *gatedCache) SaveVersion(ctx context.Context, rec core.Record, version uint64) error {
	g.mu.Lock()
	hold := g.armed
	g.armed = false
	entered, released := g.entered, g.released
	g.mu.Unlock()
	if hold {
		close(entered)
		<-released
	}
	return g.Store.SaveVersion(ctx, rec, version)
}

// TestCrossingWritesKeepNewest: request A saves version 2, request B
// version 3, and A's cache write lands last; the cache must keep B's copy
// (it carries the newer database version), so reads are not stale.
func TestCrossingWritesKeepNewest(t *testing.T) {
	cache := &gatedCache{Store: memstore.New(0)}
	db := memstore.New(0)
	st := mustNew(t, cache, db)
	key := mustKey(t)
	exp := time.Now().Add(time.Hour)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"n":1}`), Expiry: exp}, core.Create); err != nil {
		t.Fatal(err)
	}
	_, v, err := st.LoadVersion(ctx(t), key) // cached with version 1
	if err != nil {
		t.Fatal(err)
	}
	cache.arm()
	done := make(chan error)
	go func() {
		done <- st.SaveVersion(context.Background(), core.Record{Key: key, Data: []byte(`{"n":2}`), Expiry: exp}, v)
	}()
	<-cache.entered // A is in the database at version 2; its cache write waits
	if err := st.SaveVersion(ctx(t), core.Record{Key: key, Data: []byte(`{"n":3}`), Expiry: exp}, v+1); err != nil {
		t.Fatalf("B: %v", err)
	}
	close(cache.released)
	if err := <-done; err != nil {
		t.Fatalf("A: %v", err)
	}
	wantData(t, st, key, `{"n":3}`)
	wantCached(t, cache.Store, key, `{"n":3}`)
	if rec, v3, err := st.LoadVersion(ctx(t), key); err != nil || string(rec.Data) != `{"n":3}` || v3 != v+2 {
		t.Fatalf("LoadVersion = %s, %d, %v; want {\"n\":3} at version %d", rec.Data, v3, err, v+2)
	}
}
