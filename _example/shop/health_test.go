package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
)

// logBuffer collects a slog text log written from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newTestShop builds the shop as serve does (newShop), for one store and
// framework, with the cheapest bcrypt cost, without listening.
func newTestShop(t *testing.T, o options, log *slog.Logger) *App {
	t.Helper()
	if o.framework == "" {
		o.framework = "gin"
	}
	if o.bcryptCost == 0 {
		o.bcryptCost = bcrypt.MinCost
	}
	if o.table == "" {
		o.table = gormstore.DefaultTableName
	}
	if o.driver == "" {
		o.driver = "sqlite"
	}
	if (o.kind == "gorm" || o.kind == "cached") && o.dsn == "" {
		o.dsn = filepath.Join(t.TempDir(), "sessions.db")
	}
	app, closeStore, err := newShop(context.Background(), o, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	return app
}

// shopHandler is newTestShop's handler.
func shopHandler(t *testing.T, o options, log *slog.Logger) http.Handler {
	t.Helper()
	return newTestShop(t, o, log).handler()
}

func getHealthz(h http.Handler) (int, string, time.Duration) {
	w := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	return w.Code, w.Body.String(), time.Since(start)
}

// /healthz pings the session store: 200 "ok" while memcached answers, 503
// with a short text when it is stopped or frozen, within healthTimeout.
func TestHealthzMemcached(t *testing.T) {
	for _, framework := range []string{"gin", "echo"} {
		t.Run(framework, func(t *testing.T) {
			srv := memcachedtest.Start(t)
			logs := &logBuffer{}
			h := shopHandler(t, options{framework: framework, storeFlags: storeFlags{kind: "memcached", servers: srv.Addr()}}, slog.New(slog.NewTextHandler(logs, nil)))

			if code, body, _ := getHealthz(h); code != http.StatusOK || body != "ok\n" {
				t.Fatalf("memcached up: %d %q, want 200 \"ok\"", code, body)
			}

			srv.Pause()
			code, body, took := getHealthz(h)
			if code != http.StatusServiceUnavailable || body != "session store unavailable\n" {
				t.Errorf("memcached paused: %d %q, want 503", code, body)
			}
			if took > healthTimeout+healthTimeout/2 {
				t.Errorf("memcached paused: /healthz took %v, want at most about %v", took, healthTimeout)
			}
			t.Logf("memcached paused: 503 after %v", took)
			srv.Resume()

			srv.Stop()
			code, body, took = getHealthz(h)
			if code != http.StatusServiceUnavailable || body != "session store unavailable\n" {
				t.Errorf("memcached stopped: %d %q, want 503", code, body)
			}
			t.Logf("memcached stopped: 503 after %v", took)
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), srv.Addr()) {
				t.Errorf("the failed health checks were not logged with their cause:\n%s", logs)
			}

			srv.Restart()
			if code, body, _ := getHealthz(h); code != http.StatusOK || body != "ok\n" {
				t.Errorf("memcached restarted: %d %q, want 200 \"ok\"", code, body)
			}
		})
	}
}

// A store with nothing to ping is healthy.
func TestHealthzMemory(t *testing.T) {
	h := shopHandler(t, options{storeFlags: storeFlags{kind: "memory"}}, slog.New(slog.DiscardHandler))
	if code, body, _ := getHealthz(h); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("memory store: %d %q, want 200 \"ok\"", code, body)
	}
}

// serve logs a warning when the store does not answer at start, and still
// serves; with memcached up it warns of nothing.
func TestStartupWarnsWhenStoreDown(t *testing.T) {
	srv := memcachedtest.Start(t)
	for _, down := range []bool{true, false} {
		if down {
			srv.Stop()
		} else {
			srv.Restart()
		}
		logs := &logBuffer{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		o := options{addr: "127.0.0.1:0", framework: "gin", bcryptCost: bcrypt.MinCost, storeFlags: storeFlags{kind: "memcached", servers: srv.Addr()}}
		go func() { done <- serve(ctx, o, slog.New(slog.NewTextHandler(logs, nil))) }()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(logs.String(), "shop listening") {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("the shop did not start (memcached down: %t):\n%s", down, logs)
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		warned := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "does not answer")
		if warned != down {
			t.Errorf("memcached down: %t; warned: %t; log:\n%s", down, warned, logs)
		}
		if down {
			t.Logf("start with memcached down:\n%s", logs)
		}
	}
}

// The cached store pings its database: with memcached stopped, sessions
// still work (from SQLite) and /healthz answers 200; the cache outage is
// in the log.
func TestHealthzCachedWithMemcachedStopped(t *testing.T) {
	srv := memcachedtest.Start(t)
	logs := &logBuffer{}
	app := newTestShop(t, options{storeFlags: storeFlags{kind: "cached", servers: srv.Addr()}}, slog.New(slog.NewTextHandler(logs, nil)))
	h := app.handler()
	if code, body, _ := getHealthz(h); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("memcached up: %d %q, want 200 \"ok\"", code, body)
	}
	srv.Stop()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusOK {
		t.Errorf("the catalogue with memcached stopped: %d, want 200 (the database keeps the sessions)", w.Code)
	}
	if code, body, _ := getHealthz(h); code != http.StatusOK || body != "ok\n" {
		t.Errorf("memcached stopped: %d %q, want 200: the database, which the cached store pings, answers", code, body)
	}
	if !strings.Contains(logs.String(), srv.Addr()) {
		t.Errorf("the cache outage is not in the log:\n%s", logs)
	}
}
