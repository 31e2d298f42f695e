package cacheddbtest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/memcachestore"
)

// app is one process of the shop: a manager over memcached in front of a
// SQLite file, both shared with the other processes of the test.
type app struct {
	srv *httptest.Server
}

func startApp(t *testing.T, dbPath, memcachedAddr string) *app {
	t.Helper()
	db, err := sqlitedb.Open(dbPath, &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
	if err != nil {
		t.Fatal(err)
	}
	gs, err := gormstore.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	client := memcache.New(memcachedAddr)
	client.Timeout = 150 * time.Millisecond
	mc, err := memcachestore.New(client)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := cachedstore.New(mc, gs, cachedstore.WithLogger(quiet), cachedstore.WithRetryInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.DefaultConfig()
	cfg.Logger = quiet
	m, err := core.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		if err := s.Login("alice"); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		err := core.Modify(s, "cart", func(c []string, _ bool) ([]string, error) { return append(c, r.FormValue("item")), nil })
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		if err := s.Flush(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		user, _ := s.UserID()
		cart, _, _ := core.GetAs[[]string](s, "cart")
		_, _ = io.WriteString(w, user+"|"+strings.Join(cart, ","))
	})
	a := &app{srv: httptest.NewServer(m.Handler(mux))}
	t.Cleanup(func() {
		a.srv.Close()
		_ = client.Close()
		_ = gs.Close()
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	return a
}

func (a *app) do(t *testing.T, c *http.Client, method, path string, form url.Values) string {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, a.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return string(b)
}

// replay sends the cookie a browser had before logging out.
func (a *app) replay(t *testing.T, cookie *http.Cookie) string {
	t.Helper()
	req, _ := http.NewRequest("GET", a.srv.URL+"/whoami", nil)
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestFrozenCacheRestartNoStaleSessions is issue 13's partition case with
// real parts: memcached is frozen (SIGSTOP) while the app logs one user out
// and updates another's cart in SQLite; the app restarts; memcached resumes
// with its old copies. The restarted app must not serve them: the logged
// out cookie stays logged out, and the next cart write builds on the
// database's cart, losing nothing.
func TestFrozenCacheRestartNoStaleSessions(t *testing.T) {
	mcd := memcachedtest.Start(t)
	dbPath := filepath.Join(t.TempDir(), "sessions.db")
	first := startApp(t, dbPath, mcd.Addr())

	newClient := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar}
	}
	alice, bob := newClient(), newClient()
	first.do(t, alice, "POST", "/login", url.Values{})
	first.do(t, alice, "POST", "/cart", url.Values{"item": {"tea"}})
	first.do(t, bob, "POST", "/cart", url.Values{"item": {"cup"}})
	if got := first.do(t, alice, "GET", "/whoami", nil); got != "alice|tea" {
		t.Fatalf("before the freeze: %q", got)
	}
	first.do(t, bob, "GET", "/whoami", nil) // cached
	u, _ := url.Parse(first.srv.URL)
	aliceCookie := alice.Jar.Cookies(u)[0]

	mcd.Pause()
	first.do(t, alice, "POST", "/logout", url.Values{})
	first.do(t, bob, "POST", "/cart", url.Values{"item": {"pot"}})
	first.srv.Close() // the app stops...

	second := startApp(t, dbPath, mcd.Addr()) // ...and starts again
	mcd.Resume()
	// Let the restarted app's retry interval pass if the freeze made it fail.
	time.Sleep(100 * time.Millisecond)

	if got := second.replay(t, aliceCookie); got != "|" {
		t.Fatalf("the logged-out cookie is served by the restarted app as %q, want an empty session", got)
	}
	if got := second.do(t, bob, "GET", "/whoami", nil); got != "|cup,pot" {
		t.Fatalf("bob's cart after the restart = %q, want the database's cup,pot", got)
	}
	second.do(t, bob, "POST", "/cart", url.Values{"item": {"lid"}})
	if got := second.do(t, bob, "GET", "/whoami", nil); got != "|cup,pot,lid" {
		t.Fatalf("bob's cart after the next write = %q, want cup,pot,lid (no acknowledged write lost)", got)
	}
	// The cache serves again: memcached holds bob's current cart.
	third := startApp(t, dbPath, mcd.Addr())
	if got := third.do(t, bob, "GET", "/whoami", nil); got != "|cup,pot,lid" {
		t.Fatalf("a third process serves %q", got)
	}
}
