package middlewaretest

import (
	"io"
	"net/http"

	"github.com/cloakroom/cloakroom/core"
)

// ServeHTTP serves routes through core's net/http middleware. It lives here,
// not in internal/adapters with the Gin and Echo ones, so that core's tests
// run the suite without importing any framework: core's test graph stays
// standard library only (.ci/run checks it). Its outer middleware wraps the
// ResponseWriter to learn the status.
func ServeHTTP(m *core.Manager, routes map[string]Route, outer func(status int)) http.Handler {
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
			if resp.Body == "" && resp.Stream == nil {
				w.WriteHeader(resp.Status)
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
	h := m.Handler(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		outer(sw.status())
	})
}

// statusWriter records the status written through it, as a net/http
// logging middleware does.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush sends what was written, for the streaming routes.
func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status is what the client got: the status written, or the server's
// implicit 200 when nothing was.
func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
