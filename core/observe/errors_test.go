package observe_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/core/observe"
)

// countsOnce asserts that err's message names pkg at most max times and
// "cloakroom: " at most once.
func countsOnce(t *testing.T, what string, err error, pkg string, max int) {
	t.Helper()
	msg := err.Error()
	if n := strings.Count(msg, pkg+":"); n > max {
		t.Errorf("%s: %q names %s %d times, want at most %d", what, msg, pkg, n, max)
	}
	if strings.Count(msg, "cloakroom: ") > 1 {
		t.Errorf("%s: %q repeats \"cloakroom: \"", what, msg)
	}
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
		if !errors.Is(err, core.ErrUnsupported) {
			t.Fatalf("%s without the capability: %v", what, err)
		}
		if !strings.HasPrefix(err.Error(), "observe: ") {
			t.Errorf("%s without the capability: %q does not start with the package name", what, err)
		}
		countsOnce(t, what, err, "observe", 1)
	}

	// The wrapped store's errors pass through as they are, to the caller
	// and to the hook.
	st := observe.Wrap(memstore.New(0), hook)
	seen = nil
	err := st.Save(ctx, core.Record{Key: "not a key!", Expiry: time.Now().Add(time.Hour)}, core.Create)
	if !errors.Is(err, core.ErrInvalidKey) || len(seen) != 1 || seen[0] != err {
		t.Fatalf("save of an invalid key: %v, hook saw %v", err, seen)
	}
	countsOnce(t, "save of an invalid key", err, "observe", 0)
	countsOnce(t, "save of an invalid key", err, "memstore", 1)
}
