package core_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
)

// newManager returns a manager over a fresh memory store with the default
// configuration, edited by edit when it is not nil.
var newManager = middlewaretest.NewManager

func newSession(t *testing.T, m *core.Manager) *core.Session {
	return begin(m, httptest.NewRequest("GET", "/", nil))
}

// begin returns r's session outside any middleware, as an adapter gets it
// (see core.Exchange); it is never committed.
func begin(m *core.Manager, r *http.Request) *core.Session {
	var x core.Exchange
	m.Begin(&x, r)
	return x.Session()
}

func TestDictionaryAPI(t *testing.T) {
	s := newSession(t, newManager(t, nil))
	if s.Accessed() || s.Modified() || !s.IsEmpty() {
		t.Fatal("a new session starts unaccessed, unmodified and empty")
	}
	if ok, err := s.Get("missing", new(int)); ok || err != nil {
		t.Fatalf("Get(missing) = %v, %v", ok, err)
	}
	if !s.Accessed() || s.Modified() {
		t.Fatal("a read marks accessed, not modified")
	}
	if err := s.Set("a", 1); err != nil {
		t.Fatal(err)
	}
	if stored, err := s.SetDefault("a", 2); stored || err != nil {
		t.Errorf("SetDefault on a present key stored: %v %v", stored, err)
	}
	if stored, err := s.SetDefault("b", "two"); !stored || err != nil {
		t.Errorf("SetDefault on a missing key: %v %v", stored, err)
	}
	if got := strings.Join(s.Keys(), ","); got != "a,b" || s.Len() != 2 || !s.Has("b") || s.Has("c") {
		t.Errorf("Keys %q Len %d", got, s.Len())
	}
	var b string
	if ok, err := s.Pop("b", &b); !ok || err != nil || b != "two" || s.Has("b") {
		t.Errorf("Pop = %v %v %q", ok, err, b)
	}
	if ok, _ := s.Pop("b", nil); ok {
		t.Error("Pop of a popped key reported present")
	}
	s.Delete("a")
	s.Delete("never")
	if s.Len() != 0 || !s.Modified() {
		t.Error("Delete")
	}
	if _, _, err := core.GetAs[int](s, "x"); err != nil {
		t.Error(err)
	}
	_ = s.Set("x", "not a number")
	if _, ok, err := core.GetAs[int](s, "x"); !ok || err == nil {
		t.Errorf("GetAs[int] of a string = %v, %v; want a type error", ok, err)
	}
}

func TestUnserialisableIsAnErrorAtSet(t *testing.T) {
	s := newSession(t, newManager(t, nil))
	for _, v := range []any{make(chan int), func() {}, math.Inf(1), map[bool]int{true: 1}} {
		if err := s.Set("bad", v); err == nil {
			t.Errorf("Set(%T) succeeded", v)
		}
	}
	if err := s.Update(map[string]any{"good": 1, "bad": make(chan int)}); err == nil {
		t.Error("Update with a bad value succeeded")
	}
	if s.Has("good") || s.Modified() {
		t.Error("a failed Update stored part of its values")
	}
}

func TestExpirySemantics(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	m := newManager(t, func(c *core.Config) { c.Now = func() time.Time { return now } })
	s := newSession(t, m)
	if s.ExpiryAge() != core.DefaultCookieAge || !s.ExpiryDate().Equal(now.Add(core.DefaultCookieAge)) || s.ExpireAtBrowserClose() {
		t.Errorf("defaults: %v %v %v", s.ExpiryAge(), s.ExpiryDate(), s.ExpireAtBrowserClose())
	}
	_ = s.SetExpiry(90 * time.Second)
	if s.ExpiryAge() != 90*time.Second || !s.ExpiryDate().Equal(now.Add(90*time.Second)) {
		t.Errorf("SetExpiry(90s): %v %v", s.ExpiryAge(), s.ExpiryDate())
	}
	var raw int
	if _, err := s.Get(core.ExpiryKey, &raw); err != nil || raw != 90 {
		t.Errorf("stored as Django's int seconds: %d %v", raw, err)
	}
	_ = s.SetExpiry(1500 * time.Millisecond)
	if s.ExpiryAge() != 2*time.Second {
		t.Errorf("a fractional second rounds up, never to 0 (browser close): %v", s.ExpiryAge())
	}
	at := now.Add(48 * time.Hour)
	_ = s.SetExpiryAt(at)
	if s.ExpiryAge() != 48*time.Hour || !s.ExpiryDate().Equal(at) {
		t.Errorf("SetExpiryAt: %v %v", s.ExpiryAge(), s.ExpiryDate())
	}
	var iso string
	_, _ = s.Get(core.ExpiryKey, &iso)
	if iso != "2026-11-25T12:00:00+00:00" {
		t.Errorf("absolute expiry stored as %q, want Django's isoformat", iso)
	}
	_ = s.SetExpireAtBrowserClose()
	if !s.ExpireAtBrowserClose() || s.ExpiryAge() != core.DefaultCookieAge {
		t.Errorf("browser close: %v %v", s.ExpireAtBrowserClose(), s.ExpiryAge())
	}
	_ = s.ResetExpiry()
	if s.Has(core.ExpiryKey) || s.ExpireAtBrowserClose() {
		t.Error("ResetExpiry")
	}
	// A Django-written float or garbage expiry must not break anything.
	_ = s.Set(core.ExpiryKey, "not a date")
	if s.ExpiryAge() != core.DefaultCookieAge {
		t.Errorf("malformed expiry: %v", s.ExpiryAge())
	}
}

