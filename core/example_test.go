package core_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/filestore"
	"github.com/cloakroom/cloakroom/core/hashkeys"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// A visit counter with the plain net/http middleware.
func ExampleManager_Handler() {
	m, err := core.New(memstore.New(0), core.DefaultConfig())
	if err != nil {
		panic(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := core.FromContext(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		visits, _, err := core.GetAs[int](s, "visits")
		if err == nil {
			err = s.Set("visits", visits+1)
		}
		if err != nil {
			http.Error(w, "session unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "visit %d", visits+1)
	}))

	var cookie string
	for i := 0; i < 3; i++ {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if c := w.Header().Get("Set-Cookie"); c != "" {
			cookie = strings.SplitN(c, ";", 2)[0]
		}
		body, _ := io.ReadAll(w.Body)
		fmt.Println(string(body))
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}

// Typed values come back with their Go types, without registration.
func ExampleGetAs() {
	m, _ := core.New(memstore.New(0), core.DefaultConfig())
	var x core.Exchange // what a middleware holds for each request
	m.Begin(&x, httptest.NewRequest("GET", "/", nil))
	s := x.Session()

	type line struct {
		SKU string
		Qty int
	}
	_ = s.Set("cart", []line{{"tea", 2}, {"cup", 1}})

	cart, ok, err := core.GetAs[[]line](s, "cart")
	fmt.Println(cart, ok, err)
	// Output: [{tea 2} {cup 1}] true <nil>
}

// Django's set_expiry forms.
func ExampleSession_SetExpiry() {
	m, _ := core.New(memstore.New(0), core.DefaultConfig())
	var x core.Exchange // what a middleware holds for each request
	m.Begin(&x, httptest.NewRequest("GET", "/", nil))
	s := x.Session()

	_ = s.SetExpiry(300e9) // 300 seconds after each save
	fmt.Println(s.ExpiryAge(), s.ExpireAtBrowserClose())
	_ = s.SetExpireAtBrowserClose() // set_expiry(0)
	fmt.Println(s.ExpireAtBrowserClose())
	_ = s.ResetExpiry() // set_expiry(None): back to CookieAge
	fmt.Println(s.ExpiryAge())
	// Output:
	// 5m0s false
	// true
	// 336h0m0s
}

// Signing in: Login cycles the session key against session fixation and
// keeps what the visitor did before (an anonymous cart); the old key no
// longer opens anything.
func ExampleSession_Login() {
	m, err := core.New(memstore.New(0), core.DefaultConfig())
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		if err := s.Set("cart", []string{"darjeeling"}); err != nil {
			http.Error(w, "sessions unavailable", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		// Check the password first; then:
		if err := s.Login("alice"); err != nil {
			http.Error(w, "sign-in failed", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		user, _ := s.UserID()
		cart, _, _ := core.GetAs[[]string](s, "cart")
		fmt.Fprintf(w, "user=%q cart=%v", user, cart)
	})
	h := m.Handler(mux)

	// send makes one request with cookie and returns the body and the
	// session cookie the response set, if any.
	send := func(method, target, cookie string) (body, setCookie string) {
		req := httptest.NewRequest(method, target, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if c := w.Header().Get("Set-Cookie"); c != "" {
			setCookie = strings.SplitN(c, ";", 2)[0]
		}
		return w.Body.String(), setCookie
	}

	_, anonymous := send("POST", "/cart", "")
	_, signedIn := send("POST", "/login", anonymous)
	fmt.Println("key cycled:", signedIn != "" && signedIn != anonymous)
	me, _ := send("GET", "/me", signedIn)
	fmt.Println(me)
	old, _ := send("GET", "/me", anonymous)
	fmt.Println("old cookie:", old)
	// Output:
	// key cycled: true
	// user="alice" cart=[darjeeling]
	// old cookie: user="" cart=[]
}

// Signing out: Flush deletes the session from the store and the cookie
// from the browser. A copy of the old cookie opens nothing.
func ExampleSession_Flush() {
	store := memstore.New(0)
	m, err := core.New(store, core.DefaultConfig())
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		if err := s.Login("alice"); err != nil {
			http.Error(w, "sign-in failed", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		if err := s.Flush(); err != nil {
			http.Error(w, "sign-out failed", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		if user, ok := s.UserID(); ok {
			fmt.Fprint(w, user)
			return
		}
		fmt.Fprint(w, "anonymous")
	})
	h := m.Handler(mux)

	send := func(method, target, cookie string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}

	login := send("POST", "/login", "")
	cookie := strings.SplitN(login.Header().Get("Set-Cookie"), ";", 2)[0]
	fmt.Println("signed in:", send("GET", "/me", cookie).Body.String(), "sessions stored:", store.Len())

	logout := send("POST", "/logout", cookie)
	fmt.Println("cookie deleted:", strings.Contains(logout.Header().Get("Set-Cookie"), "Max-Age=0"))
	fmt.Println("old cookie:", send("GET", "/me", cookie).Body.String(), "sessions stored:", store.Len())
	// Output:
	// signed in: alice sessions stored: 1
	// cookie deleted: true
	// old cookie: anonymous sessions stored: 0
}

// A cart that parallel requests of one session change at once: with
// Config.Optimistic on, Modify's function is replayed on the fresh value
// when another request saved first, so no item is lost. (With the default,
// Django's last writer wins, some of the ten would be.)
func ExampleModify() {
	cfg := core.DefaultConfig()
	cfg.Optimistic = true // needs a store that supports core.CapVersioning
	m, err := core.New(memstore.New(0), cfg)
	if err != nil {
		panic(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		sku := r.FormValue("sku")
		err := core.Modify(s, "cart", func(cart []string, _ bool) ([]string, error) {
			return append(cart, sku), nil // may run more than once: no side effects
		})
		if err != nil {
			http.Error(w, "cart unavailable", http.StatusServiceUnavailable)
			return
		}
		cart, _, _ := core.GetAs[[]string](s, "cart")
		fmt.Fprint(w, len(cart))
	}))
	post := func(sku, cookie string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/cart?sku="+sku, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}

	first := post("sencha", "")
	cookie := strings.SplitN(first.Header().Get("Set-Cookie"), ";", 2)[0]
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w := post(fmt.Sprint("tea", i), cookie); w.Code != http.StatusOK {
				fmt.Println("failed:", w.Code)
			}
		}()
	}
	wg.Wait()
	fmt.Println("items in the cart:", post("oolong", cookie).Body.String())
	// Output: items in the cart: 12
}

// Choosing a store: core.Supports tells what a store, or a stack of
// wrappers over one, can do. Turn Optimistic on where versioning is
// offered; core.New refuses it over a store without.
func ExampleSupports() {
	dir, err := os.MkdirTemp("", "sessions")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	files, err := filestore.New(dir) // a private directory
	if err != nil {
		panic(err)
	}
	for _, st := range []struct {
		name  string
		store core.Store
	}{
		{"memory", memstore.New(0)},
		{"files", files},
		{"hashed memory", hashkeys.Wrap(memstore.New(0))},
	} {
		fmt.Printf("%-13s versioning=%-5v user index=%-5v ping=%v\n", st.name,
			core.Supports(st.store, core.CapVersioning),
			core.Supports(st.store, core.CapUserIndex),
			core.Supports(st.store, core.CapPing))
	}

	cfg := core.DefaultConfig()
	cfg.Optimistic = true
	_, err = core.New(files, cfg)
	fmt.Println("Optimistic over files:", errors.Is(err, core.ErrInvalidConfig))
	// Output:
	// memory        versioning=true  user index=true  ping=false
	// files         versioning=false user index=false ping=true
	// hashed memory versioning=true  user index=true  ping=false
	// Optimistic over files: true
}

// A health check: Manager.Ping asks the store's backend (a database,
// memcached, the file store's directory) and answers nil for a store with
// nothing to ask.
func ExampleManager_Ping() {
	dir, err := os.MkdirTemp("", "sessions")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	files, err := filestore.New(dir)
	if err != nil {
		panic(err)
	}
	m, err := core.New(files, core.DefaultConfig())
	if err != nil {
		panic(err)
	}
	healthz := func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if err := m.Ping(ctx); err != nil {
			http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	}
	check := func() {
		w := httptest.NewRecorder()
		healthz(w, httptest.NewRequest("GET", "/healthz", nil))
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	check()
	os.RemoveAll(dir) // the directory goes away
	check()
	// Output:
	// 200 ok
	// 503 session store unavailable
}
