package middlewaretest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// Item is a struct value the routes store, to prove structs round-trip.
type Item struct {
	SKU   string   `json:"sku"`
	Qty   int      `json:"qty"`
	Price float64  `json:"price"`
	Tags  []string `json:"tags"`
}

var (
	fixedTime = time.Date(2026, 11, 23, 10, 30, 15, 123456789, time.UTC)
	fixedItem = Item{SKU: "tea-01", Qty: 3, Price: 4.5, Tags: []string{"green", "loose"}}
)

// Env is one manager, its counting store, a log capture and a server.
type Env struct {
	T      *testing.T
	Store  *CountingStore // nil for a signed-cookie store
	Mgr    *core.Manager
	Server *httptest.Server
	Log    *bytes.Buffer
	logMu  sync.Mutex
	// proceed releases the /stream route's second chunk.
	proceed chan struct{}
	// late receives what the /late route's changes returned.
	late chan lateResult
	// outer receives the status the framework reported to the middleware
	// outside the session's, once a request: see [Serve].
	outer chan int
}

// seen is the outer middleware's report; a case that does not read it loses
// nothing by reports dropped once the channel is full.
func (e *Env) seen(status int) {
	select {
	case e.outer <- status:
	default:
	}
}

// outerStatus returns the status the outer middleware saw for the request
// that just finished.
func (e *Env) outerStatus(t *testing.T) int {
	t.Helper()
	select {
	case status := <-e.outer:
		return status
	case <-time.After(10 * time.Second):
		t.Fatal("the middleware outside the session's never saw the request end")
		return 0
	}
}

func (e *Env) logs() string {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	return e.Log.String()
}

