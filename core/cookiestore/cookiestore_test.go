package cookiestore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cookiestore"
	"github.com/cloakroom/cloakroom/core/storetest"
)

var (
	secret    = bytes.Repeat([]byte("s"), 32)
	oldSecret = bytes.Repeat([]byte("o"), 32)
	ctx       = context.Background()
)

func must(t testing.TB, opts ...cookiestore.Option) *cookiestore.Store {
	st, err := cookiestore.New(secret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.RunCookieStore(t, func(t *testing.T) core.CookieStore { return must(t) }, storetest.CookieOptions{})
}

func TestRotation(t *testing.T) {
	old, err := cookiestore.New(oldSecret)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := old.Seal(ctx, []byte(`{"u":1}`), time.Now().Add(time.Hour))
	rotated := must(t, cookiestore.WithOldSecrets(oldSecret))
	data, _, err := rotated.Open(ctx, v)
	if err != nil || string(data) != `{"u":1}` {
		t.Fatalf("old-secret cookie after rotation: %q %v", data, err)
	}
	resealed, _ := rotated.Seal(ctx, data, time.Now().Add(time.Hour))
	if _, _, err := old.Open(ctx, resealed); err == nil {
		t.Error("re-sealed with the old secret, not the current one")
	}
	dropped := must(t)
	if _, _, err := dropped.Open(ctx, v); !errors.Is(err, core.ErrTampered) {
		t.Errorf("old-secret cookie after the old secret was dropped: %v", err)
	}
	if _, _, err := dropped.Open(ctx, resealed); err != nil {
		t.Errorf("re-sealed cookie after the old secret was dropped: %v", err)
	}
}

func TestSaltsIsolate(t *testing.T) {
	a, b := must(t, cookiestore.WithSalt("a")), must(t, cookiestore.WithSalt("b"))
	v, _ := a.Seal(ctx, []byte(`{}`), time.Now().Add(time.Hour))
	if _, _, err := b.Open(ctx, v); !errors.Is(err, core.ErrTampered) {
		t.Errorf("a value sealed under salt a opened under salt b: %v", err)
	}
}

func TestMaxAgeAndExpiry(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	st := must(t, cookiestore.WithClock(clock), cookiestore.WithMaxAge(time.Hour))
	v, _ := st.Seal(ctx, []byte(`{}`), now.Add(24*time.Hour))
	now = now.Add(61 * time.Minute)
	if _, _, err := st.Open(ctx, v); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("older than the max age: %v", err)
	}
	now = time.Now()
	v, _ = st.Seal(ctx, []byte(`{}`), now.Add(time.Minute)) // SetExpiry(60s)
	now = now.Add(2 * time.Minute)
	if _, _, err := st.Open(ctx, v); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("past its own expiry: %v", err)
	}
}

func TestBadConfig(t *testing.T) {
	for _, tc := range []struct {
		secret []byte
		opts   []cookiestore.Option
	}{
		{nil, nil}, {[]byte("short"), nil},
		{secret, []cookiestore.Option{cookiestore.WithOldSecrets([]byte("x"))}},
		{secret, []cookiestore.Option{cookiestore.WithMaxAge(0)}},
	} {
		if _, err := cookiestore.New(tc.secret, tc.opts...); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("New(%q) = %v", tc.secret, err)
		}
	}
}

func TestCompressionBomb(t *testing.T) {
	st := must(t, cookiestore.WithMaxDecompressed(1024))
	v, err := st.Seal(ctx, []byte(`{"z":"`+strings.Repeat("0", 100000)+`"}`), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Open(ctx, v); !errors.Is(err, core.ErrTampered) {
		t.Errorf("a value that inflates past the bound: %v", err)
	}
}

// Through the middleware: the session travels in the cookie; a tampered
// cookie gives an empty session, never a 500.
func TestManager(t *testing.T) {
	m, err := core.NewWithCookieStore(must(t), core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, _, _ := core.GetAs[int](s, "n")
		if r.URL.Path == "/inc" {
			_ = s.Set("n", n+1)
		}
		fmt.Fprint(w, n)
	}))
	do := func(path, cookie string) (string, string) {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("%s: %d", path, w.Code)
		}
		return w.Body.String(), strings.SplitN(w.Header().Get("Set-Cookie"), ";", 2)[0]
	}
	_, c := do("/inc", "")
	_, c = do("/inc", c)
	if n, _ := do("/", c); n != "2" {
		t.Fatalf("counter %s", n)
	}
	b := []byte(c)
	b[len(b)-5] ^= 1
	if n, set := do("/", string(b)); n != "0" || !strings.Contains(set, "sessionid=") {
		t.Errorf("tampered cookie: %q, Set-Cookie %q; want an empty session and the cookie deleted", n, set)
	}
}

func FuzzOpen(f *testing.F) {
	st := must(f)
	v, _ := st.Seal(ctx, []byte(`{"user":"alice"}`), time.Now().Add(time.Hour))
	f.Add(v)
	f.Add("c1.AAAA.AAAA")
	f.Fuzz(func(t *testing.T, value string) {
		data, _, err := st.Open(ctx, value)
		if err != nil {
			return
		}
		// Only genuine seals open: they carry this store's signature.
		if !strings.HasPrefix(value, "c1.") || string(data) != `{"user":"alice"}` {
			t.Fatalf("Open(%q) accepted %q", value, data)
		}
	})
}

// Sessions that live in a signed cookie.
func Example() {
	st, err := cookiestore.New([]byte("use 32+ random bytes from a secret store"))
	if err != nil {
		panic(err)
	}
	m, err := core.NewWithCookieStore(st, core.DefaultConfig())
	fmt.Println(m != nil, err)
	// Output: true <nil>
}
