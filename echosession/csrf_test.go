package echosession_test

import (
	"testing"

	"github.com/cloakroom/cloakroom/core/csrf"
	"github.com/cloakroom/cloakroom/echosession"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
	"github.com/labstack/echo/v4"
)

func TestCSRF(t *testing.T) {
	e := echo.New()
	e.Use(echosession.Middleware(middlewaretest.NewManager(t, nil)), echosession.CSRF())
	e.GET("/", func(c echo.Context) error {
		tok, err := csrf.Token(echosession.Get(c))
		if err != nil {
			return err
		}
		return c.String(200, tok)
	})
	e.POST("/", func(c echo.Context) error { return c.String(200, "ok") })
	middlewaretest.CSRF(t, e)
}
