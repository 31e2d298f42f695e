package csrf_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/csrf"
	"github.com/cloakroom/cloakroom/core/memstore"
)

func server(t *testing.T) *httptest.Server {
	m, err := core.New(memstore.New(0), core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		tok, err := csrf.Token(s)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, tok)
	})
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "accepted") })
	mux.HandleFunc("POST /rotate", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		_ = csrf.Rotate(s)
	})
	srv := httptest.NewServer(m.Handler(csrf.Middleware(mux)))
	t.Cleanup(srv.Close)
	return srv
}

func TestTokens(t *testing.T) {
	srv := server(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func() string {
		resp, err := c.Get(srv.URL + "/form")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	post := func(path string, form url.Values, header string) int {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if header != "" {
			req.Header.Set(csrf.Header, header)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/form", nil, ""); code != 403 {
		t.Errorf("POST before any token: %d", code)
	}
	t1, t2 := get(), get()
	if t1 == t2 {
		t.Error("the masked token repeats")
	}
	for _, tok := range []string{t1, t2} {
		if code := post("/form", url.Values{csrf.FormField: {tok}}, ""); code != 200 {
			t.Errorf("form token: %d", code)
		}
		if code := post("/form", nil, tok); code != 200 {
			t.Errorf("header token: %d", code)
		}
	}
	forged := []byte(t1)
	forged[5] ^= 1
	for _, bad := range []string{"", "x", string(forged), t1 + "A", strings.Repeat("A", 86)} {
		if code := post("/form", url.Values{csrf.FormField: {bad}}, ""); code != 403 {
			t.Errorf("token %q: %d, want 403", bad, code)
		}
	}
	post("/rotate", url.Values{csrf.FormField: {t1}}, "")
	if code := post("/form", url.Values{csrf.FormField: {t1}}, ""); code != 403 {
		t.Errorf("a token from before Rotate still works: %d", code)
	}
	// Another visitor's valid token does not work for this one.
	jar2, _ := cookiejar.New(nil)
	c2 := &http.Client{Jar: jar2}
	resp, _ := c2.Get(srv.URL + "/form")
	other, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if code := post("/form", url.Values{csrf.FormField: {string(other)}}, ""); code != 403 {
		t.Errorf("another session's token: %d", code)
	}
}

// A form protected by a token kept in the session.
func Example() {
	m, _ := core.New(memstore.New(0), core.DefaultConfig())
	h := m.Handler(csrf.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		tok, _ := csrf.Token(s)
		fmt.Fprintf(w, `<form method="post"><input type="hidden" name="%s" value="%s"></form>`, csrf.FormField, tok)
	})))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil)) // a forged POST
	fmt.Println(w.Code)
	// Output: 403
}
