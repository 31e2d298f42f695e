package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/core/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store { return memstore.New(0) }, storetest.Options{})
}

func TestBounded(t *testing.T) {
	ctx := context.Background()
	st := memstore.New(10)
	var keys []string
	for i := 0; i < 25; i++ {
		k, _ := core.NewKey()
		keys = append(keys, k)
		// Later records expire later, so the earliest are evicted first.
		if err := st.Save(ctx, core.Record{Key: k, Data: []byte(`{}`), Expiry: time.Now().Add(time.Duration(i+1) * time.Hour)}, core.Create); err != nil {
			t.Fatal(err)
		}
		if st.Len() > 10 {
			t.Fatalf("store holds %d records, bound is 10", st.Len())
		}
	}
	if _, err := st.Load(ctx, keys[24]); err != nil {
		t.Errorf("newest record evicted: %v", err)
	}
}

func TestEvictsExpiredFirst(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	st := memstore.New(3, memstore.WithClock(func() time.Time { return now }))
	live, _ := core.NewKey()
	if err := st.Save(ctx, core.Record{Key: live, Data: []byte(`{}`), Expiry: now.Add(time.Minute)}, core.Create); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		k, _ := core.NewKey()
		_ = st.Save(ctx, core.Record{Key: k, Data: []byte(`{}`), Expiry: now.Add(time.Second)}, core.Create)
	}
	now = now.Add(2 * time.Second) // the two short records expire
	k, _ := core.NewKey()
	if err := st.Save(ctx, core.Record{Key: k, Data: []byte(`{}`), Expiry: now.Add(time.Minute)}, core.Create); err != nil {
		t.Fatal(err)
	}
	// One record makes room for one: a single expired record goes, not all
	// of them (dropping them all took a scan of the whole store).
	if st.Len() != 3 {
		t.Errorf("Len = %d, want 3 (one expired record dropped)", st.Len())
	}
	if n, err := st.ClearExpired(ctx); err != nil || n != 1 {
		t.Errorf("ClearExpired = %d, %v; want the other expired record", n, err)
	}
	if _, err := st.Load(ctx, live); errors.Is(err, core.ErrNotFound) {
		t.Error("live record evicted while expired ones were there")
	}
}

// fixedClock is a settable clock for WithClock.
type fixedClock struct{ t time.Time }

func (c *fixedClock) now() time.Time { return c.t }

// seqKey returns a valid key for i, shorter than core.NewKey's and free.
func seqKey(i int) string { return fmt.Sprintf("key%012d", i) }

func save(t *testing.T, st *memstore.Store, key string, data []byte, exp time.Time, mode core.SaveMode) {
	t.Helper()
	if err := st.Save(context.Background(), core.Record{Key: key, Data: data, Expiry: exp}, mode); err != nil {
		t.Fatalf("Save(%s, %s): %v", key, mode, err)
	}
}

func loaded(st *memstore.Store, key string) bool {
	_, err := st.Load(context.Background(), key)
	return err == nil
}

// TestFullStoreDropsOneRecordPerInsert is the regression test for issue 13:
// the old store, when full, first cleared every expired record in one scan
// of the whole map. Now an insert into a full store drops exactly one
// record, the one closest to expiry, expired or not.
func TestFullStoreDropsOneRecordPerInsert(t *testing.T) {
	clock := &fixedClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	const max = 100
	st := memstore.New(max, memstore.WithClock(clock.now))
	// Half the records expire at minute i, half at hour i: after two hours
	// the first half has expired, the second has not.
	for i := 0; i < max; i++ {
		exp := clock.t.Add(time.Duration(i+1) * time.Minute)
		if i%2 == 1 {
			exp = clock.t.Add(time.Duration(i+3) * time.Hour)
		}
		save(t, st, seqKey(i), []byte(`{}`), exp, core.Create)
	}
	clock.t = clock.t.Add(2 * time.Hour)
	for n := 0; n < max; n++ {
		save(t, st, seqKey(max+n), []byte(`{}`), clock.t.Add(1000*time.Hour), core.Create)
		if st.Len() != max {
			t.Fatalf("after insert %d into a full store, Len = %d, want %d (one record dropped per insert)", n, st.Len(), max)
		}
		// The victim is the record closest to expiry: first the expired
		// ones (even indexes), in expiry order, then the live ones (odd
		// indexes).
		stats, err := st.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n < max/2 {
			if want := int64(max/2 - n - 1); stats.Expired != want {
				t.Fatalf("insert %d: %d expired records held, want %d", n, stats.Expired, want)
			}
		} else {
			victim := 2*(n-max/2) + 1
			if stats.Expired != 0 || loaded(st, seqKey(victim)) {
				t.Fatalf("insert %d: record %d, the closest to expiry, is still there", n, victim)
			}
			if victim+2 < max && !loaded(st, seqKey(victim+2)) {
				t.Fatalf("insert %d: record %d evicted before its turn", n, victim+2)
			}
		}
		if !loaded(st, seqKey(max+n)) {
			t.Fatalf("insert %d: the new record was evicted", n)
		}
	}
}

