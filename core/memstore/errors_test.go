package memstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/internal/testenv"
)

// checkErr asserts that err wraps want and names the package once, at the
// front.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	testenv.ErrorNamesPackage(t, "memstore", what, err, want)
}

func TestErrorMessages(t *testing.T) {
	ctx := context.Background()
	st := memstore.New(0, memstore.WithMaxBytes(memstore.RecordOverhead+100))
	key, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)

	_, err = st.Load(ctx, key)
	checkErr(t, "load of a missing key", err, core.ErrNotFound)
	_, err = st.Load(ctx, "not a key!")
	checkErr(t, "load of an invalid key", err, core.ErrInvalidKey)
	err = st.Save(ctx, core.Record{Key: key, Data: make([]byte, 200), Expiry: exp}, core.Create)
	checkErr(t, "save over the byte bound", err, core.ErrTooLarge)
	err = st.Save(ctx, core.Record{Key: key, Data: []byte("{}"), Expiry: exp}, core.Update)
	checkErr(t, "update of a missing record", err, core.ErrSessionDeleted)
	if err := st.Save(ctx, core.Record{Key: key, Data: []byte("{}"), Expiry: exp}, core.Create); err != nil {
		t.Fatal(err)
	}
	err = st.Save(ctx, core.Record{Key: key, Data: []byte("{}"), Expiry: exp}, core.Create)
	checkErr(t, "second create", err, core.ErrKeyExists)
	_, v, err := st.LoadVersion(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	err = st.SaveVersion(ctx, core.Record{Key: key, Data: []byte("{}"), Expiry: exp}, v+1)
	checkErr(t, "versioned update of another version", err, core.ErrVersionConflict)
}

// TestOutOfRangeOptions: New cannot fail, so settings out of range are the
// defaults.
func TestOutOfRangeOptions(t *testing.T) {
	st := memstore.New(-1, memstore.WithMaxBytes(-5), memstore.WithClock(nil))
	key, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec := core.Record{Key: key, Data: make([]byte, 1<<20), Expiry: time.Now().Add(time.Hour)}
	if err := st.Save(ctx, rec, core.Create); err != nil {
		t.Fatalf("save of 1 MiB under the default bound: %v", err)
	}
	if _, err := st.Load(ctx, key); err != nil {
		t.Fatalf("load with a nil clock given: %v", err)
	}
}
