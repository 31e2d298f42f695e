package hardening

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/internal/testenv"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/filestore"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
	"github.com/cloakroom/cloakroom/internal/adapters"
	"github.com/cloakroom/cloakroom/internal/faultproxy"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
	"github.com/cloakroom/cloakroom/internal/teststores"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

var frameworks = []string{"net/http", "gin", "echo"}

// TestSQLiteClosed: the database handle is closed under the app, then the
// app reopens the file.
func TestSQLiteClosed(t *testing.T) {
	for _, fw := range frameworks {
		t.Run(fw, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sessions.db")
			db, err := sqlitedb.Open(path, &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
			if err != nil {
				t.Fatal(err)
			}
			st := teststores.Gorm(t, db)
			sqlDB, _ := db.DB()
			middlewaretest.Fault(t, adapters.All[fw], st, func() { _ = sqlDB.Close() }, func() core.Store {
				db2, err := sqlitedb.Open(path, &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
				if err != nil {
					t.Fatal(err)
				}
				st2, err := gormstore.New(context.Background(), db2, gormstore.WithTableName(st.TableName()))
				if err != nil {
					t.Fatal(err)
				}
				return st2
			})
		})
	}
}

// waitPing waits until db answers again after the network came back.
func waitPing(t *testing.T, db *gorm.DB) {
	sqlDB, _ := db.DB()
	deadline := time.Now().Add(10 * time.Second)
	for sqlDB.Ping() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the database did not come back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDatabaseUnreachable cuts the network between the app and a real
// PostgreSQL or MariaDB, then restores it.
func TestDatabaseUnreachable(t *testing.T) {
	cases := map[string]struct {
		env     string
		addr    *regexp.Regexp
		rewrite func(dsn, addr string) string
		open    func(dsn string) gorm.Dialector
	}{
		"postgres": {"CLOAKROOM_POSTGRES_DSN", regexp.MustCompile(`host=(\S+) port=(\d+)`),
			func(dsn, addr string) string {
				host, port, _ := splitHostPort(addr)
				return regexp.MustCompile(`host=\S+ port=\d+`).ReplaceAllString(dsn, "host="+host+" port="+port)
			}, postgres.Open},
		"mysql": {"CLOAKROOM_MYSQL_DSN", regexp.MustCompile(`tcp\(([^:]+):(\d+)\)`),
			func(dsn, addr string) string {
				return regexp.MustCompile(`tcp\([^)]*\)`).ReplaceAllString(dsn, "tcp("+addr+")")
			}, mysql.Open},
	}
	for name, c := range cases {
		for _, fw := range frameworks {
			t.Run(name+"/"+fw, func(t *testing.T) {
				dsn := testenv.Env(t, c.env)
				m := c.addr.FindStringSubmatch(dsn)
				if m == nil {
					t.Fatalf("%s has no host and port this test can proxy: %q", c.env, dsn)
				}
				proxy := faultproxy.Start(t, m[1]+":"+m[2])
				db, err := gorm.Open(c.open(c.rewrite(dsn, proxy.Addr())), &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { sqlDB, _ := db.DB(); _ = sqlDB.Close() })
				st := teststores.Gorm(t, db)
				middlewaretest.Fault(t, adapters.All[fw], st, proxy.Cut, func() core.Store {
					proxy.Restore()
					waitPing(t, db)
					return nil
				})
			})
		}
	}
}

// TestMemcachedStopped freezes the memcached process (a partition: it
// keeps its data) and lets it run again.
func TestMemcachedStopped(t *testing.T) {
	for _, fw := range frameworks {
		t.Run(fw, func(t *testing.T) {
			t.Parallel() // a memcached each; most of the time is the client's timeouts
			srv := memcachedtest.Start(t)
			st := teststores.Memcached(t, srv.Addr())
			middlewaretest.Fault(t, adapters.All[fw], st, srv.Pause, func() core.Store { srv.Resume(); return nil })
		})
	}
}

func splitHostPort(addr string) (string, string, error) {
	m := regexp.MustCompile(`^(.*):(\d+)$`).FindStringSubmatch(addr)
	return m[1], m[2], nil
}

// TestFileDirectoryGone replaces the file store's directory by a plain file
// (as a full or read-only disk would refuse writes; tests run as root, for
// whom permissions do not apply), then puts it back.
func TestFileDirectoryGone(t *testing.T) {
	for _, fw := range frameworks {
		t.Run(fw, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "sessions")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			st, err := filestore.New(dir)
			if err != nil {
				t.Fatal(err)
			}
			middlewaretest.Fault(t, adapters.All[fw], st, func() {
				if err := os.Rename(dir, dir+".away"); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
					t.Fatal(err)
				}
			}, func() core.Store {
				if err := os.Remove(dir); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(dir+".away", dir); err != nil {
					t.Fatal(err)
				}
				return nil
			})
		})
	}
}
