package core_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// limited returns a manager over a memory store with MaxSessionBytes limit
// and the store, edited further by edit.
func limited(t *testing.T, limit int, edit func(*core.Config)) (*core.Manager, *memstore.Store) {
	t.Helper()
	st := memstore.New(0)
	cfg := core.DefaultConfig()
	cfg.MaxSessionBytes = limit
	if edit != nil {
		edit(&cfg)
	}
	m, err := core.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, st
}

// stored puts data under a fresh key in st and returns a session of m whose
// request carries that key.
func stored(t *testing.T, m *core.Manager, st core.Store, data string) (*core.Session, string) {
	t.Helper()
	key, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(context.Background(), core.Record{Key: key, Data: []byte(data), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "sessionid="+key)
	return begin(m, r), key
}

func wantTooLarge(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, core.ErrTooLarge) {
		t.Errorf("%s: %v, want an error wrapping ErrTooLarge", what, err)
	}
}

func TestMaxSessionBytesDefault(t *testing.T) {
	if core.DefaultMaxSessionBytes != 64<<10 {
		t.Errorf("DefaultMaxSessionBytes = %d, want 64 KiB", core.DefaultMaxSessionBytes)
	}
	if got := core.DefaultConfig().MaxSessionBytes; got != core.DefaultMaxSessionBytes {
		t.Errorf("DefaultConfig().MaxSessionBytes = %d, want 64 KiB", got)
	}
	m, _ := limited(t, 0, nil)
	if got := m.Config().MaxSessionBytes; got != core.DefaultMaxSessionBytes {
		t.Errorf("zero MaxSessionBytes became %d, want DefaultMaxSessionBytes", got)
	}
	s := newSession(t, m)
	wantTooLarge(t, "a 9 MB value under the default limit", s.Set("address", strings.Repeat("x", 9<<20)))
	if s.Len() != 0 || s.Modified() {
		t.Errorf("the refused value was kept: %d keys, modified %v", s.Len(), s.Modified())
	}
}

// TestMaxSessionBytesExact: the limit counts the JSON object exactly, so a
// session of exactly the limit is stored and one byte more is not.
func TestMaxSessionBytesExact(t *testing.T) {
	const limit = 100
	m, st := limited(t, limit, nil)
	s := newSession(t, m)
	// {"a":"<n x>"} is n+8 bytes.
	wantTooLarge(t, "101 bytes", s.Set("a", strings.Repeat("x", limit-7)))
	if err := s.Set("a", strings.Repeat("x", limit-8)); err != nil {
		t.Fatalf("exactly the limit: %v", err)
	}
	if err := s.Save(context.Background()); err != nil {
		t.Fatalf("saving a session of exactly the limit: %v", err)
	}
	rec, err := st.Load(context.Background(), s.Key())
	if err != nil || len(rec.Data) != limit {
		t.Fatalf("stored %d bytes (%v), want %d", len(rec.Data), err, limit)
	}
}