func TestBytesCountsKeyDataAndOverhead(t *testing.T) {
	ctx := context.Background()
	st := memstore.New(0)
	if st.Bytes() != 0 {
		t.Fatalf("empty store: Bytes = %d", st.Bytes())
	}
	k := seqKey(1)
	save(t, st, k, make([]byte, 1000), time.Now().Add(time.Hour), core.Create)
	if want := int64(len(k) + 1000 + memstore.RecordOverhead); st.Bytes() != want {
		t.Fatalf("one record: Bytes = %d, want %d", st.Bytes(), want)
	}
	save(t, st, k, make([]byte, 10), time.Now().Add(time.Hour), core.Update)
	if want := int64(len(k) + 10 + memstore.RecordOverhead); st.Bytes() != want {
		t.Fatalf("after shrinking update: Bytes = %d, want %d", st.Bytes(), want)
	}
	_, v, _ := st.LoadVersion(ctx, k)
	if err := st.SaveVersion(ctx, core.Record{Key: k, Data: make([]byte, 500), Expiry: time.Now().Add(time.Hour)}, v); err != nil {
		t.Fatal(err)
	}
	if want := int64(len(k) + 500 + memstore.RecordOverhead); st.Bytes() != want {
		t.Fatalf("after SaveVersion: Bytes = %d, want %d", st.Bytes(), want)
	}
	if err := st.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if st.Bytes() != 0 {
		t.Fatalf("after Delete: Bytes = %d, want 0", st.Bytes())
	}
}

func TestTooLarge(t *testing.T) {
	ctx := context.Background()
	k := seqKey(7)
	const bound = 1000
	st := memstore.New(0, memstore.WithMaxBytes(bound))
	fits := make([]byte, bound-len(k)-memstore.RecordOverhead) // exactly the bound
	tooBig := make([]byte, len(fits)+1)
	exp := time.Now().Add(time.Hour)

	if err := st.Save(ctx, core.Record{Key: k, Data: tooBig, Expiry: exp}, core.Create); !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("Create of a record over the bound = %v, want ErrTooLarge", err)
	}
	if st.Len() != 0 || st.Bytes() != 0 {
		t.Fatalf("refused Create stored something: Len %d, Bytes %d", st.Len(), st.Bytes())
	}

	old := []byte(`{"old":1}`)
	save(t, st, k, old, exp, core.Create)
	if err := st.Save(ctx, core.Record{Key: k, Data: tooBig, Expiry: exp.Add(time.Hour)}, core.Update); !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("Update over the bound = %v, want ErrTooLarge", err)
	}
	if err := st.SaveVersion(ctx, core.Record{Key: k, Data: tooBig, Expiry: exp.Add(time.Hour)}, 1); !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("SaveVersion over the bound = %v, want ErrTooLarge", err)
	}
	rec, v, err := st.LoadVersion(ctx, k)
	if err != nil || string(rec.Data) != string(old) || !rec.Expiry.Equal(exp) || v != 1 {
		t.Fatalf("after refused writes: %q, expiry %v, version %d, %v; want the old record at version 1", rec.Data, rec.Expiry, v, err)
	}

	// A record exactly at the bound fits, alone.
	save(t, st, seqKey(8), fits, exp, core.Create)
	if st.Len() != 1 || st.Bytes() != bound || !loaded(st, seqKey(8)) {
		t.Fatalf("record at the bound: Len %d, Bytes %d; want it alone at %d", st.Len(), st.Bytes(), bound)
	}
}

