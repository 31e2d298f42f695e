package hardening

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cookiestore"
	"github.com/cloakroom/cloakroom/core/djangocodec"
	"github.com/cloakroom/cloakroom/core/encrypt"
	"github.com/cloakroom/cloakroom/internal/adapters"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
)

// cookieStores are the stores that keep the whole session in the cookie,
// each with the codec it needs.
var cookieStores = map[string]func(t *testing.T) (core.CookieStore, core.Codec){
	"cookiestore": func(t *testing.T) (core.CookieStore, core.Codec) {
		cs, err := cookiestore.New(bytes.Repeat([]byte("k"), 32))
		if err != nil {
			t.Fatal(err)
		}
		return cs, core.JSONCodec{}
	},
	"cookiestore+encrypt": func(t *testing.T) (core.CookieStore, core.Codec) {
		cs, err := cookiestore.New(bytes.Repeat([]byte("k"), 32))
		if err != nil {
			t.Fatal(err)
		}
		codec, err := encrypt.New(core.JSONCodec{}, bytes.Repeat([]byte("e"), 32))
		if err != nil {
			t.Fatal(err)
		}
		return cs, codec
	},
	"django-signed-cookies": func(t *testing.T) (core.CookieStore, core.Codec) {
		cs, err := djangocodec.NewCookieStore("django-insecure-a-secret-key-for-tests-only-0123456789", 14*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return cs, core.JSONCodec{}
	},
}

// TestCookieStoresEveryFramework sends hostile cookie values through the
// real net/http, Gin and Echo middlewares to every signed-cookie store:
// every one must give a fresh empty session with a 200, never a 5xx, and
// tampering must be logged; a session too large for a cookie must not be
// answered as a success.
func TestCookieStoresEveryFramework(t *testing.T) {
	for name, newStore := range cookieStores {
		for _, fw := range []string{"net/http", "gin", "echo"} {
			t.Run(name+"/"+fw, func(t *testing.T) {
				t.Parallel()
				cs, codec := newStore(t)
				e := newCookieEnv(t, adapters.All[fw], cs, codec)
				t.Run("RoundTrip", e.roundTrip)
				t.Run("CookieDefaults", e.defaults)
				t.Run("HostileValues", e.hostile)
				t.Run("TooLarge", e.tooLarge)
			})
		}
	}
}

type cookieEnv struct {
	srv   *httptest.Server
	logMu sync.Mutex
	log   bytes.Buffer
}

func (e *cookieEnv) Write(p []byte) (int, error) {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	return e.log.Write(p)
}

func (e *cookieEnv) logs() string {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	return e.log.String()
}

func newCookieEnv(t *testing.T, serve middlewaretest.Serve, cs core.CookieStore, codec core.Codec) *cookieEnv {
	e := &cookieEnv{}
	cfg := core.DefaultConfig()
	cfg.Codec = codec
	cfg.Logger = slog.New(slog.NewTextHandler(e, nil))
	m, err := core.NewWithCookieStore(cs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ok := func(body string) middlewaretest.Response {
		return middlewaretest.Response{Status: http.StatusOK, Body: body}
	}
	fail := func(err error) middlewaretest.Response {
		return middlewaretest.Response{Status: http.StatusInternalServerError, Body: err.Error()}
	}
	e.srv = httptest.NewServer(serve(m, map[string]middlewaretest.Route{
		"/set": func(s *core.Session, _ *http.Request) middlewaretest.Response {
			if err := s.Update(map[string]any{"n": 42, "user": "alice", "admin": false}); err != nil {
				return fail(err)
			}
			return ok("set")
		},
		"/get": func(s *core.Session, _ *http.Request) middlewaretest.Response {
			n, _, err := core.GetAs[int](s, "n")
			if err != nil {
				return fail(err)
			}
			admin, _, err := core.GetAs[bool](s, "admin")
			if err != nil {
				return fail(err)
			}
			return ok(fmt.Sprintf("n=%d admin=%v keys=%d", n, admin, len(s.Keys())))
		},
		"/big": func(s *core.Session, _ *http.Request) middlewaretest.Response {
			// 8 KiB of random hex: no compression brings it under 4 KiB.
			rng := rand.New(rand.NewPCG(7, 8))
			b := make([]byte, 8192)
			for i := range b {
				b[i] = "0123456789abcdef"[rng.IntN(16)]
			}
			if err := s.Set("blob", string(b)); err != nil {
				return fail(err)
			}
			return ok("stored a big session")
		},
	}))
	t.Cleanup(e.srv.Close)
	return e
}

type cookieReply struct {
	status  int
	body    string
	cookies []string
}

func (e *cookieEnv) get(t *testing.T, path, cookie string) cookieReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s with cookie %.40q: %v", path, cookie, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return cookieReply{resp.StatusCode, string(body), resp.Header.Values("Set-Cookie")}
}

// session returns the value of the sessionid Set-Cookie line and the line.
func (r cookieReply) session() (value, line string) {
	for _, l := range r.cookies {
		if v, ok := strings.CutPrefix(l, "sessionid="); ok {
			return strings.SplitN(v, ";", 2)[0], l
		}
	}
	return "", ""
}

// sealed returns a valid session cookie value holding n=42.
func (e *cookieEnv) sealed(t *testing.T) string {
	t.Helper()
	r := e.get(t, "/set", "")
	v, _ := r.session()
	if r.status != http.StatusOK || v == "" {
		t.Fatalf("/set: %d %q, cookies %q", r.status, r.body, r.cookies)
	}
	return v
}

func (e *cookieEnv) roundTrip(t *testing.T) {
	v := e.sealed(t)
	if r := e.get(t, "/get", "sessionid="+v); r.status != http.StatusOK || r.body != "n=42 admin=false keys=3" {
		t.Fatalf("/get with the sealed cookie: %d %q", r.status, r.body)
	}
}

func (e *cookieEnv) defaults(t *testing.T) {
	_, line := e.get(t, "/set", "").session()
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1209600"} {
		if !strings.Contains(line, want) {
			t.Errorf("Set-Cookie %q lacks %s", line, want)
		}
	}
	if strings.Contains(line, "Secure") {
		t.Errorf("Set-Cookie %q is Secure by default; Django's default is off", line)
	}
	if r := e.get(t, "/get", ""); len(r.cookies) != 0 {
		t.Errorf("a read without a cookie set %q; no cookie was needed", r.cookies)
	}
}

