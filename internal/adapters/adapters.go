// Package adapters serves middlewaretest's routes through Gin and Echo, the
// way their handlers write responses, for the tests of every adapter. The
// net/http one is middlewaretest.ServeHTTP: core's tests use it and must not
// import a framework.
package adapters

import (
	"net/http"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/echosession"
	"github.com/cloakroom/cloakroom/ginsession"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"
)

// All maps a framework's name to its Serve.
var All = map[string]middlewaretest.Serve{"net/http": middlewaretest.ServeHTTP, "gin": ServeGin, "echo": ServeEcho}

// ServeGin serves routes through Gin with ginsession.Middleware, and outside
// it a middleware that reports c.Writer.Status() to outer after c.Next().
func ServeGin(m *core.Manager, routes map[string]middlewaretest.Route, outer func(status int)) http.Handler {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(func(c *gin.Context) { c.Next(); outer(c.Writer.Status()) })
	r.Use(ginsession.Middleware(m))
	for path, route := range routes {
		h := func(c *gin.Context) {
			resp := route(ginsession.Get(c), c.Request)
			switch {
			case resp.Status == 0:
			case resp.Body == "" && resp.Stream == nil:
				c.Status(resp.Status)
			case resp.Stream != nil:
				c.Status(resp.Status)
				for i, chunk := range resp.Stream {
					if _, err := c.Writer.WriteString(chunk); err != nil {
						return
					}
					c.Writer.Flush()
					if i < len(resp.Stream)-1 && resp.Between != nil {
						resp.Between()
					}
				}
			default:
				c.String(resp.Status, "%s", resp.Body)
			}
		}
		r.GET(path, h)
		r.POST(path, h)
	}
	return r
}

// ServeEcho serves routes through Echo with echosession.Middleware, and
// outside it a middleware that reports c.Response().Status to outer once the
// rest of the chain has returned.
func ServeEcho(m *core.Manager, routes map[string]middlewaretest.Route, outer func(status int)) http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			outer(c.Response().Status)
			return err
		}
	})
	e.Use(echosession.Middleware(m))
	for path, route := range routes {
		h := func(c echo.Context) error {
			resp := route(echosession.Get(c), c.Request())
			switch {
			case resp.Status == 0:
				return nil
			case resp.Body == "" && resp.Stream == nil:
				return c.NoContent(resp.Status)
			case resp.Stream != nil:
				c.Response().WriteHeader(resp.Status)
				for i, chunk := range resp.Stream {
					if _, err := c.Response().Write([]byte(chunk)); err != nil {
						return nil
					}
					if err := http.NewResponseController(c.Response()).Flush(); err != nil {
						return nil
					}
					if i < len(resp.Stream)-1 && resp.Between != nil {
						resp.Between()
					}
				}
				return nil
			default:
				return c.String(resp.Status, resp.Body)
			}
		}
		e.GET(path, h)
		e.POST(path, h)
	}
	return e
}
