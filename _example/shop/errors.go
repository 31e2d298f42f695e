package main

import (
	"errors"
	"net/http"
	"strings"

	"github.com/cloakroom/cloakroom/core"
)

// sessionConfig is the session configuration of the shop: Django's
// defaults, the shop's log, and the shop's own error page when a session
// cannot be saved. openManager adds the store's atomic mode.
func (a *App) sessionConfig() core.Config {
	cfg := core.DefaultConfig()
	cfg.Logger = a.log
	cfg.ErrorHandler = a.sessionError
	return cfg
}

// sessionError is the session manager's error handler
// (core.Config.ErrorHandler): the shop's error page, with the statuses of
// core.DefaultErrorHandler. 400 when the session was deleted by a
// concurrent request (signed out in another tab), 503 with Retry-After when
// the store did not answer in time (a passing condition), and 500 for any
// other failure. The manager has logged the error; the visitor never sees
// it.
func (a *App) sessionError(w http.ResponseWriter, r *http.Request, err error) {
	h := w.Header()
	// What the handler set for its own body does not describe this one.
	h.Del("Content-Encoding")
	h.Del("Etag")
	h.Del("Last-Modified")
	switch {
	case errors.Is(err, core.ErrSessionDeleted):
		a.errorPage(w, r, http.StatusBadRequest, "Signed out meanwhile",
			"Your session ended while this page was on its way: you may have signed out in another tab. Please go back and try again.")
	case errors.Is(err, core.ErrStoreTimeout):
		h.Set("Retry-After", "1")
		a.errorPage(w, r, http.StatusServiceUnavailable, "Back in a moment",
			"The shop is having trouble remembering things right now. Please try again in a moment; nothing was lost.")
	default:
		a.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
			"The shop could not keep what you just did. Please try again.")
	}
}

// fail answers a session change or read that failed in a handler: 413 with
// the shop's own page when the visitor sent more than a session may hold
// (core.ErrTooLarge: nothing was stored, the session is as it was), and
// otherwise what the session error handler answers.
func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, core.ErrTooLarge) {
		a.log.Warn("shop: session change refused", "error", err)
		a.errorPage(w, r, http.StatusRequestEntityTooLarge, "Too much to remember",
			"What you entered is too long for us to keep. Please shorten it and try again; your cart is still there.")
		return
	}
	a.log.Error("shop: request failed", "path", r.URL.Path, "error", err)
	a.sessionError(w, r, err)
}

// errorPage writes the shop's error page without touching the session,
// which may be what failed.
func (a *App) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	var buf strings.Builder
	p := page{Title: title, Theme: theme(r), Store: a.storeName, Framework: a.framework, Data: msg}
	if err := a.tmpl["error"].Execute(&buf, p); err != nil {
		a.log.Error("shop: rendering the error page", "error", err)
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}
