package core

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// This file is the adapter contract: everything a framework adapter
// (ginsession, echosession, [Manager.Handler], or one of your own) uses,
// and nothing a handler needs. An adapter gives each request a lazy
// [Session] and commits it exactly once, just before the first byte of the
// response goes out, in one of two ways:
//
//   - It wraps the framework's [http.ResponseWriter] in a
//     [ResponseWriter] from [Manager.Wrap], hands the handler
//     ResponseWriter.Session, calls ResponseWriter.Finish when the handler
//     returns, and may call ResponseWriter.Release to recycle the writer
//     of a request whose session was never handed out. net/http and Echo
//     work this way.
//   - It keeps an [Exchange] in a writer of its own (prepared by
//     [Manager.Begin]) and calls Exchange.Commit before every call that
//     sends the status line or body, and once more when the handler
//     returns. Gin works this way: its writer only records the status
//     until the first real write.
//
// Either way the commit follows Django's SessionMiddleware (see
// Exchange.Commit), and when it fails the manager's error handler writes
// the response instead; the handler's later writes then get
// [ErrResponseReplaced].

// Exchange is one request's session and the state of its commit, for a
// framework adapter (see the adapter contract above). Its zero value is
// ready for [Manager.Begin]; an adapter may embed it in a per-request
// struct to save an allocation, and reuse it after [Exchange.Reset].
type Exchange struct {
	s      Session
	status int // the status sent downstream, 0 before any
	state  exchangeState
	shared atomic.Bool // Session was called: the session may be held and used elsewhere
}

type exchangeState uint8

const (
	exchangeOpen      exchangeState = iota // not committed yet
	exchangeCommitted                      // committed: the handler's response goes out
	exchangeFailed                         // not committed: the error handler answered
)

// Begin prepares x, which must be zero or Reset, for request r. It touches
// neither the store nor the cookie: the session cookie is examined the
// first time the session is used (or at the commit), so a request that
// never touches its session pays for nothing but Begin and the commit.
//
// The session then keeps the first acceptable value of the session cookie
// (a valid key, or for a cookie store a value of cookie characters that
// fits a cookie); values that are not are never handed to a store. When
// the request carried several acceptable values (a sibling domain planted
// its own: "sessionid=planted; sessionid=real"), the first load tries them
// in order, at most [MaxSessionCookies] of them, and uses the first that
// loads; the commit deletes the cookie only when none loaded, so a planted
// value never gets the real session deleted.
func (m *Manager) Begin(x *Exchange, r *http.Request) {
	x.s.m = m
	x.s.req = r
}

// Session returns the request's session.
func (x *Exchange) Session() *Session {
	if !x.shared.Load() {
		x.shared.Store(true)
	}
	return &x.s
}

// Commit commits the session for a response with the given status, just
// before w's headers go out, and reports whether the handler's response may
// go out. It applies the response rules of Django's SessionMiddleware to
// w's headers: Vary: Cookie when the session was accessed; the cookie
// deleted when the request carried one and the session is now empty;
// otherwise, when the session was modified (or [Config.SaveEveryRequest]),
// a save and a fresh cookie, unless status is 500 or above.
//
// When the session cannot be committed, Commit logs the error (not for
// [ErrSessionDeleted], a client's race), hands it to the manager's error
// handler, which writes the response through w, and returns false: the
// adapter must then drop the handler's own status and body. Commit runs
// once; later calls return the first result. Like an
// [http.ResponseWriter], an Exchange is used by one goroutine at a time.
func (x *Exchange) Commit(w http.ResponseWriter, status int) bool {
	if x.state != exchangeOpen { // inlined: adapters call Commit before every write
		return x.state == exchangeCommitted
	}
	return x.commit(w, status)
}

// commit is Commit's first call.
func (x *Exchange) commit(w http.ResponseWriter, status int) bool {
	s := &x.s
	if !x.shared.Load() && !s.m.cfg.SaveEveryRequest {
		// Nobody was given the session, so nobody used it or holds it:
		// nothing to commit, no lock to take, no cookie to read.
		s.committed = true
		x.state, x.status = exchangeCommitted, status
		return true
	}
	var err error
	s.mu.Lock()        // not lock(): a session never used need not read its cookie
	s.committed = true // from now on changes are refused (ErrResponseStarted)
	if s.scanned || s.m.cfg.SaveEveryRequest {
		err = s.commitLocked(w.Header(), status)
	} // else never used: nothing to commit, and the cookie is not examined
	s.mu.Unlock()
	if err != nil {
		x.fail(w, err)
		return false
	}
	x.state, x.status = exchangeCommitted, status
	return true
}

// fail records that the commit failed with err, logs err (not
// [ErrSessionDeleted], a client's race) and lets the error handler answer
// through w.
func (x *Exchange) fail(w http.ResponseWriter, err error) {
	x.state = exchangeFailed
	s := &x.s
	if !errors.Is(err, ErrSessionDeleted) {
		s.m.logError(s.context(), "cloakroom: session not committed", err)
	}
	s.m.cfg.ErrorHandler(&errorWriter{w: w, x: x}, s.req, err)
}

// Committed reports whether Commit ran, successfully or not. An adapter
// checks it before computing the status it would pass to Commit.
func (x *Exchange) Committed() bool { return x.state != exchangeOpen }

// Failed reports whether the session could not be committed, so that the
// error handler answered instead of the handler.
func (x *Exchange) Failed() bool { return x.state == exchangeFailed }

