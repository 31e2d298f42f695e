package core_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// stallingStore wraps a memory store; while stalled, every call blocks
// until its context ends, as a store behind a blackholed network does.
type stallingStore struct {
	*memstore.Store
	stalled     atomic.Bool
	sawDeadline atomic.Bool
}

func (s *stallingStore) block(ctx context.Context) error {
	if _, ok := ctx.Deadline(); ok {
		s.sawDeadline.Store(true)
	}
	if !s.stalled.Load() {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func (s *stallingStore) Load(ctx context.Context, key string) (core.Record, error) {
	if err := s.block(ctx); err != nil {
		return core.Record{}, err
	}
	return s.Store.Load(ctx, key)
}

func (s *stallingStore) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	if err := s.block(ctx); err != nil {
		return err
	}
	return s.Store.Save(ctx, rec, mode)
}

func (s *stallingStore) Delete(ctx context.Context, key string) error {
	if err := s.block(ctx); err != nil {
		return err
	}
	return s.Store.Delete(ctx, key)
}

func (s *stallingStore) LoadVersion(ctx context.Context, key string) (core.Record, uint64, error) {
	if err := s.block(ctx); err != nil {
		return core.Record{}, 0, err
	}
	return s.Store.LoadVersion(ctx, key)
}

func (s *stallingStore) SaveVersion(ctx context.Context, rec core.Record, version uint64) error {
	if err := s.block(ctx); err != nil {
		return err
	}
	return s.Store.SaveVersion(ctx, rec, version)
}

func (s *stallingStore) LinkUser(ctx context.Context, user, key string, expiry time.Time) error {
	if err := s.block(ctx); err != nil {
		return err
	}
	return s.Store.LinkUser(ctx, user, key, expiry)
}

func TestStoreTimeoutDefault(t *testing.T) {
	if core.DefaultConfig().StoreTimeout != core.DefaultStoreTimeout || core.DefaultStoreTimeout != 5*time.Second {
		t.Errorf("DefaultConfig().StoreTimeout = %v, DefaultStoreTimeout %v", core.DefaultConfig().StoreTimeout, core.DefaultStoreTimeout)
	}
	cfg := core.DefaultConfig()
	cfg.StoreTimeout = 0
	st := &stallingStore{Store: memstore.New(0)}
	m, err := core.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config().StoreTimeout != core.DefaultStoreTimeout {
		t.Errorf("zero StoreTimeout became %v", m.Config().StoreTimeout)
	}
	if m.Store() != core.Store(st) {
		t.Errorf("Manager.Store() = %T, want the store given to New", m.Store())
	}
	if !m.Supports(core.CapVersioning) || !m.Supports(core.CapUserIndex) {
		t.Error("the bounded store hides the store's capabilities")
	}
	s := newSessionOf(m, "")
	if err := s.Set("a", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !st.sawDeadline.Load() {
		t.Error("the store call had no deadline")
	}

	cfg.StoreTimeout = -1
	st = &stallingStore{Store: memstore.New(0)}
	if m, err = core.New(st, cfg); err != nil {
		t.Fatal(err)
	}
	s = newSessionOf(m, "")
	_ = s.Set("a", 1)
	if err := s.Save(context.Background()); err != nil || st.sawDeadline.Load() {
		t.Errorf("negative StoreTimeout: %v, deadline %v; want no deadline", err, st.sawDeadline.Load())
	}
}

func newSessionOf(m *core.Manager, key string) *core.Session {
	r := httptest.NewRequest("GET", "/", nil)
	if key != "" {
		r.Header.Set("Cookie", "sessionid="+key)
	}
	return begin(m, r)
}

func wantTimeout(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, core.ErrStoreTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%s: %v, want an error wrapping ErrStoreTimeout and context.DeadlineExceeded", what, err)
	}
}

// TestStoreTimeout: every kind of store call a session makes gives up
// after StoreTimeout with ErrStoreTimeout.
func TestStoreTimeout(t *testing.T) {
	for _, optimistic := range []bool{false, true} {
		st := &stallingStore{Store: memstore.New(0)}
		cfg := core.DefaultConfig()
		cfg.StoreTimeout = 50 * time.Millisecond
		cfg.Optimistic = optimistic
		m, err := core.New(st, cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := newSessionOf(m, "")
		if err := s.Set("n", 1); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(context.Background()); err != nil {
			t.Fatal(err)
		}
		key := s.Key()
		st.stalled.Store(true)

		start := time.Now()
		wantTimeout(t, "load", newSessionOf(m, key).Err())
		s = newSessionOf(m, "")
		_ = s.Set("n", 2)
		wantTimeout(t, "create", s.Save(context.Background()))
		st.stalled.Store(false)
		s = newSessionOf(m, key)
		_ = s.Set("n", 3)
		st.stalled.Store(true)
		wantTimeout(t, "update", s.Save(context.Background()))
		wantTimeout(t, "flush", s.Flush())
		st.stalled.Store(false)
		s = newSessionOf(m, key)
		if err := s.Login("ann"); err != nil {
			t.Fatal(err)
		}
		st.stalled.Store(true)
		wantTimeout(t, "login's save", s.Save(context.Background()))
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("five timed-out calls of 50 ms took %v", d)
		}
		st.stalled.Store(false)
		if n, _, err := core.GetAs[int](newSessionOf(m, key), "n"); err != nil || n != 1 {
			t.Errorf("after the stall: n=%d %v, want the value saved before", n, err)
		}
	}
}

// TestStoreTimeoutAnswers503: through the middleware, a stalled store gives
// 503 with Retry-After in about StoreTimeout, not a hung request.
func TestStoreTimeoutAnswers503(t *testing.T) {
	st := &stallingStore{Store: memstore.New(0)}
	cfg := core.DefaultConfig()
	cfg.StoreTimeout = 300 * time.Millisecond
	m, err := core.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		if r.URL.Path == "/set" {
			_ = s.Set("n", 1)
		} else {
			s.Has("n")
		}
		_, _ = w.Write([]byte("ok"))
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/set", nil))
	cookie := w.Header().Get("Set-Cookie")
	if w.Code != 200 || cookie == "" {
		t.Fatalf("/set: %d %q", w.Code, cookie)
	}
	st.stalled.Store(true)
	for _, path := range []string{"/read", "/set"} {
		r := httptest.NewRequest("GET", path, nil)
		if path == "/read" {
			r.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, r)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s took %v with a 300 ms StoreTimeout", path, d)
		}
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" || w.Body.String() == "ok" {
			t.Errorf("%s with a stalled store: %d Retry-After %q %q, want 503 from the error handler", path, w.Code, w.Header().Get("Retry-After"), w.Body)
		}
		if w.Header().Get("Set-Cookie") != "" {
			t.Errorf("%s with a stalled store set a cookie", path)
		}
	}
}

func TestDefaultErrorHandlerStatuses(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
	}{
		{core.ErrSessionDeleted, 400},
		{core.ErrStoreTimeout, 503},
		{core.ErrTooLarge, 500},
		{errors.New("other"), 500},
	} {
		w := httptest.NewRecorder()
		core.DefaultErrorHandler(w, httptest.NewRequest("GET", "/", nil), c.err)
		if w.Code != c.status {
			t.Errorf("%v: %d, want %d", c.err, w.Code, c.status)
		}
	}
}
