package redisstore_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/redisstore"
)

// app is a shop behind core's net/http middleware, over a store:
// /add?item=x adds to the cart with core.Modify and answers the cart's
// length, /login?user=u logs the session in, /cart answers the length.
type app struct {
	t   testing.TB
	m   *core.Manager
	srv *httptest.Server
}

func newApp(t testing.TB, st core.Store, optimistic bool) *app {
	t.Helper()
	cfg := core.DefaultConfig()
	cfg.Optimistic = optimistic
	cfg.StoreTimeout = 2 * time.Second
	cfg.Logger = slog.New(slog.DiscardHandler) // the fault test fails thousands of requests on purpose
	m, err := core.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/add", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		var n int
		err := core.Modify(s, "cart", func(cart []string, _ bool) ([]string, error) {
			cart = append(cart, r.URL.Query().Get("item"))
			n = len(cart)
			return cart, nil
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		if err := s.Login(r.URL.Query().Get("user")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/cart", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		cart, _, err := core.GetAs[[]string](s, "cart")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		user, _ := s.UserID()
		fmt.Fprintf(w, "%d %s", len(cart), user)
	})
	mux.HandleFunc("/expiry", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		var err error
		switch r.URL.Query().Get("form") {
		case "seconds": // set_expiry(300)
			err = s.SetExpiry(5 * time.Minute)
		case "datetime": // set_expiry(datetime)
			err = s.SetExpiryAt(time.Now().Add(2 * time.Hour))
		case "browser": // set_expiry(0)
			err = s.SetExpireAtBrowserClose()
		case "past": // set_expiry(-1)
			err = s.SetExpiry(-time.Second)
		default: // set_expiry(None)
			err = s.ResetExpiry()
		}
		if err == nil {
			err = s.Set("seen", true)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	})
	a := &app{t: t, m: m, srv: httptest.NewServer(m.Handler(mux))}
	t.Cleanup(a.srv.Close)
	return a
}

// get requests path with the cookie and returns the status, the body and
// the session cookie (the new one if set, else the one sent).
func (a *app) get(cookie, path string) (int, string, string) {
	req, _ := http.NewRequest("GET", a.srv.URL+path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Errorf("GET %s: %v", path, err)
		return 0, "", cookie
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if sc := resp.Header.Get("Set-Cookie"); sc != "" {
		cookie = strings.SplitN(sc, ";", 2)[0]
	}
	return resp.StatusCode, strings.TrimSpace(string(b)), cookie
}

// must is get that fails the test unless the answer is 200.
func (a *app) must(cookie, path string) (string, string) {
	code, body, cookie := a.get(cookie, path)
	if code != 200 {
		a.t.Errorf("GET %s: %d %s", path, code, body)
	}
	return body, cookie
}

// testAtomic: 50 parallel "add to cart" requests on one session lose no
// item with Config.Optimistic (a run on one server saw 26 version
// conflicts, each replayed).
func testAtomic(t *testing.T, st core.Store) {
	a := newApp(t, st, true)
	_, cookie := a.must("", "/add?item=first")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { a.must(cookie, "/add?item="+strconv.Itoa(i)) })
	}
	wg.Wait()
	if n, _ := a.must(cookie, "/add?item=last"); n != "52" {
		t.Fatalf("the cart holds %s items after 52 adds", n)
	}
}