type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (e *Env) routes() map[string]Route {
	ok := func(body string) Response { return Response{Status: http.StatusOK, Body: body} }
	fail := func(err error) Response { return Response{Status: http.StatusInternalServerError, Body: err.Error()} }
	return map[string]Route{
		"/untouched": func(*core.Session, *http.Request) Response { return ok("untouched") },
		"/key":       func(s *core.Session, r *http.Request) Response { return ok("key=" + s.Key()) },
		"/set": func(s *core.Session, r *http.Request) Response {
			if err := s.Update(map[string]any{"n": 42, "t": fixedTime, "item": fixedItem, "big": int64(1) << 60}); err != nil {
				return fail(err)
			}
			return ok("set")
		},
		"/set-nowrite": func(s *core.Session, r *http.Request) Response {
			if err := s.Set("quiet", true); err != nil {
				return fail(err)
			}
			return Response{}
		},
		"/set-status": func(s *core.Session, r *http.Request) Response {
			if err := s.Set("quiet", true); err != nil {
				return fail(err)
			}
			return Response{Status: http.StatusNoContent}
		},
		"/get": func(s *core.Session, r *http.Request) Response {
			n, _, err1 := core.GetAs[int](s, "n")
			t, _, err2 := core.GetAs[time.Time](s, "t")
			it, _, err3 := core.GetAs[Item](s, "item")
			big, _, err4 := core.GetAs[int64](s, "big")
			for _, err := range []error{err1, err2, err3, err4} {
				if err != nil {
					return fail(err)
				}
			}
			return ok(fmt.Sprintf("n=%d t=%s item=%+v big=%d keys=%v", n, t.Format(time.RFC3339Nano), it, big, s.Keys()))
		},
		"/count": func(s *core.Session, r *http.Request) Response {
			n, _, err := core.GetAs[int](s, "count")
			if err != nil {
				return fail(err)
			}
			if err := s.Set("count", n+1); err != nil {
				return fail(err)
			}
			return ok(fmt.Sprint(n + 1))
		},
		"/flush": func(s *core.Session, r *http.Request) Response {
			if err := s.Flush(); err != nil {
				return fail(err)
			}
			return ok("flushed")
		},
		"/cycle": func(s *core.Session, r *http.Request) Response {
			if err := s.CycleKey(); err != nil {
				return fail(err)
			}
			return ok("cycled")
		},
		"/clear": func(s *core.Session, r *http.Request) Response { s.Clear(); return ok("cleared") },
		"/fail500": func(s *core.Session, r *http.Request) Response {
			if err := s.Set("doomed", 1); err != nil {
				return fail(err)
			}
			return Response{Status: http.StatusInternalServerError, Body: "handler failed"}
		},
		"/expiry": func(s *core.Session, r *http.Request) Response {
			var err error
			switch r.URL.Query().Get("mode") {
			case "browser":
				err = s.SetExpireAtBrowserClose()
			case "60":
				err = s.SetExpiry(60 * time.Second)
			case "at":
				err = s.SetExpiryAt(s.ExpiryDate().Add(0).Truncate(time.Second).Add(-24 * time.Hour))
			case "reset":
				err = s.ResetExpiry()
			}
			if err == nil {
				err = s.Set("e", r.URL.Query().Get("mode"))
			}
			if err != nil {
				return fail(err)
			}
			return ok(fmt.Sprintf("age=%d browser=%v", int(s.ExpiryAge().Seconds()), s.ExpireAtBrowserClose()))
		},
		"/stream": func(s *core.Session, r *http.Request) Response {
			if err := s.Set("streamed", true); err != nil {
				return fail(err)
			}
			return Response{Status: http.StatusOK, Stream: []string{"first\n", "second\n"}, Between: func() {
				select {
				case <-e.proceed:
				case <-time.After(10 * time.Second):
				}
			}}
		},
		"/big": func(s *core.Session, r *http.Request) Response {
			// 8 KiB of random hex: no compression brings it under a cookie's
			// 4 KiB.
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
		"/peek": func(s *core.Session, r *http.Request) Response {
			// Reads the session and ignores failures: the commit reports them.
			s.Has("n")
			return ok("peeked")
		},
		"/late":          e.lateRoute,
		"/save-then-set": saveThenSetRoute,
		"/status503": func(s *core.Session, r *http.Request) Response {
			if err := s.Err(); err != nil {
				return Response{Status: http.StatusServiceUnavailable, Body: "sessions unavailable"}
			}
			return ok("fine")
		},
	}
}

// NewStore returns the store under test for one subtest.
type NewStore func(t *testing.T) core.Store

// newEnv starts a server for serve with a manager configured by edit.
func (x suite) newEnv(t *testing.T, edit func(*core.Config)) *Env {
	t.Helper()
	st := &CountingStore{Store: x.newStore(t)}
	e := startEnv(t, x.serve, edit, func(cfg core.Config) (*core.Manager, error) { return core.New(st, cfg) })
	e.Store = st
	return e
}

// startEnv starts a server for serve with the manager open returns for the
// default configuration, logging to the Env, edited by edit.
func startEnv(t *testing.T, serve Serve, edit func(*core.Config), open func(core.Config) (*core.Manager, error)) *Env {
	t.Helper()
	e := &Env{T: t, Log: new(bytes.Buffer), proceed: make(chan struct{}), late: make(chan lateResult, 1), outer: make(chan int, 64)}
	cfg := core.DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(syncWriter{&e.logMu, e.Log}, nil))
	if edit != nil {
		edit(&cfg)
	}
	m, err := open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.Mgr = m
	e.Server = httptest.NewServer(serve(m, e.routes(), e.seen))
	t.Cleanup(e.Server.Close)
	return e
}

// Client is a browser-like client with a cookie jar.
type Client struct {
	e *Env
	c *http.Client
}

func (e *Env) client() *Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.T.Fatal(err)
	}
	return &Client{e: e, c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

// Reply is a finished response.
type Reply struct {
	Status  int
	Body    string
	Header  http.Header
	Cookies []string // raw Set-Cookie lines
}

func (c *Client) do(t *testing.T, method, path string, cookie string) Reply {
	t.Helper()
	req, err := http.NewRequest(method, c.e.Server.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Reply{Status: resp.StatusCode, Body: string(body), Header: resp.Header, Cookies: resp.Header.Values("Set-Cookie")}
}

func (c *Client) get(t *testing.T, path string) Reply {
	t.Helper()
	return c.do(t, http.MethodGet, path, "")
}

// sessionCookie returns the sessionid Set-Cookie line, or "".
func (r Reply) sessionCookie(name string) string {
	for _, l := range r.Cookies {
		if strings.HasPrefix(l, name+"=") {
			return l
		}
	}
	return ""
}

func cookieKey(line string) string {
	v := strings.SplitN(line, ";", 2)[0]
	return v[strings.IndexByte(v, '=')+1:]
}

func hasVaryCookie(h http.Header) bool {
	for _, v := range h.Values("Vary") {
		if strings.Contains(v, "Cookie") {
			return true
		}
	}
	return false
}

func wantStatus(t *testing.T, r Reply, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d (body %q), want %d", r.Status, r.Body, status)
	}
}

// RunWith checks every request/response rule through serve with the stores
// newStore returns: each rule is a subtest, which states the rule when it
// fails.
func RunWith(t *testing.T, serve Serve, newStore NewStore) {
	runCases(t, suite{serve: serve, newStore: newStore}.cases())
}

// suite is one framework and one kind of store under test.
type suite struct {
	serve    Serve
	newStore NewStore
}

// Run checks every request/response rule through serve with a memory store.
func Run(t *testing.T, serve Serve) {
	RunWith(t, serve, func(*testing.T) core.Store { return memstore.New(0) })
}

// testCase is one named rule: run checks it as the subtest called name,
// and rule is the one-line statement of it that a failure repeats.
type testCase struct {
	name string
	rule string
	run  func(t *testing.T)
}

// runCases runs each case as a subtest named after it; when one fails, its
// last line states the rule it checks.
func runCases(t *testing.T, cases []testCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("%s checks the rule: %s", c.name, c.rule)
				}
			})
			c.run(t)
		})
	}
}