// Reset makes x zero again, for its next request. Nothing the request got
// from x (its session) may be used afterwards.
func (x *Exchange) Reset() {
	if !x.shared.Load() && !x.s.scanned {
		// The session was never handed out or read: only Begin and the
		// commit wrote to x (TestResetClearsEverything).
		x.s.m, x.s.req, x.s.committed = nil, nil, false
		x.status, x.state = 0, exchangeOpen
		return
	}
	*x = Exchange{}
}

// errorWriter is the writer the error handler gets when a commit fails: it
// records the status the handler sends, for [ResponseWriter.Status].
type errorWriter struct {
	w http.ResponseWriter
	x *Exchange
}

func (ew *errorWriter) Header() http.Header { return ew.w.Header() }

func (ew *errorWriter) WriteHeader(code int) {
	if ew.x.status == 0 && code >= 200 {
		ew.x.status = code
	}
	ew.w.WriteHeader(code)
}

func (ew *errorWriter) Write(p []byte) (int, error) {
	if ew.x.status == 0 {
		ew.x.status = http.StatusOK
	}
	return ew.w.Write(p)
}

// Unwrap lets an error handler reach the underlying writer through
// [http.ResponseController].
func (ew *errorWriter) Unwrap() http.ResponseWriter { return ew.w }

// ResponseWriter wraps an [http.ResponseWriter] so that the request's
// session commits just before the status line goes out. Get one from
// [Manager.Wrap]. The response body is not buffered: flushing, hijacking
// and [http.ResponseController] keep working.
type ResponseWriter struct {
	w http.ResponseWriter
	x Exchange
}

// writers recycles the ResponseWriters of requests that never handed their
// session out (see ResponseWriter.Release).
var writers = sync.Pool{New: func() any { return new(ResponseWriter) }}

// Wrap starts the lazy session for r (see [Manager.Begin]) and returns w
// wrapped so that the session commits before the headers are written. Call
// Finish when the handler returns.
func (m *Manager) Wrap(w http.ResponseWriter, r *http.Request) *ResponseWriter {
	rw := writers.Get().(*ResponseWriter)
	rw.w = w
	m.Begin(&rw.x, r)
	return rw
}

// Session returns the session the writer commits. Once it was called, the
// writer is never recycled by Release.
func (rw *ResponseWriter) Session() *Session { return rw.x.Session() }

// Status returns the status code sent to the client: the handler's, or the
// error handler's when the commit failed and it answered instead. It is 0
// before the commit and for an error handler that wrote nothing, and
// [http.StatusOK] for a response that wrote a body without a status.
// Adapters use it to correct the status their framework's response
// recorded.
func (rw *ResponseWriter) Status() int { return rw.x.status }

// Failed reports whether the session could not be committed, so that the
// error handler answered instead of the handler.
func (rw *ResponseWriter) Failed() bool { return rw.x.Failed() }

// Finish commits the session if the handler wrote nothing, so the cookie
// goes out with net/http's implicit 200.
func (rw *ResponseWriter) Finish() {
	if !rw.x.Committed() {
		rw.x.Commit(rw.w, http.StatusOK) // net/http's implicit 200
	}
}

// Release returns rw for reuse by a later request when that is safe: the
// session was committed and never handed out (Session was not called).
// Otherwise it does nothing. Call it after Finish, once nothing holds rw
// any more (an adapter that installed rw in its framework's response puts
// the original writer back first); rw must not be used afterwards.
func (rw *ResponseWriter) Release() {
	if rw.x.shared.Load() || rw.x.state != exchangeCommitted {
		return
	}
	rw.w = nil
	rw.x.Reset()
	writers.Put(rw)
}

// Header implements [http.ResponseWriter].
func (rw *ResponseWriter) Header() http.Header { return rw.w.Header() }

// WriteHeader commits the session, then writes the status, unless the
// commit failed and the error handler answered instead.
func (rw *ResponseWriter) WriteHeader(code int) {
	if rw.x.Committed() {
		if !rw.x.Failed() {
			rw.w.WriteHeader(code) // let net/http report the superfluous call
		}
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		rw.w.WriteHeader(code) // informational responses precede the real one
		return
	}
	if rw.x.Commit(rw.w, code) {
		rw.w.WriteHeader(code)
	}
}

// started commits the session with an implicit 200 if nothing was sent
// yet, and reports whether the handler's response may go out.
func (rw *ResponseWriter) started() bool {
	if !rw.x.Committed() {
		rw.WriteHeader(http.StatusOK)
	}
	return !rw.x.Failed()
}

// Write implements [http.ResponseWriter]. After a failed commit it discards
// p and returns [ErrResponseReplaced].
func (rw *ResponseWriter) Write(p []byte) (int, error) {
	if !rw.started() {
		return 0, ErrResponseReplaced
	}
	return rw.w.Write(p)
}

// ReadFrom lets io.Copy use the underlying writer's fast path (sendfile).
func (rw *ResponseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !rw.started() {
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
	if !rw.started() {
		return ErrResponseReplaced
	}
	return http.NewResponseController(rw.w).Flush()
}

// Hijack commits the session (as for a 101 response) and hijacks the
// underlying connection.
func (rw *ResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !rw.x.Commit(rw.w, http.StatusSwitchingProtocols) {
		return nil, nil, ErrResponseReplaced
	}
	return http.NewResponseController(rw.w).Hijack()
}

// Unwrap returns the wrapped writer, for [http.ResponseController].
func (rw *ResponseWriter) Unwrap() http.ResponseWriter { return rw.w }
