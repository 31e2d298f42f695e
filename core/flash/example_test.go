package flash_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/flash"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// Post, redirect, get: the POST queues a message and redirects; the next
// page shows it once.
func ExampleAdd() {
	m, err := core.New(memstore.New(0), core.DefaultConfig())
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		// ... add the item to the cart, then:
		if err := flash.Add(s, flash.Success, "Darjeeling added to your cart"); err != nil {
			http.Error(w, "sessions unavailable", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		msgs, _ := flash.Read(s) // read once: they are gone afterwards
		if len(msgs) == 0 {
			fmt.Fprint(w, "(no messages)")
		}
		for _, msg := range msgs {
			fmt.Fprintf(w, "[%s] %s", msg.Level, msg.Text)
		}
	})
	h := m.Handler(mux)

	cookie := ""
	send := func(method, target string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if c := w.Header().Get("Set-Cookie"); c != "" {
			cookie = strings.SplitN(c, ";", 2)[0]
		}
		return w
	}

	w := send("POST", "/cart")
	fmt.Println(w.Code, w.Header().Get("Location"))
	fmt.Println(send("GET", "/").Body.String())
	fmt.Println(send("GET", "/").Body.String())
	// Output:
	// 303 /
	// [success] Darjeeling added to your cart
	// (no messages)
}