func (x suite) cases() []testCase {
	return []testCase{
		{"CookieDefaults", "a saved session sets a 32-character key cookie with Django's attributes (two weeks, Path=/, HttpOnly, Lax) and Vary: Cookie; configured ones replace them", x.cookieDefaults},
		{"RoundTripTypes", "numbers, times, structs and 64-bit integers read back as they were set", x.roundTrip},
		{"UntouchedCostsNothing", "a request that never uses the session calls no store and sets neither a cookie nor Vary", x.untouched},
		{"ReadOnlyNeverSaves", "a request that only reads loads once, never saves and sets no cookie, with Vary: Cookie", x.readOnly},
		{"UnknownKeyNotAdopted", "a cookie naming a key the store does not have is never adopted: the session gets a fresh key", x.fixation},
		{"InvalidCookies", "a malformed cookie never reaches the store: the request gets an empty session and the cookie is deleted", x.invalidCookies},
		{"Flush", "Flush deletes the record and expires the cookie with the same attributes", x.flush},
		{"CycleKey", "CycleKey moves the data to a new key and deletes the old record", x.cycle},
		{"ClearKeepsKey", "Clear empties the session and keeps its key, as Django does", x.clearKeepsKey},
		{"NoSaveOn5xx", "a handler's 5xx response is passed on and the session is not saved", x.noSaveOn5xx},
		{"SaveFailureIsNotSuccess", "when the save fails the client gets a 500 without the handler's body or a cookie, and the failure is logged", x.saveFailure},
		{"SaveFailureSeenOutside", "when the save fails, middleware outside the session's sees the 500 the client got, not the handler's status", x.saveFailureSeenOutside},
		{"ConcurrentDeleteIs400", "an update of a session deleted during the request (a logout elsewhere) answers 400 and sets no cookie", x.deletedConcurrently},
		{"LoadFailure", "when the load fails the request answers 5xx, nothing is saved, and the data is there once the store recovers", x.loadFailure},
		{"TamperedData", "corrupt stored data gives an empty session and a logged warning, never an error page", x.tampered},
		{"Expiry", "SetExpireAtBrowserClose, SetExpiry, ResetExpiry and SetExpiryAt set the cookie's Max-Age and the stored expiry as Django's set_expiry does", x.expiry},
		{"ExpireAtBrowserClose", "with ExpireAtBrowserClose the cookie has no Max-Age or Expires unless the session sets its own expiry", x.browserClose},
		{"SaveEveryRequest", "with SaveEveryRequest a read saves and sets the cookie again, but an empty session is not saved", x.saveEvery},
		{"ImplicitOK", "a handler that writes nothing still gets the session cookie on the implicit 200", x.implicitOK},
		{"FakeClock", "Config.Now sets the cookie's Expires and the stored expiry", x.fakeClock},
		{"Streaming", "a streamed response carries the cookie and is not buffered", x.streaming},
		{"Parallel", "concurrent clients each see only their own session's count", x.parallel},
		{"ChangeAfterResponseStarted", "every session change after the headers were sent returns ErrResponseStarted, leaves the stored session as it was and logs one warning a request", x.lateChanges},
		{"SaveIsNotACommit", "Session.Save inside the handler is not a commit: changes after it are saved and answered with the cookie", x.saveIsNotCommit},
		{"SeveralSessionCookies", "planted session cookies beside the real one never hide or delete it, and cost at most MaxSessionCookies lookups", x.severalCookies},
	}
}

