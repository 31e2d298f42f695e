package compositiontest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/internal/teststores"
)

// packageName matches the "name: " a message of one of the module's
// packages begins with.
var packageName = regexp.MustCompile(`\b(cloakroom|cachedstore|gormstore|memcachestore|hashkeys|observe|encrypt|djangocodec|cookiestore|filestore|memstore|csrf|sqlitedb): `)

// TestStackErrorsNameEachPackageOnce: when the database under a stack of
// wrappers fails, every error a handler or an operator sees names each
// package of the stack at most once, whatever the depth, and still wraps
// the database's own error.
func TestStackErrorsNameEachPackageOnce(t *testing.T) {
	newCache := memcachedCache(t)
	for _, w := range append([]wrapper{{name: "plain", wrap: func(t *testing.T, in, _ core.Store) core.Store { return in }}}, wrappers()...) {
		t.Run(w.name, func(t *testing.T) {
			db := teststores.SQLite(t)
			st := w.wrap(t, teststores.Gorm(t, db, gormstore.WithVersioning(), gormstore.WithUserIndex()), newCache(t))
			cfg := core.DefaultConfig()
			cfg.Optimistic = true
			cfg.Logger = quietLogger(t)
			m, err := core.New(st, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var x core.Exchange
			m.Begin(&x, httptest.NewRequest("GET", "/", nil))
			if err := x.Session().Login("ann"); err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			if !x.Commit(rec, 200) {
				t.Fatal("commit failed")
			}
			cookie := strings.SplitN(rec.Header().Get("Set-Cookie"), ";", 2)[0]
			sqlDB, err := db.DB()
			if err != nil {
				t.Fatal(err)
			}
			_ = sqlDB.Close() // the database goes away

			session := func() *core.Session {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("Cookie", cookie)
				var x core.Exchange
				m.Begin(&x, r)
				return x.Session()
			}
			ctx := context.Background()
			errs := map[string]error{
				"set": session().Set("n", 1), // the load fails, unless a cached copy answers
				"save": func() error {
					s := session()
					s.MarkModified()
					return s.Save(ctx)
				}(),
				"flush":         session().Flush(),
				"ping":          m.Ping(ctx),
				"logout-all":    func() error { _, err := m.LogoutEverywhere(ctx, "ann"); return err }(),
				"clear-expired": func() error { _, err := st.(core.ExpiredClearer).ClearExpired(ctx); return err }(),
			}
			for op, err := range errs {
				if err == nil {
					if op == "set" && strings.Contains(w.name, "cached") {
						continue // the cached copy answered the load
					}
					t.Errorf("%s: no error with the database closed", op)
					continue
				}
				if !strings.Contains(err.Error(), "database is closed") {
					t.Errorf("%s: %q lost the database's error", op, err)
				}
				// Joined errors (errors.Join) are one per line.
				for _, line := range strings.Split(err.Error(), "\n") {
					seen := map[string]bool{}
					for _, m := range packageName.FindAllStringSubmatch(line, -1) {
						if seen[m[1]] {
							t.Errorf("%s: %q names %s more than once", op, line, m[1])
						}
						seen[m[1]] = true
					}
				}
			}
		})
	}
}

// quietLogger sends a manager's log to the test's log.
func quietLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}