func (e *cookieEnv) hostile(t *testing.T) {
	v := e.sealed(t)
	tampered := []string{v + "A", v[:len(v)/2], v[1:], strings.Repeat("A", len(v)), "c1." + v, strings.ToUpper(v)}
	for i := range len(v) {
		b := []byte(v)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		tampered = append(tampered, string(b))
	}
	for i := 1; i < len(v); i += 9 {
		tampered = append(tampered, v[:i])
	}
	other := []string{
		"", "garbage", "!!!!", "eyJuIjo0Mn0", "eyJuIjo0Mn0:1tVKn1:forgedsignature", "..", "../../etc/passwd",
		"%00", "a b", `"quoted"`, "caf\u00e9", strings.Repeat("z", 16*1024),
	}
	for _, c := range append(tampered, other...) {
		r := e.get(t, "/get", "sessionid="+c)
		if r.status != http.StatusOK || r.body != "n=0 admin=false keys=0" {
			t.Errorf("cookie %.50q: %d %q, want 200 and an empty session", c, r.status, r.body)
			continue
		}
		if got, _ := r.session(); got != "" && got == c {
			t.Errorf("cookie %.50q was sent back as the session cookie", c)
		}
	}
	// Duplicated cookies: one of them is used, nothing panics, no 5xx.
	for _, c := range []string{"sessionid=garbage; sessionid=" + v, "sessionid=" + v + "; sessionid=garbage"} {
		if r := e.get(t, "/get", c); r.status != http.StatusOK {
			t.Errorf("cookie header %.50q: %d %q", c, r.status, r.body)
		}
	}
	if !strings.Contains(e.logs(), "level=WARN") {
		t.Errorf("no slog warning for tampered cookies; log: %.300q", e.logs())
	}
}

func (e *cookieEnv) tooLarge(t *testing.T) {
	r := e.get(t, "/big", "")
	if r.status < 500 {
		t.Errorf("a session too large for a cookie answered %d %q; it must not look like a success", r.status, r.body)
	}
	if v, _ := r.session(); v != "" {
		t.Errorf("a session too large for a cookie still set one of %d bytes", len(v))
	}
}