// testLogoutEverywhere: a user logged in from five browsers is logged out
// of all five at once; another user and an anonymous visitor are not, and
// the user's set is empty afterwards.
func testLogoutEverywhere(t *testing.T, c redis.UniversalClient, st *redisstore.Store) {
	a := newApp(t, st, false)
	var alice []string
	for range 5 {
		_, cookie := a.must("", "/add?item=book")
		_, cookie = a.must(cookie, "/login?user=alice")
		alice = append(alice, cookie)
	}
	_, bob := a.must("", "/login?user=bob")
	_, anon := a.must("", "/add?item=pen")
	// Logged in, with the cart of before the login.
	body, _ := a.must(alice[0], "/cart")
	if body != "1 alice" {
		t.Fatalf("alice's cart = %q", body)
	}
	n, err := a.m.LogoutEverywhere(ctx(t), "alice")
	if err != nil || n != 5 {
		t.Fatalf("LogoutEverywhere = %d, %v; want 5", n, err)
	}
	for _, cookie := range alice {
		if body, _ := a.must(cookie, "/cart"); body != "0" {
			t.Errorf("alice's session after logout everywhere = %q, want an empty anonymous one", body)
		}
	}
	if body, _ := a.must(bob, "/cart"); body != "0 bob" {
		t.Errorf("bob = %q", body)
	}
	if body, _ := a.must(anon, "/cart"); body != "1" {
		t.Errorf("anonymous = %q", body)
	}
	if n := c.ZCard(ctx(t), st.Prefix()+"user:alice").Val(); n != 0 {
		t.Errorf("alice's set keeps %d entries", n)
	}
	if n, err := a.m.LogoutEverywhere(ctx(t), "alice"); err != nil || n != 0 {
		t.Errorf("second LogoutEverywhere = %d, %v", n, err)
	}
}

// testIndexFollowsExpiry: the user's set always covers a linked session
// (its entry's score is at or past the session's expiry, and so is the
// set's own Redis expiry), through saves that push the expiry out; delete
// and unlink remove the entry at once.
func testIndexFollowsExpiry(t *testing.T, c redis.UniversalClient, st *redisstore.Store) {
	ukey := st.Prefix() + "user:carol"
	check := func(key string, exp time.Time) {
		t.Helper()
		score, err := c.ZScore(ctx(t), ukey, key).Result()
		if err != nil {
			t.Fatalf("no entry for the session: %v", err)
		}
		if int64(score) < exp.UnixMilli() {
			t.Errorf("entry scored %v, before the session's expiry %v", time.UnixMilli(int64(score)), exp)
		}
		if ttl := c.PTTL(ctx(t), ukey).Val(); time.Now().Add(ttl).Before(exp) {
			t.Errorf("the set expires in %v, before the session (%v)", ttl, time.Until(exp))
		}
	}
	key := mustKey(t)
	exp := time.Now().Add(time.Minute)
	rec := core.Record{Key: key, Data: []byte(`{"_auth_user_id":"carol"}`), Expiry: exp}
	if err := st.Save(ctx(t), rec, core.Create); err != nil {
		t.Fatal(err)
	}
	if err := st.LinkUser(ctx(t), "carol", key, exp); err != nil {
		t.Fatal(err)
	}
	check(key, exp)
	for _, d := range []time.Duration{30 * time.Minute, 3 * time.Hour, 14 * 24 * time.Hour} {
		rec.Expiry = time.Now().Add(d)
		if err := st.Save(ctx(t), rec, core.Update); err != nil {
			t.Fatal(err)
		}
		check(key, rec.Expiry)
	}
	_, v, err := st.LoadVersion(ctx(t), key)
	if err != nil {
		t.Fatal(err)
	}
	rec.Expiry = time.Now().Add(30 * 24 * time.Hour)
	if err := st.SaveVersion(ctx(t), rec, v); err != nil {
		t.Fatal(err)
	}
	check(key, rec.Expiry)
	// Entries of sessions long expired are pruned at the next link.
	old := time.Now().Add(-2 * time.Hour).UnixMilli()
	c.ZAdd(ctx(t), ukey, redis.Z{Score: float64(old), Member: mustKey(t)})
	other := mustKey(t)
	if err := st.Save(ctx(t), core.Record{Key: other, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	if err := st.LinkUser(ctx(t), "carol", other, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := c.ZCard(ctx(t), ukey).Val(); n != 2 {
		t.Errorf("set holds %d entries, want 2 (the expired one pruned)", n)
	}
	if err := st.UnlinkUser(ctx(t), other); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx(t), key); err != nil {
		t.Fatal(err)
	}
	if n := c.ZCard(ctx(t), ukey).Val(); n != 0 {
		t.Errorf("set holds %d entries after unlink and delete, want 0", n)
	}
}
