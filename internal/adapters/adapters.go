// Package adapters serves middlewaretest's routes through each framework,
// the way its handlers write responses, for the tests of every adapter.
package adapters

import (
	"io"
	"net/http"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/echosession"
	"github.com/cloakroom/cloakroom/ginsession"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"
)

// All maps a framework's name to its Serve.
var All = map[string]middlewaretest.Serve{"net/http": ServeHTTP, "gin": ServeGin, "echo": ServeEcho}

// ServeHTTP serves routes through core's net/http middleware.
func ServeHTTP(m *core.Manager, routes map[string]middlewaretest.Route) http.Handler {
	mux := http.NewServeMux()
	for path, route := range routes {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			s, err := core.FromContext(r.Context())
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			resp := route(s, r)
			if resp.Status == 0 {
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(resp.Status)
			_, _ = io.WriteString(w, resp.Body)
			rc := http.NewResponseController(w)
			for i, chunk := range resp.Stream {
				_, _ = io.WriteString(w, chunk)
				if err := rc.Flush(); err != nil {
					return
				}
				if i < len(resp.Stream)-1 && resp.Between != nil {
					resp.Between()
				}
			}
		})
	}
	return m.Handler(mux)
}

// ServeGin serves routes through Gin with ginsession.Middleware.
func ServeGin(m *core.Manager, routes map[string]middlewaretest.Route) http.Handler {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(ginsession.Middleware(m))
	for path, route := range routes {
		h := func(c *gin.Context) {
			resp := route(ginsession.Get(c), c.Request)
			switch {
			case resp.Status == 0:
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

// ServeEcho serves routes through Echo with echosession.Middleware.
func ServeEcho(m *core.Manager, routes map[string]middlewaretest.Route) http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.Use(echosession.Middleware(m))
	for path, route := range routes {
		h := func(c echo.Context) error {
			resp := route(echosession.Get(c), c.Request())
			switch {
			case resp.Status == 0:
				return nil
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
