package echosession

import (
	"github.com/cloakroom/cloakroom/core/csrf"
	"github.com/labstack/echo/v4"
)

// CSRF returns Echo middleware, installed after [Middleware], that answers
// unsafe requests without a valid session-backed CSRF token with 403 (see
// package csrf). Render tokens with csrf.Token(echosession.Get(c)).
func CSRF() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			s, err := Lookup(c)
			if err == nil {
				err = csrf.Verify(s, c.Request())
			}
			if err != nil {
				csrf.Reject(c.Response(), err)
				return nil
			}
			return next(c)
		}
	}
}
