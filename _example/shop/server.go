package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/cloakroom/cloakroom/echosession"
	"github.com/cloakroom/cloakroom/ginsession"
	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// handler serves the shop with the chosen framework, behind the request
// log.
func (a *App) handler() http.Handler {
	if a.framework == "echo" {
		return a.logRequests(echoHandler(a, a.routes()))
	}
	return a.logRequests(ginHandler(a, a.routes()))
}

// ginHandler serves the shop with Gin: panic recovery, the session
// middleware, then CSRF protection, then the shared pages. Gin's own
// logger is not used (the request log is logRequests), and its recovery
// writes to the shop's log.
func ginHandler(a *App, routes []route) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, v any) {
		a.panicked(c.Writer, c.Request, v)
		c.Abort()
	}), ginsession.Middleware(a.m), ginsession.CSRF())
	for _, rt := range routes {
		h := rt.h
		r.Handle(rt.method, rt.path, func(c *gin.Context) { h(c.Writer, c.Request, ginsession.Get(c)) })
	}
	r.NoRoute(func(c *gin.Context) { a.notFound(c.Writer, c.Request) })
	return r
}

// echoHandler serves the shop with Echo, the same way: its recovery and
// its error handler write to the shop's log and show the shop's pages.
func echoHandler(a *App, routes []route) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard) // Echo logs nothing the handlers below do not
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if c.Response().Committed {
			a.log.Warn("shop: error after the response started", "path", c.Request().URL.Path, "error", err)
			return
		}
		var he *echo.HTTPError
		switch {
		case errors.As(err, &he) && he.Code == http.StatusNotFound, errors.As(err, &he) && he.Code == http.StatusMethodNotAllowed:
			a.notFound(c.Response(), c.Request())
		case errors.As(err, &he) && he.Code < 500:
			a.errorPage(c.Response(), c.Request(), he.Code, http.StatusText(he.Code), fmt.Sprint(he.Message))
		default:
			a.log.Error("shop: request failed", "path", c.Request().URL.Path, "error", err)
			a.errorPage(c.Response(), c.Request(), http.StatusInternalServerError, "Something went wrong", "Please try again.")
		}
	}
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableErrorHandler: true,
		DisablePrintStack:   true, // panicked logs the panicking goroutine's stack
		LogErrorFunc: func(c echo.Context, err error, _ []byte) error {
			a.panicked(c.Response(), c.Request(), err)
			return nil
		},
	}), echosession.Middleware(a.m), echosession.CSRF())
	for _, rt := range routes {
		h := rt.h
		e.Add(rt.method, rt.path, func(c echo.Context) error {
			h(c.Response(), c.Request(), echosession.Get(c))
			return nil
		})
	}
	return e
}

// panicked logs a handler's panic with its stack and answers 500 with the
// shop's page.
func (a *App) panicked(w http.ResponseWriter, r *http.Request, v any) {
	a.log.Error("shop: handler panicked", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	a.errorPage(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again.")
}

func (a *App) notFound(w http.ResponseWriter, r *http.Request) {
	a.errorPage(w, r, http.StatusNotFound, "Not found", "There is no such page in the shop.")
}

// logRequests is the request log, in the shop's one log: method, path,
// status, size and duration of every request (health checks at debug
// level, so a load balancer's probes do not drown the log).
func (a *App) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		if rw.status == 0 {
			rw.status = http.StatusOK
		}
		level := slog.LevelInfo
		switch {
		case rw.status >= 500:
			level = slog.LevelError
		case r.URL.Path == "/healthz" && rw.status == http.StatusOK:
			level = slog.LevelDebug
		}
		a.log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", rw.status),
			slog.Int("bytes", rw.bytes), slog.Duration("duration", time.Since(start)))
	})
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status, bytes int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
