package core_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
)

// fakeClock is a settable clock shared by the manager and the store.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestIdleTimeout(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	store := &middlewaretest.CountingStore{Store: memstore.New(0, memstore.WithClock(clock.Now))}
	cfg := core.DefaultConfig()
	cfg.Now = clock.Now
	cfg.IdleTimeout = 30 * time.Minute // touch interval: 3 minutes
	m, err := core.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		if r.URL.Path == "/login" {
			_ = s.Set("user", "alice")
		}
		user, _, _ := core.GetAs[string](s, "user")
		_, _ = w.Write([]byte(user))
	}))
	cookie := ""
	get := func(path string) (string, string) {
		req := httptest.NewRequest("GET", path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		set := w.Header().Get("Set-Cookie")
		if set != "" {
			cookie = strings.SplitN(set, ";", 2)[0]
		}
		return w.Body.String(), set
	}
	if user, _ := get("/login"); user != "alice" {
		t.Fatal("login")
	}
	saves := store.Saves.Load()
	clock.Advance(time.Minute)
	if user, set := get("/"); user != "alice" || set != "" || store.Saves.Load() != saves {
		t.Errorf("within the touch interval: user %q, Set-Cookie %q, %d saves; want no write", user, set, store.Saves.Load()-saves)
	}
	for i := 0; i < 5; i++ { // active every 20 minutes for 100 minutes: stays logged in
		clock.Advance(20 * time.Minute)
		if user, _ := get("/"); user != "alice" {
			t.Fatalf("active session ended after %d touches", i)
		}
	}
	if n := store.Saves.Load() - saves; n != 5 {
		t.Errorf("%d touch saves for 5 accesses past the touch interval, want 5", n)
	}
	clock.Advance(31 * time.Minute)
	user, set := get("/")
	if user != "" || !strings.Contains(set, "Max-Age=0") {
		t.Errorf("idle session: user %q, Set-Cookie %q; want it gone and the cookie deleted", user, set)
	}
}

func TestIdleConfig(t *testing.T) {
	for _, c := range []struct{ idle, touch time.Duration }{{-time.Second, 0}, {time.Millisecond, 0}, {time.Minute, time.Minute}} {
		cfg := core.DefaultConfig()
		cfg.IdleTimeout, cfg.IdleTouchInterval = c.idle, c.touch
		if _, err := core.New(memstore.New(0), cfg); err == nil {
			t.Errorf("IdleTimeout %v touch %v accepted", c.idle, c.touch)
		}
	}
}
