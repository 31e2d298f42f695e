package core

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
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
		r = r.WithContext(NewContext(r.Context(), rw.s))
		rw.s.req, rw.s.ctx = r, r.Context()
		next.ServeHTTP(rw, r)
		rw.Finish()
	})
}

// ErrResponseReplaced is returned by writes after a session commit failed
// and the error handler wrote the response instead of the handler.
var ErrResponseReplaced = errors.New("cloakroom: response replaced by the session error handler")

// ResponseWriter wraps an [http.ResponseWriter] so that the session commits
// just before the status line goes out. Adapters for other frameworks get
// one from [Manager.Wrap].
type ResponseWriter struct {
	w           http.ResponseWriter
	s           *Session
	session     Session // storage for s: one allocation per request
	status      int     // the status sent downstream, 0 before any
	wroteHeader bool
	failed      bool
}

// errorWriter is the writer the error handler gets when a commit fails: it
// records the status the handler sends, for [ResponseWriter.Status].
type errorWriter ResponseWriter

func (ew *errorWriter) Header() http.Header { return ew.w.Header() }

func (ew *errorWriter) WriteHeader(code int) {
	if ew.status == 0 && code >= 200 {
		ew.status = code
	}
	ew.w.WriteHeader(code)
}

func (ew *errorWriter) Write(p []byte) (int, error) {
	if ew.status == 0 {
		ew.status = http.StatusOK
	}
	return ew.w.Write(p)
}

// Unwrap lets an error handler reach the underlying writer through
// [http.ResponseController].
func (ew *errorWriter) Unwrap() http.ResponseWriter { return ew.w }

// commit commits the session for a response with status code, and reports
// whether the handler's response, with that status, may go out.
func (rw *ResponseWriter) commit(code int) bool {
	rw.wroteHeader = true
	if !rw.s.Commit((*errorWriter)(rw), code) {
		rw.failed = true
		return false
	}
	rw.status = code
	return true
}

// Wrap starts the lazy session for r, as [Manager.Start] does, and returns
// w wrapped so that the session commits before the headers are written, in
// one allocation. Framework adapters use it; call Finish when the handler
// returns and get the session with Session.
func (m *Manager) Wrap(w http.ResponseWriter, r *http.Request) *ResponseWriter {
	rw := &ResponseWriter{w: w}
	rw.s = &rw.session
	m.Init(rw.s, r)
	return rw
}

// Session returns the session the writer commits.
func (rw *ResponseWriter) Session() *Session { return rw.s }

// Status returns the status code sent to the client: the handler's, or the
// error handler's when the commit failed and it answered instead. It is 0
// before any status was sent, and [http.StatusOK] for a response that wrote
// a body without one. Framework adapters use it to correct the status their
// own response type recorded.
func (rw *ResponseWriter) Status() int { return rw.status }

// Failed reports whether the session could not be committed, so that the
// error handler answered instead of the handler.
func (rw *ResponseWriter) Failed() bool { return rw.failed }

// Header implements [http.ResponseWriter].
func (rw *ResponseWriter) Header() http.Header { return rw.w.Header() }

// WriteHeader commits the session, then writes the status, unless the
// commit failed and the error handler answered instead.
func (rw *ResponseWriter) WriteHeader(code int) {
	if rw.wroteHeader {
		if !rw.failed {
			rw.w.WriteHeader(code) // let net/http report the superfluous call
		}
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		rw.w.WriteHeader(code) // informational responses precede the real one
		return
	}
	if !rw.commit(code) {
		return
	}
	rw.w.WriteHeader(code)
}

// Write implements [http.ResponseWriter]. After a failed commit it discards
// p and returns [ErrResponseReplaced].
func (rw *ResponseWriter) Write(p []byte) (int, error) {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.failed {
		return 0, ErrResponseReplaced
	}
	return rw.w.Write(p)
}

// ReadFrom lets io.Copy use the underlying writer's fast path (sendfile).
func (rw *ResponseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.failed {
		return 0, ErrResponseReplaced
	}
	if rf, ok := rw.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{rw.w}, r)
}

type writerOnly struct{ io.Writer }

// Flush commits the session if needed and flushes the underlying writer.
func (rw *ResponseWriter) Flush() { _ = rw.FlushError() }

// FlushError is Flush for [http.ResponseController], returning its error.
func (rw *ResponseWriter) FlushError() error {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.failed {
		return ErrResponseReplaced
	}
	return http.NewResponseController(rw.w).Flush()
}

// Hijack commits the session (as for a 101 response) and hijacks the
// underlying connection.
func (rw *ResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !rw.wroteHeader {
		if !rw.commit(http.StatusSwitchingProtocols) {
			return nil, nil, ErrResponseReplaced
		}
	}
	return http.NewResponseController(rw.w).Hijack()
}

// Unwrap returns the wrapped writer, for [http.ResponseController].
func (rw *ResponseWriter) Unwrap() http.ResponseWriter { return rw.w }

// Finish commits the session if the handler wrote nothing, so the cookie
// goes out with net/http's implicit 200.
func (rw *ResponseWriter) Finish() {
	if rw.wroteHeader {
		return
	}
	rw.commit(http.StatusOK) // net/http's implicit 200
}
