package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core"
)

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// shopVisitor is a browser-like client of the shop served by h.
type shopVisitor struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

func (v *shopVisitor) do(method, path string, form url.Values) (int, string) {
	v.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, v.srv.URL+path, body)
	if err != nil {
		v.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := v.c.Do(req)
	if err != nil {
		v.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCheckoutTooLarge: an anonymous visitor who sends megabytes in the
// checkout form gets the shop's 413 page, nothing is stored, and the cart
// and the session are as they were.
func TestCheckoutTooLarge(t *testing.T) {
	for _, framework := range []string{"gin", "echo"} {
		t.Run(framework, func(t *testing.T) {
			app := newTestShop(t, options{framework: framework, storeFlags: storeFlags{kind: "memory"}}, slog.New(slog.DiscardHandler))
			m, st := app.m, app.m.Store()
			srv := httptest.NewServer(app.handler())
			t.Cleanup(srv.Close)
			jar, _ := cookiejar.New(nil)
			v := &shopVisitor{t: t, srv: srv, c: &http.Client{Jar: jar}}

			_, home := v.do("GET", "/", nil)
			tok := csrfField.FindStringSubmatch(home)
			if tok == nil {
				t.Fatal("no CSRF token on the catalogue page")
			}
			if status, _ := v.do("POST", "/cart/add", url.Values{"csrf_token": {tok[1]}, "sku": {products[0].SKU}, "qty": {"2"}}); status != 200 {
				t.Fatalf("adding to the cart: %d", status)
			}
			u0, _ := url.Parse(srv.URL)
			cookie := func() string {
				for _, c := range jar.Cookies(u0) {
					if c.Name == "sessionid" {
						return c.Value
					}
				}
				return ""
			}
			key := cookie()
			before, err := st.Load(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}

			huge := strings.Repeat("x", 9<<20)
			status, body := v.do("POST", "/checkout/address", url.Values{"csrf_token": {tok[1]}, "name": {"Ann"}, "email": {"ann@example.com"}, "address": {huge}})
			if status != http.StatusRequestEntityTooLarge {
				t.Fatalf("a 9 MB address: %d, want 413", status)
			}
			if !strings.Contains(body, "Too much to remember") || !strings.Contains(body, "Cloakroom Tea Co.") {
				t.Errorf("the 413 is not the shop's page: %.300q", body)
			}
			after, err := st.Load(context.Background(), key)
			if err != nil || cookie() != key || string(after.Data) != string(before.Data) {
				t.Errorf("the refused address changed the session: %d bytes stored (was %d), %v, key %q -> %q", len(after.Data), len(before.Data), err, key, cookie())
			}
			if status, page := v.do("GET", "/cart", nil); status != 200 || !strings.Contains(page, products[0].Name) {
				t.Errorf("the cart after the refused address: %d, product shown %v", status, strings.Contains(page, products[0].Name))
			}
			// A normal address still works.
			if status, _ := v.do("POST", "/checkout/address", url.Values{"csrf_token": {tok[1]}, "name": {"Ann"}, "email": {"ann@example.com"}, "address": {"1 Tea Street"}}); status != 200 {
				t.Errorf("a normal address afterwards: %d", status)
			}
			if c := storedCheckout(t, m, key); c.Address != "1 Tea Street" {
				t.Errorf("stored checkout %+v", c)
			}
		})
	}
}

// storedCheckout reads the checkout stored in the session under key.
func storedCheckout(t *testing.T, m *core.Manager, key string) Checkout {
	t.Helper()
	rec, err := m.Store().Load(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	values, err := m.Config().Codec.Decode(rec.Data)
	if err != nil {
		t.Fatal(err)
	}
	var c Checkout
	if err := json.Unmarshal(values[keyCheckout], &c); err != nil {
		t.Fatal(err)
	}
	return c
}