func TestConfigValidation(t *testing.T) {
	bad := map[string]func(*core.Config){
		"empty name":           func(c *core.Config) { c.CookieName = "" },
		"name with space":      func(c *core.Config) { c.CookieName = "session id" },
		"zero age":             func(c *core.Config) { c.CookieAge = 0 },
		"relative path":        func(c *core.Config) { c.CookiePath = "shop" },
		"path with semicolon":  func(c *core.Config) { c.CookiePath = "/;Domain=evil" },
		"bad domain":           func(c *core.Config) { c.CookieDomain = "evil;x" },
		"SameSite=None insec.": func(c *core.Config) { c.SameSite = http.SameSiteNoneMode },
		"unknown SameSite":     func(c *core.Config) { c.SameSite = 42 },
	}
	for name, edit := range bad {
		cfg := core.DefaultConfig()
		edit(&cfg)
		if _, err := core.New(memstore.New(0), cfg); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("%s: New = %v, want ErrInvalidConfig", name, err)
		}
	}
	if _, err := core.New(nil, core.DefaultConfig()); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf("nil store: %v", err)
	}
	if _, err := core.New(memstore.New(0), core.Config{}); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf("zero Config: %v", err)
	}
}

func TestNewKey(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for i := 0; i < 2000; i++ {
		k, err := core.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != 32 || !core.ValidKey(k) || seen[k] {
			t.Fatalf("bad or repeated key %q", k)
		}
		seen[k] = true
		for _, r := range k {
			counts[r]++
		}
	}
	if len(counts) != 36 {
		t.Errorf("keys use %d of 36 characters", len(counts))
	}
	for r, n := range counts { // expected 64000/36 ≈ 1778 each
		if n < 1500 || n > 2060 {
			t.Errorf("character %q drawn %d times: biased", r, n)
		}
	}
}

func TestFromContextWithoutMiddleware(t *testing.T) {
	if _, err := core.FromContext(context.Background()); !errors.Is(err, core.ErrNoSession) {
		t.Errorf("FromContext = %v", err)
	}
}

func TestSaveEarly(t *testing.T) {
	m := newManager(t, nil)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		_ = s.Set("k", "v")
		if err := s.Save(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if s.Key() == "" || s.Modified() {
			t.Errorf("after Save: key %q modified %v", s.Key(), s.Modified())
		}
		w.WriteHeader(201)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	if w.Code != 201 || !strings.Contains(w.Header().Get("Set-Cookie"), "sessionid=") {
		t.Fatalf("%d %q", w.Code, w.Header().Get("Set-Cookie"))
	}
	if n := m.Store().(*memstore.Store).Len(); n != 1 {
		t.Errorf("%d records after an early Save and the commit, want 1", n)
	}
}

// TestSetExpiryAtWritesPythonISO: the absolute expiry is stored as
// Python's isoformat writes it, six fraction digits or none, which every
// Python (before 3.11 too) reads with datetime.fromisoformat.
func TestSetExpiryAtWritesPythonISO(t *testing.T) {
	m := newManager(t, nil)
	for at, want := range map[time.Time]string{
		time.Date(2030, 1, 2, 3, 4, 5, 500000000, time.UTC):                 "2030-01-02T03:04:05.500000+00:00",
		time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC):                         "2030-01-02T03:04:05+00:00",
		time.Date(2030, 1, 2, 3, 4, 5, 999, time.UTC):                       "2030-01-02T03:04:05+00:00",
		time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.FixedZone("", 3600)): "2030-01-02T03:04:05.123456+01:00",
	} {
		s := begin(m, httptest.NewRequest("GET", "/", nil))
		if err := s.SetExpiryAt(at); err != nil {
			t.Fatal(err)
		}
		var got string
		if _, err := s.Get(core.ExpiryKey, &got); err != nil || got != want {
			t.Errorf("SetExpiryAt(%v) stored %q, %v; want %q", at, got, err, want)
		}
		if d := s.ExpiryDate().Sub(at.Truncate(time.Microsecond)); d != 0 {
			t.Errorf("SetExpiryAt(%v): ExpiryDate off by %v", at, d)
		}
	}
}
