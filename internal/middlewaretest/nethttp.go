package middlewaretest

import (
	"io"
	"net/http"

	"github.com/cloakroom/cloakroom/core"
)

// ServeHTTP serves routes through core's net/http middleware. It lives here,
// not in internal/adapters with the Gin and Echo ones, so that core's tests
// run the suite without importing any framework: core's test graph stays
// standard library only (.ci/run checks it).
func ServeHTTP(m *core.Manager, routes map[string]Route) http.Handler {
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
