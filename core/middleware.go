package core

import (
	"context"
	"net/http"
)

type contextKey struct{}

// NewContext returns a copy of ctx that carries s.
func NewContext(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, contextKey{}, s)
}

// FromContext returns the session attached by [Manager.Handler] (or
// [NewContext]), or an error wrapping [ErrNoSession].
func FromContext(ctx context.Context) (*Session, error) {
	if s, ok := ctx.Value(contextKey{}).(*Session); ok {
		return s, nil
	}
	return nil, ErrNoSession
}

// Handler is the net/http middleware: it attaches a lazy session to each
// request's context (get it with [FromContext]) and commits it just before
// the response headers are written, or when next returns if it wrote
// nothing. The response body is not buffered: flushing, hijacking and
// [http.ResponseController] keep working.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := m.Wrap(w, r)
		s := rw.Session() // handed out for good: rw is never released
		r = r.WithContext(NewContext(r.Context(), s))
		s.req = r
		next.ServeHTTP(rw, r)
		rw.Finish()
	})
}
