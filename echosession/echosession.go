// Package echosession attaches cloakroom sessions to Echo requests.
//
//	m, err := core.New(store, core.DefaultConfig())
//	e := echo.New()
//	e.Use(echosession.Middleware(m))
//	e.GET("/", func(c echo.Context) error {
//		s := echosession.Get(c)
//		n, _, _ := core.GetAs[int](s, "visits")
//		return s.Set("visits", n+1)
//	})
//
// The session loads lazily and commits just before the response headers go
// out, following Django's rules (see package core).
package echosession

import (
	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/internal/unwrap"
	"github.com/labstack/echo/v4"
)

// ContextKey is the echo.Context key a program may set to a
// *core.Session to hand a request's session to code that cannot reach the
// response writer; [Lookup] checks it last. The middleware itself keeps the
// session in the response writer it installs, so that a request that never
// uses the session does not make Echo allocate its context map.
const ContextKey = "github.com/cloakroom/cloakroom/session"

// Middleware returns Echo middleware that attaches m's lazy session to each
// request and commits it before the response is written.
//
// An error returned by the handler is passed to Echo's HTTP error handler
// (c.Error) inside the middleware, as Echo's own Logger middleware does, so
// the session commits with the status of the error response; the middleware
// then returns nil. When the commit fails, m's error handler writes the
// response and the handler's own status and body are dropped, and
// c.Response().Status is set to the status the error handler sent.
func Middleware(m *core.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			inner := res.Writer
			rw := m.Wrap(inner, c.Request())
			res.Writer = rw
			if err := next(c); err != nil {
				c.Error(err)
			}
			rw.Finish()
			if rw.Failed() && rw.Status() != 0 {
				// Echo recorded the handler's status; the client got the
				// error handler's. Middleware outside this one (loggers,
				// metrics) must see what was sent.
				res.Status = rw.Status()
			}
			if res.Writer == rw {
				// No later middleware kept a wrapper of rw: give Echo its
				// writer back, and rw to the next request unless the
				// session was handed out (see core.ResponseWriter.Release).
				res.Writer = inner
				rw.Release()
			}
			return nil
		}
	}
}

// Get returns the request's session. It panics if [Middleware] is not
// installed, a programming error like a missing route.
func Get(c echo.Context) *core.Session {
	s, err := Lookup(c)
	if err != nil {
		panic(err)
	}
	return s
}

// Lookup returns the request's session, or an error wrapping
// [core.ErrNoSession] when [Middleware] is not installed.
//
// It finds the session in the writer [Middleware] installed in
// c.Response(), also when a later middleware wrapped that writer (behind an
// Unwrap method, as Echo's gzip and body-dump middlewares do, or by
// embedding http.ResponseWriter), and otherwise under [ContextKey].
func Lookup(c echo.Context) (*core.Session, error) {
	if rw, ok := unwrap.Find[*core.ResponseWriter](c.Response().Writer); ok {
		return rw.Session(), nil
	}
	if s, ok := c.Get(ContextKey).(*core.Session); ok {
		return s, nil
	}
	return nil, core.ErrNoSession
}
