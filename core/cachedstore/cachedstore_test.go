package cachedstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/core/storetest"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustKey(t *testing.T) string {
	k, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustNew(t *testing.T, cache, db core.Store, opts ...cachedstore.Option) *cachedstore.Store {
	t.Helper()
	st, err := cachedstore.New(cache, db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func wantData(t *testing.T, st core.Store, key, want string) {
	t.Helper()
	rec, err := st.Load(ctx(t), key)
	if err != nil {
		t.Fatalf("Load: %v (want %s)", err, want)
	}
	if string(rec.Data) != want {
		t.Fatalf("Load = %s, want %s", rec.Data, want)
	}
}

// wantCached checks the session data inside the cache's entry for key.
func wantCached(t *testing.T, cache core.Store, key, want string) {
	t.Helper()
	rec, err := cache.Load(ctx(t), key)
	if err != nil {
		t.Fatalf("cache Load: %v (want %s)", err, want)
	}
	data, ok := cachedstore.EntryData(rec.Data)
	if !ok || string(data) != want {
		t.Fatalf("cache holds %q, want an entry of %s", rec.Data, want)
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store {
		return mustNew(t, memstore.New(0), memstore.New(0))
	}, storetest.Options{})
}

// TestConformanceCacheDown: with every cache call failing, the store still
// keeps the whole contract through the database.
func TestConformanceCacheDown(t *testing.T) {
	for _, retry := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprint("retry=", retry), func(t *testing.T) {
			log, _ := newLogger(t)
			storetest.Run(t, func(t *testing.T) core.Store {
				cache := &faulty{Store: memstore.New(0)}
				cache.failAll(true)
				return mustNew(t, cache, memstore.New(0), cachedstore.WithLogger(log), cachedstore.WithRetryInterval(retry))
			}, storetest.Options{})
		})
	}
}

// TestConformanceCacheWritesFail: the cache answers reads, but its writes
// and deletes fail (all of them, or two in three so that stale copies stay
// behind); the contract (updates and deletes visible at once) must hold.
func TestConformanceCacheWritesFail(t *testing.T) {
	for _, flaky := range []bool{false, true} {
		t.Run(fmt.Sprint("flaky=", flaky), func(t *testing.T) {
			log, _ := newLogger(t)
			storetest.Run(t, func(t *testing.T) core.Store {
				cache := &faulty{Store: memstore.New(0)}
				st := mustNew(t, cache, memstore.New(0), cachedstore.WithLogger(log), cachedstore.WithRetryInterval(0))
				cache.flaky.Store(flaky)
				cache.failSave.Store(!flaky)
				cache.failDelete.Store(!flaky)
				return st
			}, storetest.Options{})
		})
	}
}

func TestReadsHitCacheFirst(t *testing.T) {
	cacheInner := memstore.New(0)
	db := &faulty{Store: memstore.New(0)}
	st := mustNew(t, cacheInner, db)
	rec := core.Record{Key: mustKey(t), Data: []byte(`{"n":1}`), Expiry: time.Now().Add(time.Hour).Round(0)}
	if err := st.Save(ctx(t), rec, core.Create); err != nil {
		t.Fatal(err)
	}
	before := db.loads.Load() // the generation was read
	for i := 0; i < 3; i++ {
		wantData(t, st, rec.Key, `{"n":1}`)
	}
	if n := db.loads.Load() - before; n != 0 {
		t.Fatalf("%d database loads with the record cached, want 0", n)
	}
	// Drop the copy: one database load refills it, with the record's expiry.
	if err := cacheInner.Delete(ctx(t), rec.Key); err != nil {
		t.Fatal(err)
	}
	wantData(t, st, rec.Key, `{"n":1}`)
	wantData(t, st, rec.Key, `{"n":1}`)
	if n := db.loads.Load() - before; n != 1 {
		t.Fatalf("%d database loads after the copy was dropped, want 1", n)
	}
	cached, err := cacheInner.Load(ctx(t), rec.Key)
	if err != nil {
		t.Fatalf("cache not refilled: %v", err)
	}
	if !cached.Expiry.Equal(rec.Expiry) {
		t.Fatalf("refilled expiry %v, want the record's %v", cached.Expiry, rec.Expiry)
	}
}

