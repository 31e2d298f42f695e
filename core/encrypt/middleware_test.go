package encrypt_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cookiestore"
	"github.com/cloakroom/cloakroom/core/encrypt"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// Through the middleware: the data is unreadable at rest in a server store
// and inside a signed cookie, and round-trips for the app.
func TestThroughTheMiddleware(t *testing.T) {
	codec, err := encrypt.New(nil, key(9))
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.DefaultConfig()
	cfg.Codec = codec
	mem := memstore.New(0)
	cs, err := cookiestore.New(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	serverSide, err := core.New(mem, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cookieSide, err := core.NewWithCookieStore(cs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*core.Manager{"memory": serverSide, "cookie": cookieSide} {
		t.Run(name, func(t *testing.T) {
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := core.FromContext(r.Context())
				if r.URL.Path == "/set" {
					_ = s.Set("secret", "the-crown-jewels")
				}
				v, _, _ := core.GetAs[string](s, "secret")
				fmt.Fprint(w, v)
			}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/set", nil))
			cookie := strings.SplitN(w.Header().Get("Set-Cookie"), ";", 2)[0]
			if strings.Contains(cookie, "crown") {
				t.Fatalf("plaintext in the cookie: %s", cookie)
			}
			if name == "memory" {
				rec, err := mem.Load(context.Background(), strings.TrimPrefix(cookie, "sessionid="))
				if err != nil || bytes.Contains(rec.Data, []byte("crown")) || !bytes.HasPrefix(rec.Data, []byte("e1.")) {
					t.Fatalf("stored data %q, %v: want ciphertext", rec.Data, err)
				}
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", cookie)
			w = httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Body.String() != "the-crown-jewels" {
				t.Errorf("read back %q", w.Body.String())
			}
		})
	}
}
