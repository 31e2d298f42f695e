package cachedstore_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/internal/testenv"
)

// checkMsg asserts that err names the package once, at the front.
func checkMsg(t *testing.T, what string, err error) {
	t.Helper()
	testenv.ErrorNamesPackage(t, "cachedstore", what, err)
}

// checkErr asserts that err wraps want and names the package once.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	testenv.ErrorNamesPackage(t, "cachedstore", what, err, want)
}

// plainStore offers a store's three methods and no capability; with
// deleteErr set, its deletes fail.
type plainStore struct {
	inner     core.Store
	deleteErr error
}

func (p *plainStore) Load(ctx context.Context, key string) (core.Record, error) {
	return p.inner.Load(ctx, key)
}

func (p *plainStore) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	return p.inner.Save(ctx, rec, mode)
}

func (p *plainStore) Delete(ctx context.Context, key string) error {
	if p.deleteErr != nil {
		return p.deleteErr
	}
	return p.inner.Delete(ctx, key)
}

// noGeneration is a database store that cannot write the cache generation.
type noGeneration struct{ *memstore.Store }

func (n noGeneration) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	if rec.Key == cachedstore.GenerationKey {
		return errors.New("database refuses the write")
	}
	return n.Store.Save(ctx, rec, mode)
}

func TestErrorMessages(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cache, db := memstore.New(0), memstore.New(0)
	_, err := cachedstore.New(nil, db)
	checkErr(t, "nil cache", err, core.ErrInvalidConfig)
	_, err = cachedstore.New(db, db)
	checkErr(t, "one store twice", err, core.ErrInvalidConfig)
	for name, opt := range map[string]cachedstore.Option{
		"nil logger":              cachedstore.WithLogger(nil),
		"nil clock":               cachedstore.WithClock(nil),
		"negative retry interval": cachedstore.WithRetryInterval(-time.Second),
		"zero generation refresh": cachedstore.WithGenerationRefresh(0),
	} {
		_, err := cachedstore.New(cache, db, opt)
		checkErr(t, name, err, core.ErrInvalidConfig)
	}

	ctx := context.Background()
	st, err := cachedstore.New(cache, db, cachedstore.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	key, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	rec := core.Record{Key: key, Data: []byte("{}"), Expiry: time.Now().Add(time.Hour)}
	_, err = st.Load(ctx, key)
	checkErr(t, "load of a missing key", err, core.ErrNotFound)
	_, err = st.Load(ctx, "not a key!")
	checkErr(t, "load of an invalid key", err, core.ErrInvalidKey)
	_, err = st.Load(ctx, cachedstore.GenerationKey)
	checkErr(t, "load of the generation record", err, core.ErrNotFound)
	if err := st.Save(ctx, rec, core.Create); err != nil {
		t.Fatal(err)
	}
	err = st.Save(ctx, rec, core.Create)
	checkErr(t, "second create", err, core.ErrKeyExists)
	_, v, err := st.LoadVersion(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	err = st.SaveVersion(ctx, rec, v+1)
	checkErr(t, "versioned update of another version", err, core.ErrVersionConflict)

	// A database without capabilities.
	bare, err := cachedstore.New(memstore.New(0), &plainStore{inner: memstore.New(0)}, cachedstore.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bare.ClearExpired(ctx)
	checkErr(t, "clear expired without the capability", err, core.ErrUnsupported)
	_, err = bare.DeleteUserSessionKeys(ctx, "u")
	checkErr(t, "delete user sessions without the capability", err, core.ErrUnsupported)

	// A cache that cannot delete, and a generation that cannot be renewed
	// (stamped) or does not exist (unstamped): the database changed, and
	// the error says so once.
	down := &plainStore{inner: memstore.New(0), deleteErr: errors.New("cache down")}
	stamped, err := cachedstore.New(down, noGeneration{memstore.New(0)}, cachedstore.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	checkMsg(t, "delete with a stale cache copy (stamped)", stamped.Delete(ctx, key))
	down2 := &plainStore{inner: memstore.New(0), deleteErr: errors.New("cache down")}
	unstamped, err := cachedstore.New(down2, memstore.New(0), cachedstore.WithUnstampedEntries(), cachedstore.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := unstamped.Save(ctx, rec, core.Create); err != nil {
		t.Fatal(err)
	}
	if err := unstamped.LinkUser(ctx, "u", key, rec.Expiry); err != nil {
		t.Fatal(err)
	}
	_, err = unstamped.DeleteUserSessions(ctx, "u")
	checkMsg(t, "delete user sessions with a stale cache copy", err)
	checkMsg(t, "delete with a stale cache copy (unstamped)", unstamped.Delete(ctx, key))
	// The cache failed: it is left alone for the retry interval, and a
	// save cannot drop the old copy either.
	checkMsg(t, "save with a stale cache copy", unstamped.Save(ctx, rec, core.Create))
}
