package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// healthTimeout bounds the store check of /healthz and of the start.
const healthTimeout = time.Second

// healthz answers 200 "ok" when the session store answers
// [core.Manager.Ping] within healthTimeout, and 503 with a short text
// otherwise; the store's error goes to the log, not to the client. A store
// with nothing to ping (memory, cookie) is always healthy; the file store
// checks its directory.
func (a *App) healthz(w http.ResponseWriter, r *http.Request, _ *core.Session) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	if err := a.m.Ping(ctx); err != nil {
		a.log.Warn("healthz: the session store does not answer", "store", a.storeName, "error", err)
		http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// warnIfStoreDown pings the store once at start. A store that does not
// answer is logged, not fatal: a cache may come up later, and /healthz
// reports 503 until it does.
func warnIfStoreDown(ctx context.Context, m *core.Manager, store string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	if err := m.Ping(ctx); err != nil {
		log.Warn("the session store does not answer; serving anyway, /healthz answers 503 until it does", "store", store, "error", err)
	}
}
