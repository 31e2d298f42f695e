package hashkeys_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/hashkeys"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/internal/testenv"
)

// checkErr asserts that err wraps want and names the package once, at the
// front.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	testenv.ErrorNamesPackage(t, "hashkeys", what, err, want)
}

// bareStore offers a store's three methods and no capability.
type bareStore struct{ inner core.Store }

func (b bareStore) Load(ctx context.Context, key string) (core.Record, error) {
	return b.inner.Load(ctx, key)
}

func (b bareStore) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	return b.inner.Save(ctx, rec, mode)
}

func (b bareStore) Delete(ctx context.Context, key string) error { return b.inner.Delete(ctx, key) }

func TestErrorMessages(t *testing.T) {
	ctx := context.Background()
	st := hashkeys.Wrap(memstore.New(0))
	_, err := st.Load(ctx, "not a key!")
	checkErr(t, "load of an invalid key", err, core.ErrInvalidKey)
	err = st.Save(ctx, core.Record{Key: "", Expiry: time.Now().Add(time.Hour)}, core.Create)
	checkErr(t, "save of an empty key", err, core.ErrInvalidKey)
	_, _, err = st.LoadVersion(ctx, "UPPER")
	checkErr(t, "versioned load of an invalid key", err, core.ErrInvalidKey)

	// The wrapped store's errors pass through as they are.
	key, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Load(ctx, key)
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("load of a missing key: %v", err)
	}
	testenv.ErrorNamesAtMost(t, "load of a missing key", err, "hashkeys", 0)
	testenv.ErrorNamesAtMost(t, "load of a missing key", err, "memstore", 1)

	bare := hashkeys.Wrap(bareStore{memstore.New(0)})
	_, err = bare.ClearExpired(ctx)
	checkErr(t, "clear expired without the capability", err, core.ErrUnsupported)
	err = bare.Ping(ctx)
	checkErr(t, "ping without the capability", err, core.ErrUnsupported)
	_, err = bare.DeleteUserSessions(ctx, "u")
	checkErr(t, "delete user sessions without the capability", err, core.ErrUnsupported)
}