func (x suite) cookieDefaults(t *testing.T) {
	e := x.newEnv(t, nil)
	r := e.client().get(t, "/set")
	wantStatus(t, r, 200)
	line := r.sessionCookie("sessionid")
	if line == "" {
		t.Fatalf("no session cookie in %q", r.Cookies)
	}
	key := cookieKey(line)
	if len(key) != core.KeyLength || !core.ValidKey(key) {
		t.Errorf("cookie key %q is not a 32-character key", key)
	}
	for _, want := range []string{"Max-Age=1209600", "Path=/", "HttpOnly", "SameSite=Lax", "Expires="} {
		if !strings.Contains(line, want) {
			t.Errorf("Set-Cookie %q lacks %q", line, want)
		}
	}
	for _, bad := range []string{"Secure", "Domain="} {
		if strings.Contains(line, bad) {
			t.Errorf("Set-Cookie %q has %q by default", line, bad)
		}
	}
	if !hasVaryCookie(r.Header) {
		t.Errorf("no Vary: Cookie on a response that used the session")
	}
	if n := e.Store.Saves.Load(); n != 1 {
		t.Errorf("%d saves, want 1", n)
	}
	// Secure, Domain and Strict when configured.
	e2 := x.newEnv(t, func(c *core.Config) {
		c.Secure, c.CookieDomain, c.SameSite, c.CookieName, c.CookiePath = true, "example.test", http.SameSiteStrictMode, "ticket", "/shop"
	})
	line = e2.client().get(t, "/set").sessionCookie("ticket")
	for _, want := range []string{"Secure", "Domain=example.test", "SameSite=Strict", "Path=/shop"} {
		if !strings.Contains(line, want) {
			t.Errorf("configured Set-Cookie %q lacks %q", line, want)
		}
	}
}

func (x suite) roundTrip(t *testing.T) {
	e := x.newEnv(t, nil)
	c := e.client()
	wantStatus(t, c.get(t, "/set"), 200)
	r := c.get(t, "/get")
	wantStatus(t, r, 200)
	want := fmt.Sprintf("n=42 t=%s item=%+v big=%d keys=[big item n t]", fixedTime.Format(time.RFC3339Nano), fixedItem, int64(1)<<60)
	if r.Body != want {
		t.Fatalf("read back %q\nwant       %q", r.Body, want)
	}
}

func (x suite) untouched(t *testing.T) {
	e := x.newEnv(t, nil)
	c := e.client()
	r := c.get(t, "/untouched")
	if len(r.Cookies) != 0 || hasVaryCookie(r.Header) {
		t.Errorf("untouched request without cookie: Set-Cookie %q, Vary %q", r.Cookies, r.Header.Values("Vary"))
	}
	c.get(t, "/set")
	loads, saves := e.Store.Loads.Load(), e.Store.Saves.Load()
	r = c.get(t, "/untouched")
	if len(r.Cookies) != 0 || hasVaryCookie(r.Header) {
		t.Errorf("untouched request with cookie: Set-Cookie %q, Vary %q", r.Cookies, r.Header.Values("Vary"))
	}
	if e.Store.Loads.Load() != loads || e.Store.Saves.Load() != saves {
		t.Errorf("untouched request called the store: loads %d->%d saves %d->%d", loads, e.Store.Loads.Load(), saves, e.Store.Saves.Load())
	}
}

func (x suite) readOnly(t *testing.T) {
	e := x.newEnv(t, nil)
	c := e.client()
	c.get(t, "/set")
	saves := e.Store.Saves.Load()
	r := c.get(t, "/get")
	if len(r.Cookies) != 0 {
		t.Errorf("read-only request set cookies %q", r.Cookies)
	}
	if !hasVaryCookie(r.Header) {
		t.Errorf("read-only request lacks Vary: Cookie")
	}
	if e.Store.Saves.Load() != saves {
		t.Errorf("read-only request saved")
	}
	if e.Store.Loads.Load() != 1 {
		t.Errorf("%d loads, want 1 (lazy, once per request)", e.Store.Loads.Load())
	}
}

