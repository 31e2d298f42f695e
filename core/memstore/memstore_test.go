package memstore_test

import (
	"context"
	"errors"
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
	if st.Len() != 2 {
		t.Errorf("Len = %d, want 2 (both expired records dropped)", st.Len())
	}
	if _, err := st.Load(ctx, live); errors.Is(err, core.ErrNotFound) {
		t.Error("live record evicted while expired ones were there")
	}
}
