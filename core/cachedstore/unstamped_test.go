package cachedstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/core/storetest"
)

// TestConformanceUnstamped: with unstamped entries the store keeps the
// whole contract too.
func TestConformanceUnstamped(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store {
		return mustNew(t, memstore.New(0), memstore.New(0), cachedstore.WithUnstampedEntries())
	}, storetest.Options{})
}

// TestUnstampedEntriesAreTheData: what another program finds in the cache
// is the record's data, and what it writes there is served.
func TestUnstampedEntriesAreTheData(t *testing.T) {
	cache, db := memstore.New(0), memstore.New(0)
	st := mustNew(t, cache, db, cachedstore.WithUnstampedEntries())
	key := mustKey(t)
	exp := time.Now().Add(time.Hour)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"v":1}`), Expiry: exp}, core.Create); err != nil {
		t.Fatal(err)
	}
	if rec, err := cache.Load(ctx(t), key); err != nil || string(rec.Data) != `{"v":1}` {
		t.Fatalf("cache holds %q, %v; want the data alone", rec.Data, err)
	}
	if _, err := db.Load(ctx(t), cachedstore.GenerationKey); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a generation record was written: %v", err)
	}
	// The other program writes the cache (as Django's cached_db does after
	// its database write): the cache is read first.
	if err := cache.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"v":2}`), Expiry: exp}, core.Update); err != nil {
		t.Fatal(err)
	}
	wantData(t, st, key, `{"v":2}`)
	// A delete removes the entry; the next read refills it from the database.
	if err := st.Delete(ctx(t), key); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Load(ctx(t), key); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("entry still cached after Delete: %v", err)
	}
	if err := db.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"v":3}`), Expiry: exp}, core.Create); err != nil {
		t.Fatal(err)
	}
	wantData(t, st, key, `{"v":3}`)
	if rec, err := cache.Load(ctx(t), key); err != nil || string(rec.Data) != `{"v":3}` {
		t.Fatalf("refill left %q, %v", rec.Data, err)
	}
}

// TestUnstampedFailuresAreErrors: without a generation, a write or delete
// the cache missed cannot be covered up, so it is reported, never a silent
// success that leaves the old copy to be served.
func TestUnstampedFailuresAreErrors(t *testing.T) {
	log, _ := newLogger(t)
	cache := &faulty{Store: memstore.New(0)}
	st := mustNew(t, cache, memstore.New(0), cachedstore.WithUnstampedEntries(), cachedstore.WithLogger(log))
	key := mustKey(t)
	exp := time.Now().Add(time.Hour)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"user":7}`), Expiry: exp}, core.Create); err != nil {
		t.Fatal(err)
	}
	cache.failSave.Store(true)
	cache.failDelete.Store(true)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"user":8}`), Expiry: exp}, core.Update); err == nil {
		t.Error("Save reported success while the cache kept the old copy")
	}
	if err := st.Delete(ctx(t), key); err == nil {
		t.Error("Delete reported success while the cache kept the old copy")
	}
	// Once the cache answers, the next delete goes through at once (no
	// retry interval for invalidations in this mode).
	cache.failSave.Store(false)
	cache.failDelete.Store(false)
	if err := st.Delete(ctx(t), key); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("deleted session loads: %v", err)
	}
}

// refusing is a cache whose value format refuses some data, as
// djangocodec's cache format refuses a tampered database row.
type refusing struct{ core.Store }

func (r refusing) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	if string(rec.Data) == "forged" {
		return fmt.Errorf("format: %w", core.ErrTampered)
	}
	return r.Store.Save(ctx, rec, mode)
}

// TestUncacheableIsNoOutage: a record the cache's format refuses is read
// from the database and not cached, and the cache is not taken for down.
func TestUncacheableIsNoOutage(t *testing.T) {
	log, logs := newLogger(t)
	db := memstore.New(0)
	st := mustNew(t, refusing{memstore.New(0)}, db, cachedstore.WithUnstampedEntries(), cachedstore.WithLogger(log))
	key := mustKey(t)
	if err := db.Save(ctx(t), core.Record{Key: key, Data: []byte("forged"), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	wantData(t, st, key, "forged")
	if n := logs.count("cache failing"); n != 0 {
		t.Errorf("a refused record was reported as a cache outage %d times", n)
	}
}