func (x suite) fixation(t *testing.T) {
	e := x.newEnv(t, nil)
	chosen := "attackerchosenkey0123456789abcde"
	r := e.client().do(t, "GET", "/set", "sessionid="+chosen)
	wantStatus(t, r, 200)
	got := cookieKey(r.sessionCookie("sessionid"))
	if got == chosen || !core.ValidKey(got) {
		t.Fatalf("session saved under %q; an unknown key must never be adopted", got)
	}
	if _, err := e.Store.Store.Load(context.Background(), chosen); err == nil {
		t.Fatal("the attacker's key exists in the store")
	}
}

func (x suite) invalidCookies(t *testing.T) {
	e := x.newEnv(t, nil)
	bad := []string{
		"", "short", "../../../../etc/passwd", "abcdefgh%00ijkl", "abcd\\efgh", "ABCDEFGHIJKLMNOP",
		"abcdefghijkl'--", `"abcdefgh ijkl"`, strings.Repeat("a", 41), strings.Repeat("z", 16*1024),
		"caf\u00e9caf\u00e9caf\u00e9", "abcdefgh\tijkl",
	}
	for _, v := range bad {
		r := e.client().do(t, "GET", "/get", "sessionid="+v)
		if r.Status != 200 {
			t.Errorf("cookie %.40q: status %d %q", v, r.Status, r.Body)
			continue
		}
		if !strings.HasPrefix(r.Body, "n=0 ") {
			t.Errorf("cookie %.40q: body %q, want an empty session", v, r.Body)
		}
		if line := r.sessionCookie("sessionid"); !strings.Contains(line, "Max-Age=0") {
			t.Errorf("cookie %.40q: Set-Cookie %q, want the bad cookie deleted", v, line)
		}
	}
	if n := e.Store.Loads.Load() + e.Store.Saves.Load() + e.Store.Deletes.Load(); n != 0 {
		t.Errorf("invalid cookies reached the store %d times with keys %q", n, e.Store.Keys())
	}
	// Duplicated cookies: the bad values never reach the store, the
	// valid-looking one is tried, nothing panics.
	r := e.client().do(t, "GET", "/get", "sessionid=../x; sessionid=abcdefghijkl; other=1")
	wantStatus(t, r, 200)
	if keys := e.Store.Keys(); len(keys) != 1 || keys[0] != "abcdefghijkl" {
		t.Errorf("duplicated cookies: the store was called with keys %q, want only the valid-looking one", keys)
	}
	if line := r.sessionCookie("sessionid"); !strings.Contains(line, "Max-Age=0") {
		t.Errorf("duplicated cookies, none loaded: Set-Cookie %q, want the cookie deleted", line)
	}
}

func (x suite) flush(t *testing.T) {
	e := x.newEnv(t, nil)
	c := e.client()
	key := cookieKey(c.get(t, "/set").sessionCookie("sessionid"))
	r := c.get(t, "/flush")
	wantStatus(t, r, 200)
	line := r.sessionCookie("sessionid")
	if !strings.Contains(line, "Max-Age=0") || !strings.Contains(line, "Path=/") || !strings.Contains(line, "SameSite=Lax") {
		t.Errorf("flush: Set-Cookie %q, want the cookie expired with the same attributes", line)
	}
	if _, err := e.Store.Store.Load(context.Background(), key); err == nil {
		t.Error("flush left the session in the store")
	}
	r = c.get(t, "/get")
	if !strings.HasPrefix(r.Body, "n=0 ") || len(r.Cookies) != 0 {
		t.Errorf("after flush: %q cookies %q", r.Body, r.Cookies)
	}
}

func (x suite) cycle(t *testing.T) {
	e := x.newEnv(t, nil)
	c := e.client()
	old := cookieKey(c.get(t, "/set").sessionCookie("sessionid"))
	r := c.get(t, "/cycle")
	wantStatus(t, r, 200)
	nw := cookieKey(r.sessionCookie("sessionid"))
	if nw == "" || nw == old || !core.ValidKey(nw) {
		t.Fatalf("cycle: key %q -> %q", old, nw)
	}
	if _, err := e.Store.Store.Load(context.Background(), old); err == nil {
		t.Error("cycle left the old key in the store")
	}
	if r := c.get(t, "/get"); !strings.HasPrefix(r.Body, "n=42 ") {
		t.Errorf("cycle lost the data: %q", r.Body)
	}
}

