package core_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/cloakroom/cloakroom/core"
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
	s := m.Start(httptest.NewRequest("GET", "/", nil))

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
	s := m.Start(httptest.NewRequest("GET", "/", nil))

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
