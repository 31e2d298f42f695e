package middlewaretest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core/csrf"
)

// CSRF checks an adapter's CSRF middleware through h, which must answer
// GET / with the session's csrf.Token as the body and POST / with 200 behind
// the middleware: a POST without the token or with a wrong one is refused
// with 403, and one with the token, in the csrf.Header header or the
// csrf.FormField form field, passes.
func CSRF(t *testing.T, h http.Handler) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	cookie := strings.SplitN(w.Header().Get("Set-Cookie"), ";", 2)[0]
	tok := w.Body.String()
	if w.Code != http.StatusOK || cookie == "" || tok == "" {
		t.Fatalf("GET /: %d, token %q, Set-Cookie %q", w.Code, tok, w.Header().Get("Set-Cookie"))
	}
	for _, tc := range []struct {
		token string
		want  int
	}{{"", http.StatusForbidden}, {"bogus", http.StatusForbidden}, {tok, http.StatusOK}} {
		form := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(url.Values{csrf.FormField: {tc.token}}.Encode()))
		form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		header := httptest.NewRequest(http.MethodPost, "/", nil)
		header.Header.Set(csrf.Header, tc.token)
		for how, req := range map[string]*http.Request{"form field": form, "header": header} {
			req.Header.Set("Cookie", cookie)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.want {
				t.Errorf("token %q in the %s: %d, want %d", tc.token, how, w.Code, tc.want)
			}
		}
	}
}
