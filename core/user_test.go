package core_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/hashkeys"
	"github.com/cloakroom/cloakroom/core/memstore"
)

func TestLogoutEverywhere(t *testing.T) {
	m := newManager(t, nil)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		switch r.URL.Path {
		case "/cart":
			_ = s.Set("cart", []int{1})
		case "/login":
			if err := s.Login(r.URL.Query().Get("u")); err != nil {
				http.Error(w, err.Error(), 500)
			}
		}
		id, _ := s.UserID()
		_, _ = w.Write([]byte(id))
	}))
	type browser struct{ cookie string }
	do := func(b *browser, path string) string {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Cookie", b.cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if set := w.Header().Get("Set-Cookie"); set != "" {
			b.cookie = strings.SplitN(set, ";", 2)[0]
		}
		return w.Body.String()
	}
	alice1, alice2, bob := &browser{}, &browser{}, &browser{}
	do(alice1, "/cart") // anonymous first, then log in: the link is made on the cycled key
	for b, u := range map[*browser]string{alice1: "alice", alice2: "alice", bob: "bob"} {
		if got := do(b, "/login?u="+u); got != u {
			t.Fatalf("login as %s: %q", u, got)
		}
	}
	n, err := m.LogoutEverywhere(context.Background(), "alice")
	if err != nil || n != 2 {
		t.Fatalf("LogoutEverywhere(alice) = %d, %v; want 2", n, err)
	}
	if do(alice1, "/") != "" || do(alice2, "/") != "" {
		t.Error("alice still logged in somewhere")
	}
	if do(bob, "/") != "bob" {
		t.Error("bob was logged out too")
	}
	if n, _ := m.LogoutEverywhere(context.Background(), "alice"); n != 0 {
		t.Errorf("second LogoutEverywhere deleted %d", n)
	}
	m2, _ := core.New(hashkeys.Wrap(noIndex{memstore.New(0)}), core.DefaultConfig())
	if _, err := m2.LogoutEverywhere(context.Background(), "x"); !errors.Is(err, core.ErrUnsupported) {
		t.Errorf("store without an index: %v", err)
	}
}

// noIndex hides the memory store's user index.
type noIndex struct{ core.Store }
