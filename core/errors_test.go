package core_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// brokenStore fails every call it is told to, after an optional stall.
type brokenStore struct {
	core.Store
	load, save, del error
	stall           time.Duration
}

func (b *brokenStore) Load(ctx context.Context, key string) (core.Record, error) {
	if b.stall > 0 {
		select {
		case <-time.After(b.stall):
		case <-ctx.Done():
			return core.Record{}, ctx.Err()
		}
	}
	if b.load != nil {
		return core.Record{}, b.load
	}
	return b.Store.Load(ctx, key)
}

func (b *brokenStore) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	if b.save != nil {
		return b.save
	}
	return b.Store.Save(ctx, rec, mode)
}

func (b *brokenStore) Delete(ctx context.Context, key string) error {
	if b.del != nil {
		return b.del
	}
	return b.Store.Delete(ctx, key)
}

var errDisk = errors.New("disk on fire")

// quietManager is a manager over st whose log goes to the test's log.
func quietManager(t *testing.T, st core.Store, cfg core.Config) *core.Manager {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	m, err := core.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// storedSession saves a session in st and returns a fresh request's
// session for its cookie.
func storedSession(t *testing.T, m *core.Manager) *core.Session {
	t.Helper()
	var x core.Exchange
	m.Begin(&x, httptest.NewRequest("GET", "/", nil))
	if err := x.Session().Set("n", 1); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if !x.Commit(w, 200) {
		t.Fatal("commit failed")
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", strings.SplitN(w.Header().Get("Set-Cookie"), ";", 2)[0])
	return begin(m, r)
}

// Every error core returns names the package once ("cloakroom: "), however
// deep the wrapping, and errors.Is finds each condition a caller branches
// on.
func TestErrorsNamePackageOnce(t *testing.T) {
	cases := []struct {
		name string
		err  func(t *testing.T) error
		is   []error
	}{
		{"invalid config", func(t *testing.T) error {
			_, err := core.New(memstore.New(0), core.Config{CookieName: "bad name"})
			return err
		}, []error{core.ErrInvalidConfig}},
		{"optimistic without versioning", func(t *testing.T) error {
			cfg := core.DefaultConfig()
			cfg.Optimistic = true
			_, err := core.New(&brokenStore{Store: memstore.New(0)}, cfg)
			return err
		}, []error{core.ErrInvalidConfig, core.ErrUnsupported, errors.ErrUnsupported}},
		{"corrupt JSON", func(t *testing.T) error {
			_, err := core.JSONCodec{}.Decode([]byte(`{"a":`))
			return err
		}, []error{core.ErrTampered}},
		{"store fails on load", func(t *testing.T) error {
			st := &brokenStore{Store: memstore.New(0)}
			m := quietManager(t, st, core.DefaultConfig())
			s := storedSession(t, m)
			st.load = errDisk
			return s.Err()
		}, []error{errDisk}},
		{"store times out", func(t *testing.T) error {
			st := &brokenStore{Store: memstore.New(0)}
			cfg := core.DefaultConfig()
			cfg.StoreTimeout = 20 * time.Millisecond
			m := quietManager(t, st, cfg)
			s := storedSession(t, m)
			st.stall = time.Second
			return s.Set("x", 1)
		}, []error{core.ErrStoreTimeout, context.DeadlineExceeded}},
		{"save fails", func(t *testing.T) error {
			st := &brokenStore{Store: memstore.New(0), save: errDisk}
			m, _ := core.New(st, core.DefaultConfig())
			s := newSession(t, m)
			_ = s.Set("x", 1)
			return s.Save(context.Background())
		}, []error{errDisk}},
		{"flush fails", func(t *testing.T) error {
			st := &brokenStore{Store: memstore.New(0)}
			m, _ := core.New(st, core.DefaultConfig())
			s := storedSession(t, m)
			st.del = errDisk
			return s.Flush()
		}, []error{errDisk}},
		{"too large", func(t *testing.T) error {
			m := newManager(t, func(c *core.Config) { c.MaxSessionBytes = 64 })
			return newSession(t, m).Set("x", strings.Repeat("y", 100))
		}, []error{core.ErrTooLarge}},
		{"replay of a corrupt record", func(t *testing.T) error {
			// A concurrent writer leaves a record that no longer decodes:
			// the optimistic save reloads it after the conflict.
			st := memstore.New(0)
			cfg := core.DefaultConfig()
			cfg.Optimistic = true
			m, err := core.New(st, cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := storedSession(t, m)
			if err := s.Set("n", 2); err != nil {
				t.Fatal(err)
			}
			if err := st.Save(context.Background(), core.Record{Key: s.Key(), Data: []byte(`{"n":`), Expiry: time.Now().Add(time.Hour)}, core.Update); err != nil {
				t.Fatal(err)
			}
			return s.Save(context.Background())
		}, []error{core.ErrTampered}},
		{"no session", func(t *testing.T) error {
			_, err := core.FromContext(context.Background())
			return err
		}, []error{core.ErrNoSession}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err(t)
			if err == nil {
				t.Fatal("no error")
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%q, %q) = false", err, target)
				}
			}
			if n := strings.Count(err.Error(), "cloakroom:"); n > 1 {
				t.Errorf("%q names the package %d times", err, n)
			}
			parts := strings.Split(err.Error(), ": ")
			for i := 1; i < len(parts); i++ {
				if parts[i] == parts[i-1] {
					t.Errorf("%q says %q twice in a row", err, parts[i])
				}
			}
			if tc.name != "no session" && !strings.HasPrefix(err.Error(), "cloakroom: ") {
				t.Errorf("%q does not begin with the package's name", err)
			}
		})
	}
}
