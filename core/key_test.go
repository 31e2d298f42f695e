package core_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cookiestore"
)

func newCookieManager(t *testing.T, edit func(*core.Config), opts ...cookiestore.Option) *core.Manager {
	t.Helper()
	cs, err := cookiestore.New(bytes.Repeat([]byte("k"), 32), opts...)
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.DefaultConfig()
	if edit != nil {
		edit(&cfg)
	}
	m, err := core.NewWithCookieStore(cs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// With a cookie store, Key never returns an unverified cookie value: it
// opens the session first, without marking it accessed.
func TestKeyVerifiesCookieStoreValue(t *testing.T) {
	m := newCookieManager(t, nil)
	start := func(cookie string) (*core.Exchange, *core.Session) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		x := new(core.Exchange)
		m.Begin(x, req)
		return x, x.Session()
	}
	var x core.Exchange
	m.Begin(&x, httptest.NewRequest("GET", "/", nil))
	_ = x.Session().Set("n", 42)
	w := httptest.NewRecorder()
	if !x.Commit(w, http.StatusOK) {
		t.Fatal("commit failed")
	}
	sealed := strings.SplitN(strings.TrimPrefix(w.Header().Get("Set-Cookie"), "sessionid="), ";", 2)[0]
	for _, bad := range []string{"1234567", "garbage", sealed[:len(sealed)-2], sealed + "x"} {
		_, s := start("sessionid=" + bad)
		if k := s.Key(); k != "" {
			t.Errorf("cookie %q: Key() = %q, want \"\"", bad, k)
		}
		if s.Accessed() {
			t.Errorf("cookie %q: Key() marked the session accessed", bad)
		}
	}
	x2, s := start("sessionid=" + sealed)
	if k := s.Key(); k != sealed {
		t.Errorf("Key() = %q, want the sealed cookie", k)
	}
	w = httptest.NewRecorder()
	x2.Commit(w, http.StatusOK)
	if s.Accessed() || len(w.Header()) != 0 {
		t.Errorf("Key() alone: accessed %v, headers %v; want no Vary, no cookie", s.Accessed(), w.Header())
	}
	if n, _, _ := core.GetAs[int](s, "n"); n != 42 {
		t.Errorf("after Key() the session reads n=%d", n)
	}
}

// With IdleTimeout on, a Key-only request does not move the idle deadline
// (no save, no cookie); the first access does.
func TestKeyDoesNotTouchIdleSession(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	m := newCookieManager(t, func(c *core.Config) {
		c.IdleTimeout = 30 * time.Minute
		c.Now = clock
	}, cookiestore.WithClock(clock))
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		switch r.URL.Path {
		case "/set":
			_ = s.Set("n", 42)
		case "/get":
			n, _, _ := core.GetAs[int](s, "n")
			fmt.Fprint(w, n)
		}
		fmt.Fprint(w, " key=", s.Key() != "")
	}))
	serve := func(path, cookie string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	cookie := strings.SplitN(serve("/set", "").Header().Get("Set-Cookie"), ";", 2)[0]
	now = now.Add(10 * time.Minute) // past the touch interval (3 minutes)
	if w := serve("/key", cookie); w.Body.String() != " key=true" || len(w.Header().Values("Set-Cookie")) != 0 || w.Header().Get("Vary") != "" {
		t.Errorf("Key only: %q, headers %v; want the key and no cookie, no Vary", w.Body, w.Header())
	}
	if w := serve("/get", cookie); w.Body.String() != "42 key=true" || w.Header().Get("Set-Cookie") == "" {
		t.Errorf("an access: %q, Set-Cookie %q; want the idle deadline moved", w.Body, w.Header().Get("Set-Cookie"))
	}
}

// TestValidKeyEveryByte: the eight-at-a-time check agrees with the
// byte-by-byte rule for every byte value at every position of a key.
func TestValidKeyEveryByte(t *testing.T) {
	slow := func(k string) bool {
		if len(k) < core.MinKeyLength || len(k) > core.MaxKeyLength {
			return false
		}
		for i := 0; i < len(k); i++ {
			if c := k[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
				return false
			}
		}
		return true
	}
	base := []byte("abcdefghijklmnopqrstuvwxyz0123456789abcd")
	for _, n := range []int{core.MinKeyLength, 9, 16, 31, 32, 33, core.MaxKeyLength} {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				k := append([]byte(nil), base[:n]...)
				k[pos] = byte(c)
				if got, want := core.ValidKey(string(k)), slow(string(k)); got != want {
					t.Fatalf("ValidKey(%q) = %v, want %v", k, got, want)
				}
			}
		}
	}
}