func (x suite) clearKeepsKey(t *testing.T) {
	e := x.newEnv(t, nil)
	c := e.client()
	key := cookieKey(c.get(t, "/set").sessionCookie("sessionid"))
	r := c.get(t, "/clear")
	if got := cookieKey(r.sessionCookie("sessionid")); got != key {
		t.Errorf("clear: cookie key %q, want the same key %q (Django keeps the key)", got, key)
	}
	if r := c.get(t, "/get"); !strings.HasPrefix(r.Body, "n=0 ") {
		t.Errorf("after clear: %q", r.Body)
	}
}

func (x suite) noSaveOn5xx(t *testing.T) {
	e := x.newEnv(t, nil)
	r := e.client().get(t, "/fail500")
	wantStatus(t, r, 500)
	if r.Body != "handler failed" {
		t.Errorf("body %q, want the handler's", r.Body)
	}
	if len(r.Cookies) != 0 || e.Store.Saves.Load() != 0 {
		t.Errorf("5xx response saved (%d saves) or set cookies %q", e.Store.Saves.Load(), r.Cookies)
	}
}

func (x suite) saveFailure(t *testing.T) {
	e := x.newEnv(t, nil)
	e.Store.FailSave.Store(true)
	for _, path := range []string{"/set", "/set-nowrite", "/stream"} {
		close(e.proceed)
		e.proceed = make(chan struct{})
		r := e.client().get(t, path)
		if r.Status != 500 || strings.Contains(r.Body, "set") || strings.Contains(r.Body, "first") {
			t.Errorf("%s with a failing store: %d %q, want a 500 without the handler's body", path, r.Status, r.Body)
		}
		if len(r.Cookies) != 0 {
			t.Errorf("%s with a failing store set cookies %q", path, r.Cookies)
		}
	}
	if !strings.Contains(e.logs(), "injected store failure") {
		t.Errorf("the save failure was not logged: %q", e.logs())
	}
}

// saveFailureSeenOutside checks what a request logger outside the session's
// middleware sees when the save fails, for a handler that writes a body,
// one that sets only a status and one that writes nothing.
func (x suite) saveFailureSeenOutside(t *testing.T) {
	e := x.newEnv(t, nil)
	e.Store.FailSave.Store(true)
	for _, path := range []string{"/set", "/set-status", "/set-nowrite"} {
		r := e.client().get(t, path)
		if seen := e.outerStatus(t); r.Status != http.StatusInternalServerError || seen != r.Status {
			t.Errorf("%s with a failing store: the client got %d, the outer middleware saw %d; want 500 for both", path, r.Status, seen)
		}
	}
}

func (x suite) deletedConcurrently(t *testing.T) {
	e := x.newEnv(t, nil)
	e.Store.Store = &deleteOnSave{Store: e.Store.Store}
	c := e.client()
	wantStatus(t, c.get(t, "/count"), 200) // creates
	r := c.get(t, "/count")                // loads, then a logout elsewhere deletes it
	if r.Status != http.StatusBadRequest {
		t.Fatalf("update of a session deleted during the request: %d %q, want 400", r.Status, r.Body)
	}
	if len(r.Cookies) != 0 {
		t.Errorf("interrupted request set cookies %q", r.Cookies)
	}
}

// deleteOnSave deletes the record right before an Update, as a concurrent
// logout would between this request's load and its save.
type deleteOnSave struct{ core.Store }

func (d *deleteOnSave) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	if mode == core.Update {
		_ = d.Store.Delete(ctx, rec.Key)
	}
	return d.Store.Save(ctx, rec, mode)
}

func (x suite) loadFailure(t *testing.T) {
	e := x.newEnv(t, nil)
	c := e.client()
	c.get(t, "/set")
	e.Store.FailLoad.Store(true)
	saves := e.Store.Saves.Load()
	r := c.get(t, "/count")
	if r.Status != 500 || len(r.Cookies) != 0 {
		t.Errorf("load failure: %d %q cookies %q, want 500 and no cookie", r.Status, r.Body, r.Cookies)
	}
	r = c.get(t, "/status503")
	if r.Status != 503 || r.Body != "sessions unavailable" {
		t.Errorf("a handler that answers 5xx itself keeps its response: %d %q", r.Status, r.Body)
	}
	if e.Store.Saves.Load() != saves {
		t.Error("a session that failed to load was saved (it would wipe the real data)")
	}
	e.Store.FailLoad.Store(false)
	if r := c.get(t, "/get"); !strings.HasPrefix(r.Body, "n=42 ") {
		t.Errorf("after the fault cleared the data is gone: %q", r.Body)
	}
}

