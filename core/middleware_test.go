package core_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
)

func TestNetHTTPMiddleware(t *testing.T) {
	middlewaretest.Run(t, middlewaretest.ServeHTTP)
}

// A custom error handler gets a writer that http.ResponseController can
// unwrap, so it can flush (or set deadlines) like any handler.
func TestErrorHandlerCanFlush(t *testing.T) {
	st := &middlewaretest.CountingStore{Store: memstore.New(0)}
	st.FailSave.Store(true)
	cfg := core.DefaultConfig()
	var flushErr error
	cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		w.WriteHeader(http.StatusServiceUnavailable)
		flushErr = http.NewResponseController(w).Flush()
	}
	m, err := core.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		_ = s.Set("x", 1)
		_, _ = w.Write([]byte("saved?"))
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusServiceUnavailable || flushErr != nil || !w.Flushed || w.Body.Len() != 0 {
		t.Errorf("status %d, body %q, flushed %v, Flush error %v; want 503, no body, a flush and no error", w.Code, w.Body, w.Flushed, flushErr)
	}
}
