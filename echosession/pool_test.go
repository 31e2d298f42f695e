package echosession_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/echosession"
	"github.com/labstack/echo/v4"
)

// raceEnabled is set by race_test.go: under the race detector sync.Pool
// drops items at random, so allocation counts mean nothing.
var raceEnabled bool

// nopWriter is a minimal ResponseWriter so the benchmarks measure the
// middleware, not httptest.ResponseRecorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func echoWith(t testing.TB, withSession bool, routes map[string]echo.HandlerFunc) *echo.Echo {
	m, err := core.New(memstore.New(0), core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	if withSession {
		e.Use(echosession.Middleware(m))
	}
	for path, h := range routes {
		e.GET(path, h)
	}
	return e
}

// A request whose handler never looks its session up allocates nothing
// but the closure Echo itself makes for every middleware on every request
// (it chains them per request): the writer is recycled.
func TestUntouchedAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector (sync.Pool drops items at random)")
	}
	untouched := map[string]echo.HandlerFunc{"/": func(c echo.Context) error { return c.String(200, "ok") }}
	allocs := func(withSession bool) float64 {
		e := echoWith(t, withSession, untouched)
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", "sessionid=abcdefgh12345678abcdefgh12345678")
		w := &nopWriter{h: http.Header{}}
		return testing.AllocsPerRun(200, func() { clear(w.h); e.ServeHTTP(w, req) })
	}
	raw, with := allocs(false), allocs(true)
	if with > raw+1 {
		t.Errorf("untouched request: %v allocations with the middleware, %v without; want at most one more (Echo's closure)", with, raw)
	}
}

// Recycled writers start clean, and a writer whose session was handed out
// is never given to another request: a session a handler kept stays its
// own.
func TestRecycledWritersStartClean(t *testing.T) {
	var kept []*core.Session
	e := echoWith(t, true, map[string]echo.HandlerFunc{
		"/untouched": func(c echo.Context) error { return c.String(200, "ok") },
		"/count": func(c echo.Context) error {
			s := echosession.Get(c)
			kept = append(kept, s)
			n, _, err := core.GetAs[int](s, "n")
			if err != nil {
				return err
			}
			if err := s.Set("n", n+1); err != nil {
				return err
			}
			return c.String(200, strings.Repeat("x", n+1))
		},
	})
	cookie := ""
	get := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		if c := w.Result().Cookies(); len(c) > 0 {
			cookie = c[0].Name + "=" + c[0].Value
		}
		return w
	}
	for i := 1; i <= 20; i++ {
		for range 3 {
			if w := get("/untouched"); w.Code != 200 || w.Header().Get("Set-Cookie") != "" || w.Header().Get("Vary") != "" {
				t.Fatalf("untouched request %d: %d, Set-Cookie %q, Vary %q", i, w.Code, w.Header().Get("Set-Cookie"), w.Header().Get("Vary"))
			}
		}
		if w := get("/count"); w.Code != 200 || w.Body.Len() != i {
			t.Fatalf("request %d: %d with body %q, want %d bytes", i, w.Code, w.Body, i)
		}
	}
	seen := map[*core.Session]bool{}
	for _, s := range kept {
		if seen[s] {
			t.Fatal("a session handed out to one request was given to another")
		}
		seen[s] = true
	}
}

func BenchmarkEcho(b *testing.B) {
	untouched := func(c echo.Context) error { return c.String(200, "ok") }
	read := func(c echo.Context) error {
		cart, _, _ := core.GetAs[[]int](echosession.Get(c), "cart")
		return c.String(200, strings.Repeat("x", len(cart)))
	}
	run := func(b *testing.B, withSession, cookie bool, h echo.HandlerFunc) {
		e := echoWith(b, withSession, map[string]echo.HandlerFunc{
			"/":    h,
			"/set": func(c echo.Context) error { return echosession.Get(c).Set("cart", []int{1, 2, 3}) },
		})
		req := httptest.NewRequest("GET", "/", nil)
		if cookie {
			w := httptest.NewRecorder()
			e.ServeHTTP(w, httptest.NewRequest("GET", "/set", nil))
			req.Header.Set("Cookie", strings.SplitN(w.Header().Get("Set-Cookie"), ";", 2)[0])
		}
		w := &nopWriter{h: http.Header{}}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			clear(w.h)
			e.ServeHTTP(w, req)
		}
	}
	b.Run("raw", func(b *testing.B) { run(b, false, false, untouched) })
	b.Run("untouched", func(b *testing.B) { run(b, true, true, untouched) })
	b.Run("read", func(b *testing.B) { run(b, true, true, read) })
}
