// Package ginsession attaches cloakroom sessions to Gin requests.
//
//	m, err := core.New(store, core.DefaultConfig())
//	r := gin.New()
//	r.Use(ginsession.Middleware(m))
//	r.GET("/", func(c *gin.Context) {
//		s := ginsession.Get(c)
//		n, _, _ := core.GetAs[int](s, "visits")
//		_ = s.Set("visits", n+1)
//	})
//
// The session loads lazily and commits just before the response headers go
// out, following Django's rules (see package core).
package ginsession

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/internal/unwrap"
	"github.com/gin-gonic/gin"
)

// ContextKey is the gin.Context key under which the session is published
// once a handler has looked it up, so that c.Copy() carries it.
const ContextKey = "github.com/cloakroom/cloakroom/session"

// Middleware returns Gin middleware that attaches m's lazy session to each
// request and commits it before the response is written. When the commit
// fails, m's error handler writes the response and the handler's own status
// and body are dropped.
//
// A request whose handlers never look the session up allocates nothing and
// calls no store: the session travels in the response writer the
// middleware installs, which is reused by a later request when nothing
// outside the middleware saw it. The session is published under
// [ContextKey] (which makes Gin allocate its Keys map) only by the first
// [Get] or [Lookup], or at once when c.Keys already exists.
//
// Middleware panics when m is nil.
//
//go:noinline
func Middleware(m *core.Manager) gin.HandlerFunc {
	// Not inlined into the caller: the returned closure is then compiled
	// here, with core's adapter calls inlined into it.
	if m == nil {
		panic("ginsession: Middleware needs a manager, not nil")
	}
	return func(c *gin.Context) {
		w := writers.Get().(*writer)
		inner := c.Writer
		w.ResponseWriter = inner
		m.Begin(&w.x, c.Request)
		c.Writer = w
		if c.Keys != nil { // no map to allocate: publish now
			w.publish(c)
		}
		c.Next()
		if w.start(); !w.x.Failed() && c.Writer == w && !w.published.Load() {
			// Nothing outside this function ever saw the session, and no
			// later middleware kept the writer: hand Gin its own writer
			// back and reuse ours.
			c.Writer = inner
			w.reset()
			writers.Put(w)
		}
	}
}

// writers recycles the writers of requests whose handlers never looked the
// session up: such a request allocates nothing.
var writers = sync.Pool{New: func() any { return new(writer) }}

// Get returns the request's session. It panics if [Middleware] is not
// installed, a programming error like a failed gin.Context.MustGet.
func Get(c *gin.Context) *core.Session {
	s, err := Lookup(c)
	if err != nil {
		panic(err)
	}
	return s
}

// Lookup returns the request's session, or an error wrapping
// [core.ErrNoSession] when [Middleware] is not installed.
//
// It finds the session in the writer [Middleware] installed, also when a
// later middleware wrapped c.Writer (by embedding gin.ResponseWriter, as
// gzip middleware does, or behind an Unwrap method), or under [ContextKey].
// A goroutine given c.Copy() finds it when the handler looked the session up
// before copying.
func Lookup(c *gin.Context) (*core.Session, error) {
	if w, ok := c.Writer.(*writer); ok { // fast path: no lock, no map
		w.publish(c)
		return w.x.Session(), nil
	}
	if v, ok := c.Get(ContextKey); ok {
		if s, ok := v.(*core.Session); ok {
			return s, nil
		}
	}
	if w, ok := unwrap.Find[*writer](c.Writer); ok {
		w.publish(c)
		return w.x.Session(), nil
	}
	return nil, core.ErrNoSession
}

// writer commits the session before Gin writes the status line, through
// core's adapter contract (core.Exchange). Gin's own WriteHeader only
// records the status, so the commit happens at the first real write
// (WriteHeaderNow, Write, WriteString, Flush, Hijack) or after the handlers
// return.
type writer struct {
	gin.ResponseWriter
	x         core.Exchange
	published atomic.Bool // the session is in c.Keys
}

// publish puts the session in c.Keys, once, also when several goroutines of
// the handler look the session up at the same time.
func (w *writer) publish(c *gin.Context) {
	if !w.published.Load() && w.published.CompareAndSwap(false, true) {
		c.Set(ContextKey, w.x.Session())
	}
}

// reset makes w, whose session was never published, a zero writer for
// its next request.
func (w *writer) reset() {
	w.ResponseWriter = nil
	w.x.Reset()
}

// start commits the session, once, with the status Gin is about to send;
// the caller then checks w.x.Failed. Inlined: after the commit Gin is not
// asked for the status again.
func (w *writer) start() {
	if !w.x.Committed() {
		w.commit()
	}
}

// commit is start's first call.
func (w *writer) commit() { w.x.Commit(w.ResponseWriter, w.ResponseWriter.Status()) }

func (w *writer) WriteHeaderNow() {
	if w.start(); !w.x.Failed() {
		w.ResponseWriter.WriteHeaderNow()
	}
}

func (w *writer) WriteHeader(code int) {
	if w.x.Failed() {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(p []byte) (int, error) {
	if w.start(); w.x.Failed() {
		return 0, core.ErrResponseReplaced
	}
	return w.ResponseWriter.Write(p)
}

func (w *writer) WriteString(s string) (int, error) {
	if w.start(); w.x.Failed() {
		return 0, core.ErrResponseReplaced
	}
	return w.ResponseWriter.WriteString(s)
}

func (w *writer) Flush() {
	if w.start(); !w.x.Failed() {
		w.ResponseWriter.Flush()
	}
}

func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.x.Commit(w.ResponseWriter, http.StatusSwitchingProtocols) {
		return nil, nil, core.ErrResponseReplaced
	}
	return w.ResponseWriter.Hijack()
}

// Unwrap returns Gin's writer, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
