package echosession_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core/csrf"
	"github.com/cloakroom/cloakroom/echosession"
	"github.com/labstack/echo/v4"
)

func TestCSRF(t *testing.T) {
	e := echo.New()
	e.Use(echosession.Middleware(newManager(t)), echosession.CSRF())
	e.GET("/", func(c echo.Context) error {
		tok, err := csrf.Token(echosession.Get(c))
		if err != nil {
			return err
		}
		return c.String(200, tok)
	})
	e.POST("/", func(c echo.Context) error { return c.String(200, "ok") })
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	cookie := strings.SplitN(w.Header().Get("Set-Cookie"), ";", 2)[0]
	tok := w.Body.String()
	for _, tc := range []struct {
		token string
		want  int
	}{{"", 403}, {"bogus", 403}, {tok, 200}} {
		req := httptest.NewRequest("POST", "/", nil)
		req.Header.Set(csrf.Header, tc.token)
		req.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Errorf("token %q: %d, want %d", tc.token, w.Code, tc.want)
		}
	}
}
