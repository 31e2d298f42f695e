package gormstore_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/gormstore"
)

// A session that loses its user (_auth_user_id popped, deleted, emptied,
// cleared, or set to someone else) is unlinked at save, so that logging
// the user out everywhere leaves the now anonymous session alone; logging
// in as another user flushes the session and deletes the old row.
func TestLosingTheUserUnlinks(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			table := tableName(t, db)
			t.Cleanup(func() { _ = db.Migrator().DropTable(table + gormstore.UserTableSuffix) })
			st := newStore(t, db, gormstore.WithTableName(table), gormstore.WithUserIndex())
			m, err := core.New(st, core.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := core.FromContext(r.Context())
				var err error
				switch r.URL.Path {
				case "/login":
					err = s.Login(r.URL.Query().Get("u"))
				case "/cart":
					err = s.Set("cart", []int{1})
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
					http.Error(w, err.Error(), 500)
					return
				}
				id, _ := s.UserID()
				cart, _, _ := core.GetAs[[]int](s, "cart")
				fmt.Fprintf(w, "%s %v", id, cart)
			}))
			cookie := ""
			get := func(path string) string {
				t.Helper()
				req := httptest.NewRequest("GET", path, nil)
				if cookie != "" {
					req.Header.Set("Cookie", cookie)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					t.Fatalf("%s: %d %s", path, w.Code, w.Body)
				}
				if set := w.Header().Get("Set-Cookie"); set != "" {
					cookie = strings.SplitN(set, ";", 2)[0]
				}
				return w.Body.String()
			}
			for _, path := range []string{"/pop", "/delete", "/clear", "/set-empty", "/set-bob"} {
				cookie = ""
				get("/cart")
				get("/login?u=alice")
				get(path)
				if n, err := m.LogoutEverywhere(ctx(t), "alice"); n != 0 || err != nil {
					t.Errorf("%s, then LogoutEverywhere(alice) = %d, %v; want 0", path, n, err)
				}
				if _, err := st.Load(ctx(t), strings.TrimPrefix(cookie, "sessionid=")); err != nil {
					t.Errorf("%s: the session was deleted: %v", path, err)
				}
			}
			if n, _ := m.LogoutEverywhere(ctx(t), "bob"); n != 1 {
				t.Errorf("LogoutEverywhere(bob) = %d, want the session set to bob", n)
			}

			cookie = ""
			get("/login?u=alice")
			get("/cart")
			alice := strings.TrimPrefix(cookie, "sessionid=")
			if got := get("/login?u=carol"); got != "carol []" {
				t.Errorf("login as another user: %q, want alice's cart gone", got)
			}
			if _, err := st.Load(ctx(t), alice); err == nil {
				t.Error("alice's row survived the login as carol")
			}
			if n, _ := m.LogoutEverywhere(ctx(t), "alice"); n != 0 {
				t.Errorf("LogoutEverywhere(alice) = %d after carol logged in, want 0", n)
			}
			if n, _ := m.LogoutEverywhere(ctx(t), "carol"); n != 1 {
				t.Errorf("LogoutEverywhere(carol) = %d, want 1", n)
			}
		})
	}
}