func TestVersions(t *testing.T) {
	ctx := context.Background()
	st := memstore.New(0)
	k := seqKey(1)
	exp := time.Now().Add(time.Hour)
	save(t, st, k, []byte(`{}`), exp, core.Create)
	for want := uint64(1); want <= 5; want++ {
		_, v, err := st.LoadVersion(ctx, k)
		if err != nil || v != want {
			t.Fatalf("LoadVersion = %d, %v; want %d", v, err, want)
		}
		if want%2 == 0 {
			save(t, st, k, []byte(`{}`), exp, core.Update)
		} else if err := st.SaveVersion(ctx, core.Record{Key: k, Data: []byte(`{}`), Expiry: exp}, v); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUpdateMovesRecordInExpiryOrder checks that an update that pushes a
// record's expiry back protects it from eviction.
func TestUpdateMovesRecordInExpiryOrder(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	st := memstore.New(3)
	for i := 0; i < 3; i++ {
		save(t, st, seqKey(i), []byte(`{}`), now.Add(time.Duration(i+1)*time.Hour), core.Create)
	}
	save(t, st, seqKey(0), []byte(`{}`), now.Add(10*time.Hour), core.Update)
	if err := st.SaveVersion(ctx, core.Record{Key: seqKey(1), Data: []byte(`{}`), Expiry: now.Add(11 * time.Hour)}, 1); err != nil {
		t.Fatal(err)
	}
	save(t, st, seqKey(3), []byte(`{}`), now.Add(12*time.Hour), core.Create)
	if loaded(st, seqKey(2)) || !loaded(st, seqKey(0)) || !loaded(st, seqKey(1)) || !loaded(st, seqKey(3)) {
		t.Fatal("want record 2, now the closest to expiry, evicted and the others kept")
	}
}

// TestBoundsAgainstModel runs random saves, updates, deletes and clears
// against a store bounded in count and bytes, and compares what it holds
// with a simple model that evicts the record closest to expiry (expiries
// are distinct) until the new one fits.
func TestBoundsAgainstModel(t *testing.T) {
	ctx := context.Background()
	clock := &fixedClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	const maxCount, maxBytes = 50, 20_000
	st := memstore.New(maxCount, memstore.WithMaxBytes(maxBytes), memstore.WithClock(clock.now))
	type rec struct {
		expiry time.Time
		size   int64
	}
	model := map[string]rec{}
	var modelBytes int64
	drop := func(k string) { modelBytes -= model[k].size; delete(model, k) }
	rng := rand.New(rand.NewPCG(1, 2))
	used := map[int64]bool{}
	expiry := func() time.Time { // distinct, from already expired to a day ahead
		for {
			s := rng.Int64N(int64(26 * time.Hour / time.Second))
			exp := clock.t.Add(time.Duration(s)*time.Second - 2*time.Hour)
			if !used[exp.Unix()] { // distinct as instants, though the clock moves
				used[exp.Unix()] = true
				return exp
			}
		}
	}
	put := func(k string, data []byte, exp time.Time) {
		if _, ok := model[k]; ok {
			drop(k)
		}
		size := int64(len(k)+len(data)) + memstore.RecordOverhead
		for len(model) >= maxCount || modelBytes+size > maxBytes {
			victim := ""
			for mk, r := range model {
				if victim == "" || r.expiry.Before(model[victim].expiry) {
					victim = mk
				}
			}
			drop(victim)
		}
		model[k] = rec{exp, size}
		modelBytes += size
	}
	next := 0
	for step := 0; step < 5000; step++ {
		data := make([]byte, rng.IntN(1200))
		switch op := rng.IntN(10); {
		case op < 6 || len(model) == 0: // create
			k := seqKey(next)
			next++
			exp := expiry()
			save(t, st, k, data, exp, core.Create)
			put(k, data, exp)
		case op < 8: // update a live record, plainly or by version
			var k string
			for mk, r := range model {
				if r.expiry.After(clock.t) {
					k = mk
					break
				}
			}
			if k == "" {
				continue
			}
			exp := expiry()
			if op == 6 {
				save(t, st, k, data, exp, core.Update)
			} else {
				_, v, err := st.LoadVersion(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				if err := st.SaveVersion(ctx, core.Record{Key: k, Data: data, Expiry: exp}, v); err != nil {
					t.Fatal(err)
				}
			}
			put(k, data, exp)
		case op == 8: // delete
			for mk := range model {
				if err := st.Delete(ctx, mk); err != nil {
					t.Fatal(err)
				}
				drop(mk)
				break
			}
		default: // time passes; sometimes clear
			clock.t = clock.t.Add(time.Duration(rng.IntN(600)) * time.Second)
			if rng.IntN(4) == 0 {
				var want int64
				for mk, r := range model {
					if !r.expiry.After(clock.t) {
						drop(mk)
						want++
					}
				}
				if n, err := st.ClearExpired(ctx); err != nil || n != want {
					t.Fatalf("step %d: ClearExpired = %d, %v; want %d", step, n, err, want)
				}
			}
		}
		if st.Bytes() > maxBytes || st.Len() > maxCount {
			t.Fatalf("step %d: Bytes %d, Len %d; bounds %d, %d", step, st.Bytes(), st.Len(), maxBytes, maxCount)
		}
		if st.Bytes() != modelBytes || st.Len() != len(model) {
			t.Fatalf("step %d: Bytes %d, Len %d; model %d, %d", step, st.Bytes(), st.Len(), modelBytes, len(model))
		}
	}
	for k, r := range model {
		if got := loaded(st, k); got != r.expiry.After(clock.t) {
			t.Errorf("record %s: loaded %v, model says live %v", k, got, r.expiry.After(clock.t))
		}
	}
	if t.Failed() {
		return
	}
	// Everything the model evicted is gone: the store holds exactly the
	// model's keys.
	for i := 0; i < next; i++ {
		if _, ok := model[seqKey(i)]; !ok && loaded(st, seqKey(i)) {
			t.Errorf("record %d is loaded; the model evicted or deleted it", i)
		}
	}
}

func TestUserIndexWithEviction(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	st := memstore.New(3)
	for i := 0; i < 3; i++ {
		save(t, st, seqKey(i), []byte(`{}`), now.Add(time.Duration(i+1)*time.Hour), core.Create)
		if err := st.LinkUser(ctx, "alice", seqKey(i), now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.UnlinkUser(ctx, seqKey(2)); err != nil {
		t.Fatal(err)
	}
	save(t, st, seqKey(3), []byte(`{}`), now.Add(9*time.Hour), core.Create) // evicts record 0
	if n, err := st.DeleteUserSessions(ctx, "alice"); err != nil || n != 1 {
		t.Fatalf("DeleteUserSessions = %d, %v; want 1 (record 0 evicted, 2 unlinked)", n, err)
	}
	if loaded(st, seqKey(1)) || !loaded(st, seqKey(2)) || !loaded(st, seqKey(3)) || st.Len() != 2 {
		t.Fatalf("after DeleteUserSessions: Len %d; want records 2 and 3 only", st.Len())
	}
	if want := int64(2 * (len(seqKey(0)) + 2 + memstore.RecordOverhead)); st.Bytes() != want {
		t.Fatalf("Bytes = %d, want %d", st.Bytes(), want)
	}
	// Room freed by DeleteUserSessions is reused without evicting.
	save(t, st, seqKey(4), []byte(`{}`), now.Add(time.Minute), core.Create)
	if st.Len() != 3 || !loaded(st, seqKey(2)) || !loaded(st, seqKey(3)) {
		t.Fatalf("Len %d after filling the freed slot", st.Len())
	}
}
