package core

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// TestResetClearsEverything checks that Exchange.Reset leaves the zero
// Exchange behind after every kind of request, including its shortcut for
// a session that was never handed out.
func TestResetClearsEverything(t *testing.T) {
	uses := map[string]func(x *Exchange){
		"untouched":       func(*Exchange) {},
		"handed out only": func(x *Exchange) { x.Session() },
		"read":            func(x *Exchange) { x.Session().Has("a") },
		"written":         func(x *Exchange) { _ = x.Session().Set("a", 1) },
		"key":             func(x *Exchange) { x.Session().Key() },
	}
	for _, every := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.SaveEveryRequest = every
		m, err := New(nopStore{}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for name, use := range uses {
			for _, cookie := range []string{"", "sessionid=abc", "sessionid=" + strings.Repeat("k", 32)} {
				r := httptest.NewRequest("GET", "/", nil)
				if cookie != "" {
					r.Header.Set("Cookie", cookie)
				}
				var x Exchange
				m.Begin(&x, r)
				use(&x)
				if !x.Commit(httptest.NewRecorder(), http.StatusOK) {
					t.Fatalf("SaveEveryRequest=%v, %s, cookie %q: commit failed", every, name, cookie)
				}
				x.Reset()
				if !reflect.DeepEqual(&x, &Exchange{}) {
					t.Errorf("SaveEveryRequest=%v, %s, cookie %q: Reset left %+v", every, name, cookie, &x)
				}
			}
		}
	}
}

// TestUntouchedSessionIgnoresCookie checks that a request whose handler
// never uses its session leaves any session cookie alone, however unusable
// (the cookie is not even examined), while a request that uses its session
// deletes an unusable one, as Django does.
func TestUntouchedSessionIgnoresCookie(t *testing.T) {
	m, err := New(nopStore{}, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, cookie := range []string{"sessionid=abc", "sessionid=", "sessionid=" + strings.Repeat("k", 5000), "sessionid=../../etc/passwd"} {
		for _, used := range []bool{false, true} {
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if used {
					s, _ := FromContext(r.Context())
					s.Has("cart")
				}
				_, _ = w.Write([]byte("ok"))
			}))
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", cookie)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			setCookie, vary := w.Header().Get("Set-Cookie"), w.Header().Get("Vary")
			if !used && (setCookie != "" || vary != "") {
				t.Errorf("untouched, cookie %.40q: Set-Cookie %q, Vary %q; want neither", cookie, setCookie, vary)
			}
			if used && !strings.Contains(setCookie, "Max-Age=0") {
				t.Errorf("used, cookie %.40q: Set-Cookie %q; want the unusable cookie deleted", cookie, setCookie)
			}
		}
	}
}