func (x suite) tampered(t *testing.T) {
	e := x.newEnv(t, nil)
	c := e.client()
	key := cookieKey(c.get(t, "/set").sessionCookie("sessionid"))
	for _, garbage := range []string{`{"n":`, `null`, `[1,2]`, "ÿþ not json", `"string"`, "eyJhIjoxfQ:1xVKn1:forged"} {
		if err := e.Store.Store.Save(context.Background(), core.Record{Key: key, Data: []byte(garbage), Expiry: time.Now().Add(time.Hour)}, core.Update); err != nil {
			t.Fatal(err)
		}
		r := c.get(t, "/get")
		if r.Status != 200 || !strings.HasPrefix(r.Body, "n=0 ") {
			t.Errorf("corrupt data %q: %d %q, want an empty session", garbage, r.Status, r.Body)
		}
	}
	if !strings.Contains(e.logs(), "level=WARN") || !strings.Contains(e.logs(), "corrupted") {
		t.Errorf("no slog warning for corrupt data: %q", e.logs())
	}
}

func maxAge(line string) string {
	for _, part := range strings.Split(line, ";") {
		part = strings.TrimSpace(part)
		if strings.HasPrefix(part, "Max-Age=") {
			return strings.TrimPrefix(part, "Max-Age=")
		}
	}
	return ""
}

