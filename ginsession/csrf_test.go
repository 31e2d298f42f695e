package ginsession_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core/csrf"
	"github.com/cloakroom/cloakroom/ginsession"
	"github.com/gin-gonic/gin"
)

func TestCSRF(t *testing.T) {
	m := newManager(t)
	r := gin.New()
	r.Use(ginsession.Middleware(m), ginsession.CSRF())
	r.GET("/", func(c *gin.Context) {
		tok, _ := csrf.Token(ginsession.Get(c))
		c.String(200, tok)
	})
	r.POST("/", func(c *gin.Context) { c.String(200, "ok") })
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	cookie := strings.SplitN(w.Header().Get("Set-Cookie"), ";", 2)[0]
	tok := w.Body.String()
	for _, tc := range []struct {
		token string
		want  int
	}{{"", 403}, {"bogus", 403}, {tok, 200}} {
		req := httptest.NewRequest("POST", "/", strings.NewReader("csrf_token="+tc.token))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Errorf("token %q: %d, want %d", tc.token, w.Code, tc.want)
		}
	}
}