func TestWritesReachBoth(t *testing.T) {
	cache, db := memstore.New(0), memstore.New(0)
	st := mustNew(t, cache, db)
	key := mustKey(t)
	for i, mode := range []core.SaveMode{core.Create, core.Update} {
		data := fmt.Sprintf(`{"v":%d}`, i)
		if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(data), Expiry: time.Now().Add(time.Hour)}, mode); err != nil {
			t.Fatal(err)
		}
		wantCached(t, cache, key, data)
		wantData(t, db, key, data)
	}
	if err := st.Delete(ctx(t), key); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]core.Store{"cache": cache, "database": db} {
		if _, err := s.Load(ctx(t), key); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("%s still holds the deleted record: %v", name, err)
		}
	}
}

// TestDatabaseDecides: conflicts come from the database, not the cache.
func TestDatabaseDecides(t *testing.T) {
	cache, db := memstore.New(0), memstore.New(0)
	st := mustNew(t, cache, db)
	// Only the database has the record: Create must conflict.
	key := mustKey(t)
	if err := db.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"db":1}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); !errors.Is(err, core.ErrKeyExists) {
		t.Fatalf("Create over a database-only record = %v, want ErrKeyExists", err)
	}
	// Only the cache has a copy (the record was deleted elsewhere): Update
	// must report the deletion and drop the copy.
	gone := mustKey(t)
	if err := cache.Save(ctx(t), core.Record{Key: gone, Data: []byte(`{"stale":1}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx(t), core.Record{Key: gone, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Update); !errors.Is(err, core.ErrSessionDeleted) {
		t.Fatalf("Update of a record only the cache holds = %v, want ErrSessionDeleted", err)
	}
	if _, err := cache.Load(ctx(t), gone); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("stale copy kept after ErrSessionDeleted: %v", err)
	}
}

// TestNoStaleAfterFailedWrite: the cache keeps an old copy while its writes
// and deletes fail; the new value must be served during the fault and
// after, and the cache must be used again once it works.
func TestNoStaleAfterFailedWrite(t *testing.T) {
	for _, retry := range []time.Duration{0, 20 * time.Millisecond} {
		t.Run(fmt.Sprint("retry=", retry), func(t *testing.T) {
			log, logs := newLogger(t)
			cache := &faulty{Store: memstore.New(0)}
			db := &faulty{Store: memstore.New(0)}
			st := mustNew(t, cache, db, cachedstore.WithLogger(log), cachedstore.WithRetryInterval(retry))
			key := mustKey(t)
			if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"v":1}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
				t.Fatal(err)
			}
			wantData(t, st, key, `{"v":1}`)

			cache.failSave.Store(true)
			cache.failDelete.Store(true)
			if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"v":2}`), Expiry: time.Now().Add(time.Hour)}, core.Update); err != nil {
				t.Fatalf("Update with the cache failing: %v", err)
			}
			wantCached(t, cache.Store, key, `{"v":1}`) // the stale copy is really there
			wantData(t, st, key, `{"v":2}`)
			time.Sleep(2 * retry) // past the retry interval: the cache is tried again, still failing
			wantData(t, st, key, `{"v":2}`)

			cache.failSave.Store(false)
			cache.failDelete.Store(false)
			time.Sleep(2 * retry)
			wantData(t, st, key, `{"v":2}`) // deletes the stale copy, reads the database, refills
			loads := db.loads.Load()
			wantData(t, st, key, `{"v":2}`)
			if db.loads.Load() != loads {
				t.Fatal("after recovery reads still go to the database")
			}
			wantCached(t, cache.Store, key, `{"v":2}`)
			if n := logs.count("cache failing"); n != 1 {
				t.Errorf("%d failure reports for one burst, want 1", n)
			}
			if n := logs.count("cache answers again"); n != 1 {
				t.Errorf("%d recovery reports, want 1", n)
			}
		})
	}
}

// TestNoStaleAfterFailedDelete: a logout while cache deletes fail must not
// let the cached copy come back.
func TestNoStaleAfterFailedDelete(t *testing.T) {
	log, _ := newLogger(t)
	cache := &faulty{Store: memstore.New(0)}
	st := mustNew(t, cache, memstore.New(0), cachedstore.WithLogger(log), cachedstore.WithRetryInterval(0))
	key := mustKey(t)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"user":7}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	cache.failDelete.Store(true)
	if err := st.Delete(ctx(t), key); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("deleted session loads while the cache still has it: %v", err)
		}
		cache.failDelete.Store(false)
	}
	if _, err := cache.Store.Load(ctx(t), key); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("stale copy not removed once the cache worked: %v", err)
	}
}

