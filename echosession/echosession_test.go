package echosession_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/echosession"
	"github.com/cloakroom/cloakroom/internal/adapters"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

func TestEchoMiddleware(t *testing.T) {
	middlewaretest.Run(t, adapters.ServeEcho)
}

// A handler error goes through Echo's error handler before the commit, so a
// 4xx error keeps the session change and a 5xx error drops it.
func TestHandlerErrors(t *testing.T) {
	for _, tc := range []struct {
		err        error
		status     int
		wantCookie bool
	}{
		{echo.NewHTTPError(http.StatusNotFound, "nope"), 404, true},
		{errors.New("boom"), 500, false},
	} {
		e := echo.New()
		e.Use(echosession.Middleware(middlewaretest.NewManager(t, nil)))
		e.GET("/", func(c echo.Context) error {
			if err := echosession.Get(c).Set("x", 1); err != nil {
				return err
			}
			return tc.err
		})
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != tc.status || (w.Header().Get("Set-Cookie") != "") != tc.wantCookie {
			t.Errorf("handler error %v: status %d Set-Cookie %q", tc.err, w.Code, w.Header().Get("Set-Cookie"))
		}
	}
}

func TestLookupWithoutMiddleware(t *testing.T) {
	e := echo.New()
	e.GET("/", func(c echo.Context) error {
		if _, err := echosession.Lookup(c); !errors.Is(err, core.ErrNoSession) {
			t.Errorf("Lookup without middleware: %v", err)
		}
		return c.NoContent(204)
	})
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
}

// The session is found through writers that Echo's own middlewares wrap
// around the session's (gzip, body dump), and the middleware leaves Echo's
// context map alone.
func TestLookupThroughEchoMiddlewares(t *testing.T) {
	for name, mw := range map[string]echo.MiddlewareFunc{
		"gzip":      middleware.GzipWithConfig(middleware.GzipConfig{MinLength: 1}),
		"body dump": middleware.BodyDump(func(echo.Context, []byte, []byte) {}),
	} {
		e := echo.New()
		e.Use(echosession.Middleware(middlewaretest.NewManager(t, nil)))
		e.Use(mw)
		e.GET("/", func(c echo.Context) error {
			if c.Get(echosession.ContextKey) != nil {
				return c.String(500, "the middleware wrote to the context map")
			}
			return echosession.Get(c).Set("n", 1)
		})
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		e.ServeHTTP(w, req)
		if w.Code != 200 || w.Header().Get("Set-Cookie") == "" {
			t.Errorf("%s: %d %q, Set-Cookie %q", name, w.Code, w.Body, w.Header().Get("Set-Cookie"))
		}
	}
}
