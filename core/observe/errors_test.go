package observe_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/core/observe"
	"github.com/cloakroom/cloakroom/internal/testenv"
)

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
	var seen []error
	hook := observe.HookFunc(func(_ context.Context, e observe.Event) { seen = append(seen, e.Err) })

	bare := observe.Wrap(bareStore{memstore.New(0)}, hook)
	for what, err := range map[string]error{
		"clear expired": func() error { _, err := bare.ClearExpired(ctx); return err }(),
		"ping":          bare.Ping(ctx),
		"versioned load": func() error {
			_, _, err := bare.LoadVersion(ctx, "k")
			return err
		}(),
	} {
		testenv.ErrorNamesPackage(t, "observe", what+" without the capability", err, core.ErrUnsupported)
	}

	// The wrapped store's errors pass through as they are, to the caller
	// and to the hook.
	st := observe.Wrap(memstore.New(0), hook)
	seen = nil
	err := st.Save(ctx, core.Record{Key: "not a key!", Expiry: time.Now().Add(time.Hour)}, core.Create)
	if !errors.Is(err, core.ErrInvalidKey) || len(seen) != 1 || seen[0] != err {
		t.Fatalf("save of an invalid key: %v, hook saw %v", err, seen)
	}
	testenv.ErrorNamesAtMost(t, "save of an invalid key", err, "observe", 0)
	testenv.ErrorNamesAtMost(t, "save of an invalid key", err, "memstore", 1)
}