// TestLogOncePerBurst: many failing requests, one warning; one recovery.
func TestLogOncePerBurst(t *testing.T) {
	log, logs := newLogger(t)
	cache := &faulty{Store: memstore.New(0)}
	st := mustNew(t, cache, memstore.New(0), cachedstore.WithLogger(log), cachedstore.WithRetryInterval(0))
	for burst := 1; burst <= 2; burst++ {
		cache.failAll(true)
		for i := 0; i < 20; i++ {
			key := mustKey(t)
			if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
				t.Fatal(err)
			}
			wantData(t, st, key, `{}`)
		}
		cache.failAll(false)
		for i := 0; i < 5; i++ {
			wantData(t, st, mustSaved(t, st), `{}`)
		}
		if n := logs.count("cache failing"); n != burst {
			t.Fatalf("after burst %d: %d failure reports, want %d", burst, n, burst)
		}
		if n := logs.count("cache answers again"); n != burst {
			t.Fatalf("after burst %d: %d recovery reports, want %d", burst, n, burst)
		}
	}
}

func mustSaved(t *testing.T, st core.Store) string {
	key := mustKey(t)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	return key
}

// TestRetryIntervalSkipsCache: right after a failure the cache is left
// alone, so a dead cache costs nothing per request.
func TestRetryIntervalSkipsCache(t *testing.T) {
	log, _ := newLogger(t)
	cache := &faulty{Store: memstore.New(0)}
	st := mustNew(t, cache, memstore.New(0), cachedstore.WithLogger(log), cachedstore.WithRetryInterval(time.Hour))
	key := mustSaved(t, st)
	cache.failLoad.Store(true)
	wantData(t, st, key, `{}`) // fails over, starts the quiet interval
	cache.failLoad.Store(false)
	before := cache.loads.Load()
	for i := 0; i < 5; i++ {
		wantData(t, st, key, `{}`)
	}
	if n := cache.loads.Load() - before; n != 0 {
		t.Fatalf("%d cache loads during the retry interval, want 0", n)
	}
}

// TestOutageRenewsGenerationOnce: writes while the cache fails each need a
// new generation before they are acknowledged, but concurrent ones share
// it; afterwards every write is served fresh.
func TestOutageRenewsGeneration(t *testing.T) {
	log, _ := newLogger(t)
	cache := &faulty{Store: memstore.New(0)}
	db := &faulty{Store: memstore.New(0)}
	st := mustNew(t, cache, db, cachedstore.WithLogger(log), cachedstore.WithRetryInterval(time.Hour))
	var keys []string
	for i := 0; i < 4; i++ {
		keys = append(keys, mustSaved(t, st))
	}
	genOf := func() string {
		rec, err := db.Store.Load(ctx(t), cachedstore.GenerationKey)
		if err != nil {
			t.Fatalf("no generation record in the database: %v", err)
		}
		return string(rec.Data)
	}
	first := genOf()
	saves := db.saves.Load()
	cache.failSave.Store(true)
	cache.failDelete.Store(true)
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := st.Save(context.Background(), core.Record{Key: k, Data: []byte(`{"new":1}`), Expiry: time.Now().Add(time.Hour)}, core.Update); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if genOf() == first {
		t.Fatal("the generation did not change while cache writes failed")
	}
	// 4 session writes; at most one generation write each.
	if n := db.saves.Load() - saves; n < 5 || n > 8 {
		t.Fatalf("%d database writes for 4 session writes in an outage, want 5..8", n)
	}
	cache.failSave.Store(false)
	cache.failDelete.Store(false)
	for _, k := range keys {
		wantData(t, st, k, `{"new":1}`)
	}
}

// blockingDB holds a database load until released, to interleave a write.
type blockingDB struct {
	core.Store
	mu      sync.Mutex
	hold    chan struct{}
	entered chan struct{}
}

func (b *blockingDB) Load(ctx context.Context, key string) (core.Record, error) {
	b.mu.Lock()
	hold, entered := b.hold, b.entered
	b.hold = nil
	b.mu.Unlock()
	rec, err := b.Store.Load(ctx, key)
	if hold != nil {
		close(entered)
		<-hold
	}
	return rec, err
}