func (x suite) expiry(t *testing.T) {
	e := x.newEnv(t, nil)
	c := e.client()
	r := c.get(t, "/expiry?mode=browser")
	line := r.sessionCookie("sessionid")
	if line == "" || strings.Contains(line, "Max-Age") || strings.Contains(line, "Expires") {
		t.Errorf("set_expiry(0): Set-Cookie %q, want a browser-session cookie", line)
	}
	if r.Body != "age=1209600 browser=true" {
		t.Errorf("set_expiry(0): %q", r.Body)
	}
	key := cookieKey(line)
	rec, err := e.Store.Store.Load(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(rec.Expiry); d < 13*24*time.Hour || d > 15*24*time.Hour {
		t.Errorf("browser-close session stored until %v; Django keeps it for the cookie age", rec.Expiry)
	}
	r = c.get(t, "/expiry?mode=60")
	if got := maxAge(r.sessionCookie("sessionid")); got != "60" {
		t.Errorf("set_expiry(60): Max-Age %q", got)
	}
	if rec, _ = e.Store.Store.Load(context.Background(), key); time.Until(rec.Expiry) > 61*time.Second {
		t.Errorf("set_expiry(60) stored until %v", rec.Expiry)
	}
	r = c.get(t, "/expiry?mode=reset")
	if got := maxAge(r.sessionCookie("sessionid")); got != "1209600" {
		t.Errorf("set_expiry(None): Max-Age %q", got)
	}
	r = c.get(t, "/expiry?mode=at") // an absolute time 13 days out
	if age := maxAge(r.sessionCookie("sessionid")); age < "1123100" || age > "1123201" {
		t.Errorf("set_expiry(datetime 13 days out): Max-Age %q", age)
	}
}

func (x suite) browserClose(t *testing.T) {
	e := x.newEnv(t, func(c *core.Config) { c.ExpireAtBrowserClose = true })
	c := e.client()
	line := c.get(t, "/set").sessionCookie("sessionid")
	if line == "" || strings.Contains(line, "Max-Age") || strings.Contains(line, "Expires") {
		t.Errorf("ExpireAtBrowserClose: Set-Cookie %q", line)
	}
	line = c.get(t, "/expiry?mode=60").sessionCookie("sessionid")
	if maxAge(line) != "60" {
		t.Errorf("a per-session expiry overrides ExpireAtBrowserClose: %q", line)
	}
}

func (x suite) saveEvery(t *testing.T) {
	e := x.newEnv(t, func(c *core.Config) { c.SaveEveryRequest = true })
	c := e.client()
	c.get(t, "/set")
	saves := e.Store.Saves.Load()
	r := c.get(t, "/get")
	if r.sessionCookie("sessionid") == "" || e.Store.Saves.Load() != saves+1 {
		t.Errorf("SaveEveryRequest: read-only request set %q with %d saves", r.Cookies, e.Store.Saves.Load()-saves)
	}
	r = e.client().get(t, "/untouched")
	if len(r.Cookies) != 0 {
		t.Errorf("SaveEveryRequest saved an empty session: %q", r.Cookies)
	}
}

func (x suite) implicitOK(t *testing.T) {
	e := x.newEnv(t, nil)
	r := e.client().get(t, "/set-nowrite")
	wantStatus(t, r, 200)
	if r.sessionCookie("sessionid") == "" {
		t.Errorf("a handler that wrote nothing got no cookie: %q", r.Cookies)
	}
}

func (x suite) fakeClock(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	e := x.newEnv(t, func(c *core.Config) { c.Now = func() time.Time { return now } })
	line := e.client().get(t, "/set").sessionCookie("sessionid")
	if !strings.Contains(line, "Expires=Wed, 16 Jan 2030 03:04:05 GMT") {
		t.Errorf("fake clock: Set-Cookie %q, want Expires two weeks after the fake now", line)
	}
	rec, err := e.Store.Store.Load(context.Background(), cookieKey(line))
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Expiry.Equal(now.Add(core.DefaultCookieAge)) {
		t.Errorf("stored expiry %v, want %v", rec.Expiry, now.Add(core.DefaultCookieAge))
	}
}

func (x suite) streaming(t *testing.T) {
	e := x.newEnv(t, nil)
	resp, err := http.Get(e.Server.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Set-Cookie") == "" {
		t.Error("streamed response lacks the session cookie")
	}
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	if err != nil || first != "first\n" {
		t.Fatalf("first chunk %q, %v", first, err)
	}
	close(e.proceed) // the handler is still waiting: the body was not buffered
	rest, _ := io.ReadAll(br)
	if string(rest) != "second\n" {
		t.Errorf("rest %q", rest)
	}
}

func (x suite) parallel(t *testing.T) {
	e := x.newEnv(t, nil)
	const clients, rounds = 16, 20
	var wg sync.WaitGroup
	errs := make(chan string, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.client()
			for n := 1; n <= rounds; n++ {
				req, _ := http.NewRequest("GET", e.Server.URL+"/count", nil)
				resp, err := c.c.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != fmt.Sprint(n) {
					errs <- fmt.Sprintf("round %d: %d %q", n, resp.StatusCode, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Fault checks a store fault end to end through serve: with st broken by
// breakIt, a request that writes the session must not succeed and one that
// only reads must report the failure; after fix (which may return a new
// store, for a reopened database, or nil to keep st), everything saved
// before the fault is still there.
func Fault(t *testing.T, serve Serve, st core.Store, breakIt func(), fix func() core.Store) {
	x := suite{serve: serve, newStore: func(*testing.T) core.Store { return st }}
	e := x.newEnv(t, nil)
	a, b := e.client(), e.client()
	wantStatus(t, a.get(t, "/set"), 200)
	for i := 1; i <= 2; i++ {
		if r := b.get(t, "/count"); r.Body != fmt.Sprint(i) {
			t.Fatalf("count %d: %q", i, r.Body)
		}
	}
	breakIt()
	for _, path := range []string{"/count", "/set"} {
		if r := b.get(t, path); r.Status < 500 || len(r.Cookies) != 0 {
			t.Errorf("write %s during the fault: %d %q cookies %q; want a 5xx and no cookie", path, r.Status, r.Body, r.Cookies)
		}
	}
	if r := a.get(t, "/get"); r.Status < 500 {
		t.Errorf("read during the fault: %d %q; want the failure reported", r.Status, r.Body)
	}
	if r := a.get(t, "/status503"); r.Status != 503 || r.Body != "sessions unavailable" {
		t.Errorf("a handler that checks Session.Err: %d %q", r.Status, r.Body)
	}
	if !strings.Contains(e.logs(), "level=ERROR") {
		t.Errorf("the fault was not logged: %q", e.logs())
	}
	if ns := fix(); ns != nil {
		e.Store.Store = ns
	}
	want := fmt.Sprintf("n=42 t=%s", fixedTime.Format(time.RFC3339Nano))
	if r := a.get(t, "/get"); !strings.HasPrefix(r.Body, want) {
		t.Errorf("after the fault: %d %q, want the data saved before it", r.Status, r.Body)
	}
	if r := b.get(t, "/count"); r.Body != "3" {
		t.Errorf("after the fault the counter reads %q, want 3 (2 saved before, failed writes lost, nothing corrupted)", r.Body)
	}
}
