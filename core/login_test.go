package core_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// userApp serves a small app for the login tests: /login?u=, /cart, /addr,
// and one route per way of losing the user; every route answers
// "user=... cart=... addr=...".
func userApp(m *core.Manager) http.Handler {
	return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		var err error
		switch r.URL.Path {
		case "/login":
			err = s.Login(r.URL.Query().Get("u"))
		case "/cart":
			err = s.Set("cart", []int{1})
		case "/addr":
			err = s.Set("addr", "1 Tea Street")
		case "/pop":
			_, err = s.Pop(core.UserIDKey, nil)
		case "/delete":
			s.Delete(core.UserIDKey)
		case "/clear":
			s.Clear()
		case "/set-empty":
			err = s.Set(core.UserIDKey, "")
		case "/set-bob":
			err = s.Set(core.UserIDKey, "bob")
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		id, _ := s.UserID()
		cart, _, _ := core.GetAs[[]int](s, "cart")
		addr, _, _ := core.GetAs[string](s, "addr")
		fmt.Fprintf(w, "user=%s cart=%v addr=%q", id, cart, addr)
	}))
}

// browser keeps one session cookie.
type browser struct {
	t      *testing.T
	h      http.Handler
	cookie string
}

func (b *browser) get(path string) string {
	b.t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if b.cookie != "" {
		req.Header.Set("Cookie", b.cookie)
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.t.Fatalf("%s: %d %s", path, w.Code, w.Body)
	}
	if set := w.Header().Get("Set-Cookie"); set != "" {
		b.cookie = strings.SplitN(set, ";", 2)[0]
	}
	return w.Body.String()
}

func (b *browser) key() string { return strings.TrimPrefix(b.cookie, "sessionid=") }

// Logging in as another user than the one logged in flushes the session
// (Django's login): the previous user's cart and address do not carry over
// and the old record is deleted. The same user, or the first login, cycles
// the key and keeps the values.
func TestLoginAsAnotherUserFlushes(t *testing.T) {
	m := newManager(t, nil)
	store := m.Store()
	b := &browser{t: t, h: userApp(m)}
	b.get("/cart")
	anon := b.key()
	if got := b.get("/login?u=alice"); got != `user=alice cart=[1] addr=""` {
		t.Errorf("first login: %s; the anonymous cart is kept", got)
	}
	b.get("/addr")
	alice := b.key()
	if alice == anon {
		t.Error("first login kept the key")
	}
	if got := b.get("/login?u=alice"); got != `user=alice cart=[1] addr="1 Tea Street"` {
		t.Errorf("same user again: %s, want the values kept", got)
	}
	if b.key() == alice {
		t.Error("logging in again as the same user kept the key")
	}
	alice = b.key()
	if got := b.get("/login?u=bob"); got != `user=bob cart=[] addr=""` {
		t.Errorf("login as another user: %s, want alice's cart and address gone", got)
	}
	if b.key() == alice || b.key() == "" {
		t.Errorf("login as another user: key %q (alice's was %q)", b.key(), alice)
	}
	for _, k := range []string{anon, alice} {
		if _, err := store.Load(context.Background(), k); err == nil {
			t.Errorf("key %s still in the store", k)
		}
	}
	if n, err := m.LogoutEverywhere(context.Background(), "alice"); n != 0 || err != nil {
		t.Errorf("LogoutEverywhere(alice) after bob logged in = %d, %v; want 0", n, err)
	}
	if got := b.get("/"); got != `user=bob cart=[] addr=""` {
		t.Errorf("afterwards: %s", got)
	}
}

// A session that loses its user (_auth_user_id popped, deleted, emptied,
// cleared, or set to someone else) is unlinked from that user at save, so
// logging the user out everywhere leaves it alone.
func TestLosingTheUserUnlinks(t *testing.T) {
	m := newManager(t, nil)
	h := userApp(m)
	for _, path := range []string{"/pop", "/delete", "/clear", "/set-empty", "/set-bob"} {
		b := &browser{t: t, h: h}
		b.get("/cart")
		b.get("/login?u=alice")
		b.get(path)
		if n, err := m.LogoutEverywhere(context.Background(), "alice"); n != 0 || err != nil {
			t.Errorf("%s, then LogoutEverywhere(alice) = %d, %v; want 0", path, n, err)
		}
		if _, err := m.Store().Load(context.Background(), b.key()); err != nil {
			t.Errorf("%s: the session was deleted: %v", path, err)
		}
	}
	if n, _ := m.LogoutEverywhere(context.Background(), "bob"); n != 1 {
		t.Errorf("LogoutEverywhere(bob) = %d, want the session set to bob", n)
	}
	b := &browser{t: t, h: h} // still logged in: deleted
	b.get("/login?u=alice")
	if n, _ := m.LogoutEverywhere(context.Background(), "alice"); n != 1 {
		t.Errorf("LogoutEverywhere(alice) = %d for a logged-in session, want 1", n)
	}
}

// With the memory store directly: a session whose user was removed and
// then put back is linked again.
func TestRelinkAfterUnlink(t *testing.T) {
	st := memstore.New(0)
	m, err := core.New(st, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, h: userApp(m)}
	b.get("/login?u=alice")
	b.get("/pop")
	b.get("/set-bob")
	b.get("/pop")
	b.get("/login?u=carol") // no user: cycle, keep values, link
	if n, _ := m.LogoutEverywhere(context.Background(), "bob"); n != 0 {
		t.Errorf("LogoutEverywhere(bob) = %d, want 0", n)
	}
	if n, _ := m.LogoutEverywhere(context.Background(), "carol"); n != 1 {
		t.Errorf("LogoutEverywhere(carol) = %d, want 1", n)
	}
}