func TestTooLargeLeavesSessionAsItWas(t *testing.T) {
	m, st := limited(t, 200, nil)
	s, key := stored(t, m, st, `{"cart":[1,2,3],"name":"ann"}`)
	before := s.Keys()
	big := strings.Repeat("y", 300)
	wantTooLarge(t, "Set", s.Set("note", big))
	wantTooLarge(t, "Set over an existing key", s.Set("name", big))
	if stored, err := s.SetDefault("note", big); stored {
		t.Error("SetDefault stored the value")
	} else {
		wantTooLarge(t, "SetDefault", err)
	}
	wantTooLarge(t, "Update", s.Update(map[string]any{"small": 1, "note": big}))
	calls := 0
	wantTooLarge(t, "Modify", core.Modify(s, "cart", func(c []int, _ bool) ([]int, error) {
		calls++
		return make([]int, 200), nil
	}))
	if calls != 1 {
		t.Errorf("Modify called fn %d times", calls)
	}
	if strings.Join(s.Keys(), ",") != strings.Join(before, ",") || s.Has("small") {
		t.Errorf("keys %q after refused changes, want %q", s.Keys(), before)
	}
	if name, _, _ := core.GetAs[string](s, "name"); name != "ann" {
		t.Errorf("name %q, want the old value", name)
	}
	if cart, _, _ := core.GetAs[[]int](s, "cart"); len(cart) != 3 {
		t.Errorf("cart %v, want the old value", cart)
	}
	if s.Modified() {
		t.Error("refused changes marked the session modified")
	}
	// Changes that fit still work, including after refusals.
	if err := s.Set("name", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec, _ := st.Load(context.Background(), key)
	if string(rec.Data) != `{"cart":[1,2,3],"name":"bob"}` {
		t.Errorf("stored %s", rec.Data)
	}
}

func TestTooLargeExpirySetter(t *testing.T) {
	m, _ := limited(t, 40, nil)
	s := newSession(t, m)
	if err := s.Set("v", strings.Repeat("z", 20)); err != nil { // 28 bytes
		t.Fatal(err)
	}
	wantTooLarge(t, "SetExpiryAt", s.SetExpiryAt(time.Now().Add(time.Hour)))
	if s.Has(core.ExpiryKey) {
		t.Error("the refused expiry was stored")
	}
}

// TestOversizedSessionCanShrinkButNotSave: a session loaded over the limit
// (a larger limit before, another app) may shrink; growing it is refused;
// saving it while still over stores nothing.
func TestOversizedSessionCanShrinkButNotSave(t *testing.T) {
	m, st := limited(t, 60, nil)
	orig := `{"a":"` + strings.Repeat("a", 40) + `","b":"` + strings.Repeat("b", 45) + `"}`
	s, key := stored(t, m, st, orig)
	wantTooLarge(t, "growing an oversized session", s.Set("c", 1))
	if err := s.Set("a", "short"); err != nil {
		t.Fatalf("shrinking an oversized session: %v", err)
	}
	wantTooLarge(t, "saving a session still over the limit", s.Save(context.Background()))
	if rec, _ := st.Load(context.Background(), key); string(rec.Data) != orig {
		t.Errorf("a refused save changed the store: %s", rec.Data)
	}
	if err := s.Delete("b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(context.Background()); err != nil {
		t.Fatalf("saving once under the limit: %v", err)
	}
	if rec, _ := st.Load(context.Background(), key); string(rec.Data) != `{"a":"short"}` {
		t.Errorf("stored %s", rec.Data)
	}
}

// TestOversizedSessionCommitIs500: the save at commit refuses it, the error
// handler answers 500 (a response error, not the client's), nothing is
// stored and no cookie is set.
func TestOversizedSessionCommitIs500(t *testing.T) {
	m, st := limited(t, 60, nil)
	orig := `{"a":"` + strings.Repeat("a", 80) + `"}`
	key, _ := core.NewKey()
	if err := st.Save(context.Background(), core.Record{Key: key, Data: []byte(orig), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		if err := s.Set("a", strings.Repeat("a", 79)); err != nil { // shrinks: allowed
			t.Errorf("shrinking Set: %v", err)
		}
		_, _ = w.Write([]byte("handler's body"))
	}))
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "sessionid="+key)
	h.ServeHTTP(w, r)
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "handler's body") || w.Header().Get("Set-Cookie") != "" {
		t.Errorf("commit of an oversized session: %d %q cookie %q, want 500 from the error handler", w.Code, w.Body, w.Header().Get("Set-Cookie"))
	}
	if rec, _ := st.Load(context.Background(), key); string(rec.Data) != orig {
		t.Errorf("the store changed: %s", rec.Data)
	}
}

func TestMaxSessionBytesNegativeIsNoLimit(t *testing.T) {
	m, _ := limited(t, -1, nil)
	s := newSession(t, m)
	if err := s.Set("big", strings.Repeat("x", 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestIdleTimestampCounts: with IdleTimeout on, the activity timestamp the
// save adds is counted in advance, so a Set that succeeds never leads to a
// save refused for size.
func TestIdleTimestampCounts(t *testing.T) {
	const limit = 120
	for n := 0; n < limit; n++ {
		m, _ := limited(t, limit, func(c *core.Config) { c.IdleTimeout = time.Hour })
		s := newSession(t, m)
		if s.Set("v", strings.Repeat("x", n)) != nil {
			continue
		}
		if err := s.Save(context.Background()); err != nil {
			t.Fatalf("value of %d bytes: Set succeeded, Save failed: %v", n, err)
		}
	}
}

// TestReplayTooLarge: with Optimistic on, a conflict replays the request's
// Modify on the fresh session; when the result is over the limit the save
// fails with ErrTooLarge and the other request's session stays stored.
func TestReplayTooLarge(t *testing.T) {
	m, st := limited(t, 100, func(c *core.Config) { c.Optimistic = true })
	s1, key := stored(t, m, st, `{"cart":[]}`)
	s2, _ := func() (*core.Session, string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", "sessionid="+key)
		return begin(m, r), key
	}()
	add := func(s *core.Session, item string) error {
		return core.Modify(s, "cart", func(c []string, _ bool) ([]string, error) { return append(c, item), nil })
	}
	long := strings.Repeat("i", 50)
	if err := add(s1, long); err != nil {
		t.Fatal(err)
	}
	if err := add(s2, long); err != nil {
		t.Fatal(err)
	}
	if err := s2.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	want, _ := st.Load(context.Background(), key)
	err := s1.Save(context.Background())
	wantTooLarge(t, "the replayed save", err)
	if got, _ := st.Load(context.Background(), key); string(got.Data) != string(want.Data) {
		t.Errorf("store after the refused replay: %s, want %s", got.Data, want.Data)
	}
}
