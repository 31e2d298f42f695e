package hashkeys_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/hashkeys"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/core/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store { return hashkeys.Wrap(memstore.New(0)) }, storetest.Options{})
}

func TestNoUsableKeyAtRest(t *testing.T) {
	ctx := context.Background()
	inner := memstore.New(0)
	st := hashkeys.Wrap(inner)
	key, _ := core.NewKey()
	if err := st.Save(ctx, core.Record{Key: key, Data: []byte(`{"u":1}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	if _, err := inner.Load(ctx, key); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("the raw key is usable against the store at rest: %v", err)
	}
	rec, err := inner.Load(ctx, hashkeys.Hash(key))
	if err != nil || string(rec.Data) != `{"u":1}` {
		t.Fatalf("record not under the hash: %v", err)
	}
	// The leaked at-rest key is not a cookie that works either.
	if _, err := st.Load(ctx, hashkeys.Hash(key)); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("the at-rest key works as a cookie: %v", err)
	}
	if h := hashkeys.Hash(key); len(h) != 40 || !core.ValidKey(h) {
		t.Errorf("hash %q does not fit the session_key column", h)
	}
}

// Keys are hashed at rest with any store.
func Example() {
	st := hashkeys.Wrap(memstore.New(0))
	m, err := core.New(st, core.DefaultConfig())
	fmt.Println(m != nil, err)
	// Output: true <nil>
}