// TestRefillRace: a read that loaded the old value from the database must
// not put it in the cache after a concurrent write stored the new one.
func TestRefillRace(t *testing.T) {
	cache := memstore.New(0)
	db := &blockingDB{Store: memstore.New(0)}
	st := mustNew(t, cache, db)
	key := mustSaved(t, st)
	if err := cache.Delete(ctx(t), key); err != nil { // force the next read to the database
		t.Fatal(err)
	}
	db.mu.Lock()
	db.hold, db.entered = make(chan struct{}), make(chan struct{})
	hold, entered := db.hold, db.entered
	db.mu.Unlock()
	done := make(chan []byte)
	go func() {
		rec, _ := st.Load(context.Background(), key)
		done <- rec.Data
	}()
	<-entered // the reader holds the old value
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"new":1}`), Expiry: time.Now().Add(time.Hour)}, core.Update); err != nil {
		t.Fatal(err)
	}
	if err := cache.Delete(ctx(t), key); err != nil { // even with the writer's copy gone...
		t.Fatal(err)
	}
	close(hold)
	if old := <-done; !bytes.Equal(old, []byte(`{}`)) {
		t.Fatalf("reader got %s", old)
	}
	// ...the reader's old value must not have been added.
	if rec, err := cache.Load(ctx(t), key); err == nil {
		t.Fatalf("stale refill after a concurrent write: cache holds %s", rec.Data)
	}
	wantData(t, st, key, `{"new":1}`)
}

func TestCorruptCacheEntry(t *testing.T) {
	log, logs := newLogger(t)
	cache := &faulty{Store: memstore.New(0)}
	st := mustNew(t, &tampering{cache}, memstore.New(0), cachedstore.WithLogger(log))
	key := mustSaved(t, st)
	wantData(t, st, key, `{}`)
	if logs.count("corrupt cache entry") != 1 {
		t.Fatal("corrupt cache entry not reported")
	}
}

// tampering reports every cached value as corrupt.
type tampering struct{ core.Store }

func (tp *tampering) Load(ctx context.Context, key string) (core.Record, error) {
	if _, err := tp.Store.Load(ctx, key); err != nil {
		return core.Record{}, err
	}
	return core.Record{}, fmt.Errorf("test: %w", core.ErrTampered)
}

func TestInvalidKeysReachNeither(t *testing.T) {
	cache := &faulty{Store: memstore.New(0)}
	db := &faulty{Store: memstore.New(0)}
	st := mustNew(t, cache, db)
	for _, key := range storetest.BadKeys {
		if _, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Load(%q) = %v", key, err)
		}
		if err := st.Save(ctx(t), core.Record{Key: key, Expiry: time.Now().Add(time.Hour)}, core.Create); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Save(%q) = %v", key, err)
		}
		if err := st.Delete(ctx(t), key); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v", key, err)
		}
	}
	// The generation record is not a session either.
	if _, err := st.Load(ctx(t), cachedstore.GenerationKey); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Load(GenerationKey) = %v, want ErrNotFound", err)
	}
	if err := st.Save(ctx(t), core.Record{Key: cachedstore.GenerationKey, Expiry: time.Now().Add(time.Hour)}, core.Update); !errors.Is(err, core.ErrInvalidKey) {
		t.Errorf("Save(GenerationKey) = %v, want ErrInvalidKey", err)
	}
	if err := st.Delete(ctx(t), cachedstore.GenerationKey); !errors.Is(err, core.ErrInvalidKey) {
		t.Errorf("Delete(GenerationKey) = %v, want ErrInvalidKey", err)
	}
	if n := cache.loads.Load() + cache.saves.Load() + cache.deletes.Load() + db.loads.Load() + db.saves.Load() + db.deletes.Load(); n != 0 {
		t.Fatalf("%d calls with invalid keys reached the stores", n)
	}
}

func TestConfig(t *testing.T) {
	m := memstore.New(0)
	for name, f := range map[string]func() (*cachedstore.Store, error){
		"nil cache": func() (*cachedstore.Store, error) { return cachedstore.New(nil, m) },
		"nil db":    func() (*cachedstore.Store, error) { return cachedstore.New(m, nil) },
		"same":      func() (*cachedstore.Store, error) { return cachedstore.New(m, m) },
		"retry": func() (*cachedstore.Store, error) {
			return cachedstore.New(memstore.New(0), m, cachedstore.WithRetryInterval(-1))
		},
		"refresh": func() (*cachedstore.Store, error) {
			return cachedstore.New(memstore.New(0), m, cachedstore.WithGenerationRefresh(0))
		},
		"nil logger": func() (*cachedstore.Store, error) {
			return cachedstore.New(memstore.New(0), m, cachedstore.WithLogger(nil))
		},
	} {
		if _, err := f(); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
}
