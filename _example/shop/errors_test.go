package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// failingStore is a memory store whose saves fail with err, or, with err
// nil, hang until the call's deadline.
type failingStore struct {
	core.Store
	err error
}

func (s failingStore) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	if s.err == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	return s.err
}

// A session that cannot be saved gets the shop's own error page, with the
// statuses of core.DefaultErrorHandler: 400 for a session deleted by a
// concurrent request, 503 and Retry-After for a store that did not answer
// in time, 500 otherwise.
func TestSessionErrorPage(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		status     int
		retryAfter string
		title      string
	}{
		{"deleted concurrently", core.ErrSessionDeleted, http.StatusBadRequest, "", "Signed out meanwhile"},
		{"store timeout", nil, http.StatusServiceUnavailable, "1", "Back in a moment"},
		{"store failure", errors.New("disk on fire"), http.StatusInternalServerError, "", "Something went wrong"},
	}
	for _, framework := range []string{"gin", "echo"} {
		for _, tc := range cases {
			t.Run(framework+"/"+tc.name, func(t *testing.T) {
				u, err := newUsers(bcrypt.MinCost)
				if err != nil {
					t.Fatal(err)
				}
				logs := &logBuffer{}
				app, err := newApp(u, bcrypt.MinCost, "failing", framework, slog.New(slog.NewTextHandler(logs, nil)))
				if err != nil {
					t.Fatal(err)
				}
				cfg := app.sessionConfig()
				cfg.StoreTimeout = 50 * time.Millisecond
				if app.m, err = core.New(failingStore{memstore.New(0), tc.err}, cfg); err != nil {
					t.Fatal(err)
				}
				w := httptest.NewRecorder()
				r := httptest.NewRequest("GET", "/", nil)
				r.AddCookie(&http.Cookie{Name: themeCookie, Value: "dark"})
				app.handler().ServeHTTP(w, r)
				body := w.Body.String()
				if w.Code != tc.status || w.Header().Get("Retry-After") != tc.retryAfter {
					t.Errorf("status %d, Retry-After %q; want %d, %q", w.Code, w.Header().Get("Retry-After"), tc.status, tc.retryAfter)
				}
				if !strings.Contains(body, "Cloakroom Tea Co.") || !strings.Contains(body, tc.title) || !strings.Contains(body, `data-theme="dark"`) {
					t.Errorf("not the shop's error page (in the visitor's theme):\n%.600s", body)
				}
				if strings.Contains(body, "disk on fire") || strings.Contains(body, "Fine teas") {
					t.Errorf("the page shows the error or the page that failed:\n%.600s", body)
				}
				// One log format: the manager's error and the request line
				// are both slog text records.
				for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
					if !strings.HasPrefix(line, "time=") {
						t.Errorf("a log line not from the shop's slog handler: %q", line)
					}
				}
				if !strings.Contains(logs.String(), "msg=request") || !strings.Contains(logs.String(), fmt.Sprintf("status=%d", tc.status)) {
					t.Errorf("no request log line:\n%s", logs)
				}
			})
		}
	}
}

// Unknown pages and panics get the shop's page too, and the log.
func TestNotFoundAndPanicPages(t *testing.T) {
	for _, framework := range []string{"gin", "echo"} {
		t.Run(framework, func(t *testing.T) {
			logs := &logBuffer{}
			app := newTestShop(t, options{framework: framework, storeFlags: storeFlags{kind: "memory"}}, slog.New(slog.NewTextHandler(logs, nil)))
			h := app.handler()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/no-such-page", nil))
			if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "Cloakroom Tea Co.") {
				t.Errorf("unknown page: %d %.300q", w.Code, w.Body.String())
			}
			routes := append(app.routes(), route{"GET", "/panic", func(http.ResponseWriter, *http.Request, *core.Session) { panic("boom") }})
			h = app.logRequests(ginHandler(app, routes))
			if framework == "echo" {
				h = app.logRequests(echoHandler(app, routes))
			}
			w = httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/panic", nil))
			if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "Cloakroom Tea Co.") {
				t.Errorf("panic: %d %.300q", w.Code, w.Body.String())
			}
			if !strings.Contains(logs.String(), `panic=boom`) || !strings.Contains(logs.String(), "stack=") {
				t.Errorf("the panic is not in the log with its stack:\n%s", logs)
			}
		})
	}
}
