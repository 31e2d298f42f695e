package compositiontest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/encrypt"
	"github.com/cloakroom/cloakroom/core/filestore"
	"github.com/cloakroom/cloakroom/core/hashkeys"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/core/observe"
	"github.com/cloakroom/cloakroom/core/storetest"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/internal/teststores"
)

var capabilities = []core.Capability{core.CapVersioning, core.CapUserIndex, core.CapClearExpired, core.CapPing}

// base is a store the wrappers wrap; one per subtest.
type base struct {
	name string
	open func(t *testing.T) core.Store
}

func bases() []base {
	return []base{
		{"memory", func(t *testing.T) core.Store { return memstore.New(0) }},
		{"sqlite-full", func(t *testing.T) core.Store {
			return teststores.Gorm(t, teststores.SQLite(t), gormstore.WithVersioning(), gormstore.WithUserIndex())
		}},
		{"sqlite-plain", func(t *testing.T) core.Store { return teststores.Gorm(t, teststores.SQLite(t)) }},
		{"file", func(t *testing.T) core.Store {
			st, err := filestore.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
	}
}

// wrapper stacks wrappers on a base store. cache is a cache store for the
// cachedstore layers, shared by the instances of one subtest.
type wrapper struct {
	name string
	wrap func(t *testing.T, inner, cache core.Store) core.Store
}

func cached(t *testing.T, cache, db core.Store) core.Store {
	t.Helper()
	st, err := cachedstore.New(cache, db, cachedstore.WithRetryInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func wrappers() []wrapper {
	counters := &observe.Counters{}
	return []wrapper{
		{name: "hashkeys", wrap: func(t *testing.T, in, _ core.Store) core.Store { return hashkeys.Wrap(in) }},
		{name: "observe", wrap: func(t *testing.T, in, _ core.Store) core.Store { return observe.Wrap(in, counters) }},
		{name: "cached", wrap: func(t *testing.T, in, c core.Store) core.Store { return cached(t, c, in) }},
		{name: "hashkeys(cached)", wrap: func(t *testing.T, in, c core.Store) core.Store {
			return hashkeys.Wrap(cached(t, c, in))
		}},
		{name: "cached(hashkeys)", wrap: func(t *testing.T, in, c core.Store) core.Store {
			return cached(t, c, hashkeys.Wrap(in))
		}},
		{name: "observe(hashkeys(cached))", wrap: func(t *testing.T, in, c core.Store) core.Store {
			return observe.Wrap(hashkeys.Wrap(cached(t, c, in)), counters)
		}},
	}
}

// memcached starts one real memcached for the whole test and returns a
// fresh store on it (a prefix of its own) per call.
func memcachedCache(t *testing.T) func(t *testing.T) core.Store {
	srv := memcachedtest.Start(t)
	return func(t *testing.T) core.Store { return teststores.Memcached(t, srv.Addr()) }
}

// TestWrappersKeepCapabilities: every stack supports exactly what its base
// supports, and passes the whole conformance suite, capability cases
// included, with a real memcached as the cache.
func TestWrappersKeepCapabilities(t *testing.T) {
	newCache := memcachedCache(t)
	for _, b := range bases() {
		for _, w := range wrappers() {
			t.Run(b.name+"/"+w.name, func(t *testing.T) {
				inner := b.open(t)
				st := w.wrap(t, inner, newCache(t))
				for _, c := range capabilities {
					want := core.Supports(inner, c)
					if got := core.Supports(st, c); got != want {
						t.Errorf("Supports(%v) = %v over %s, whose base reports %v", c, got, b.name, want)
					}
				}
				storetest.Run(t, func(t *testing.T) core.Store {
					return w.wrap(t, b.open(t), newCache(t))
				}, storetest.Options{ExpiryResolution: time.Second})
			})
		}
	}
}

// TestCachedInstancesAgree: two instances of a cached stack over the same
// cache and database (two app processes) never serve each other's old
// data: writes, deletes and log out everywhere of one are seen by the
// other at once when nothing failed.
func TestCachedInstancesAgree(t *testing.T) {
	newCache := memcachedCache(t)
	db := teststores.Gorm(t, teststores.SQLite(t), gormstore.WithUserIndex())
	cache := newCache(t)
	a, b := cached(t, cache, db), cached(t, cache, db)
	ctx := context.Background()
	key, _ := core.NewKey()
	exp := time.Now().Add(time.Hour)
	for i, st := range []core.Store{a, b, a} {
		data := fmt.Sprintf(`{"n":%d}`, i)
		mode := core.Update
		if i == 0 {
			mode = core.Create
		}
		if err := st.Save(ctx, core.Record{Key: key, Data: []byte(data), Expiry: exp}, mode); err != nil {
			t.Fatal(err)
		}
		for _, other := range []core.Store{a, b} {
			if rec, err := other.Load(ctx, key); err != nil || string(rec.Data) != data {
				t.Fatalf("after write %d: %s, %v; want %s", i, rec.Data, err, data)
			}
		}
	}
	if err := a.(core.UserIndex).LinkUser(ctx, "ann", key, exp); err != nil {
		t.Fatal(err)
	}
	if n, err := b.(core.UserIndex).DeleteUserSessions(ctx, "ann"); err != nil || n != 1 {
		t.Fatalf("DeleteUserSessions = %d, %v", n, err)
	}
	for _, st := range []core.Store{a, b} {
		if _, err := st.Load(ctx, key); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("a session deleted through the user index still loads: %v", err)
		}
	}
}

// TestManagerOverStacks: the manager with the encryption codec over each
// stack: Optimistic is accepted exactly when the stack supports versioning
// (else core.New fails), 30 parallel cart adds lose nothing, and log out
// everywhere ends every session of the user or says it cannot.
func TestManagerOverStacks(t *testing.T) {
	newCache := memcachedCache(t)
	key := make([]byte, encrypt.KeySize)
	_, _ = rand.Read(key)
	codec, err := encrypt.New(nil, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bases() {
		for _, w := range wrappers() {
			t.Run(b.name+"/"+w.name, func(t *testing.T) {
				st := w.wrap(t, b.open(t), newCache(t))
				cfg := core.DefaultConfig()
				cfg.Codec = codec
				cfg.Optimistic = true
				m, err := core.New(st, cfg)
				if !core.Supports(st, core.CapVersioning) {
					if !errors.Is(err, core.ErrInvalidConfig) {
						t.Fatalf("core.New with Optimistic over a stack without versioning = %v, want ErrInvalidConfig", err)
					}
					cfg.Optimistic = false
					if m, err = core.New(st, cfg); err != nil {
						t.Fatal(err)
					}
				} else if err != nil {
					t.Fatalf("core.New with Optimistic: %v", err)
				}
				srv := httptest.NewServer(m.Handler(shop()))
				defer srv.Close()
				if cfg.Optimistic {
					cookie := get(t, srv.URL+"/add?item=first", "")
					var wg sync.WaitGroup
					for i := 0; i < 30; i++ {
						wg.Add(1)
						go func() { defer wg.Done(); get(t, srv.URL+"/add?item=x", cookie) }()
					}
					wg.Wait()
					if n := body(t, srv.URL+"/count", cookie); n != "31" {
						t.Fatalf("cart holds %s items after 31 adds", n)
					}
				}
				c1 := get(t, srv.URL+"/login", "")
				c2 := get(t, srv.URL+"/login", "")
				body(t, srv.URL+"/count", c1) // cached
				n, err := m.LogoutEverywhere(context.Background(), "ann")
				if !core.Supports(st, core.CapUserIndex) {
					if !errors.Is(err, core.ErrUnsupported) {
						t.Fatalf("LogoutEverywhere without a user index = %d, %v; want ErrUnsupported", n, err)
					}
					return
				}
				if err != nil || n != 2 {
					t.Fatalf("LogoutEverywhere = %d, %v; want 2", n, err)
				}
				for _, c := range []string{c1, c2} {
					if who := body(t, srv.URL+"/whoami", c); who != "" {
						t.Fatalf("a session logged out everywhere is still %q", who)
					}
				}
			})
		}
	}
}

func shop() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/add", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		if err := core.Modify(s, "cart", func(c []string, _ bool) ([]string, error) { return append(c, r.FormValue("item")), nil }); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		c, _, _ := core.GetAs[[]string](s, "cart")
		fmt.Fprint(w, len(c))
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		if err := s.Login("ann"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		id, _ := s.UserID()
		fmt.Fprint(w, id)
	})
	return mux
}

// get requests url with cookie and returns the session cookie to use next.
func get(t *testing.T, url, cookie string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return cookie
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if sc := resp.Header.Get("Set-Cookie"); sc != "" {
		return strings.SplitN(sc, ";", 2)[0]
	}
	return cookie
}

func body(t *testing.T, url, cookie string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
