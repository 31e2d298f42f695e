// Package teststores opens every kind of store on real backends for tests:
// memory, gormstore on SQLite, PostgreSQL and MariaDB, memcached, the cached
// composition and hashed keys. PostgreSQL and MariaDB come from
// CLOAKROOM_POSTGRES_DSN and CLOAKROOM_MYSQL_DSN: without them the test is
// skipped loudly, or fails under CI=true.
package teststores

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/internal/testenv"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/filestore"
	"github.com/cloakroom/cloakroom/core/hashkeys"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/memcachestore"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Factory opens a fresh store for one test and closes it at its end.
type Factory func(t *testing.T) core.Store

// Names lists the stores in a stable order.
var Names = []string{"memory", "file", "sqlite", "postgres", "mysql", "memcached", "cached", "hashed"}

// All returns a factory per store; versioned asks gormstore for
// WithVersioning, so that every store supports core.VersionedStore (the
// cached and hashed ones through the store they wrap).
func All(versioned bool) map[string]Factory {
	var opts []gormstore.Option
	if versioned {
		opts = append(opts, gormstore.WithVersioning())
	}
	return map[string]Factory{
		"memory":    func(t *testing.T) core.Store { return memstore.New(0) },
		"sqlite":    func(t *testing.T) core.Store { return Gorm(t, SQLite(t), opts...) },
		"postgres":  func(t *testing.T) core.Store { return Gorm(t, Postgres(t), opts...) },
		"mysql":     func(t *testing.T) core.Store { return Gorm(t, MySQL(t), opts...) },
		"memcached": func(t *testing.T) core.Store { return Memcached(t, memcachedtest.Start(t).Addr()) },
		"cached": func(t *testing.T) core.Store {
			st, err := cachedstore.New(Memcached(t, memcachedtest.Start(t).Addr()), Gorm(t, SQLite(t), opts...))
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		"hashed": func(t *testing.T) core.Store { return hashkeys.Wrap(memstore.New(0)) },
		"file": func(t *testing.T) core.Store {
			st, err := filestore.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
}

func quiet() *gorm.Config { return &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)} }

func closeWith(t *testing.T, db *gorm.DB) *gorm.DB {
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	return db
}

// SQLite opens a SQLite file in the test's temporary directory.
func SQLite(t *testing.T) *gorm.DB {
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "sessions.db"), quiet())
	if err != nil {
		t.Fatal(err)
	}
	return closeWith(t, db)
}

// Postgres connects to CLOAKROOM_POSTGRES_DSN.
func Postgres(t *testing.T) *gorm.DB {
	db, err := gorm.Open(postgres.Open(testenv.Env(t, "CLOAKROOM_POSTGRES_DSN")), quiet())
	if err != nil {
		t.Fatal(err)
	}
	return closeWith(t, db)
}

// MySQL connects to CLOAKROOM_MYSQL_DSN.
func MySQL(t *testing.T) *gorm.DB {
	db, err := gorm.Open(mysql.Open(testenv.Env(t, "CLOAKROOM_MYSQL_DSN")), quiet())
	if err != nil {
		t.Fatal(err)
	}
	return closeWith(t, db)
}

// Gorm returns a gormstore on a table of its own, dropped at the end.
func Gorm(t *testing.T, db *gorm.DB, opts ...gormstore.Option) *gormstore.Store {
	table := "cloakroom_t_" + strings.ToLower(rand.Text()[:12])
	st, err := gormstore.New(context.Background(), db, append([]gormstore.Option{gormstore.WithTableName(table)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(); _ = db.Migrator().DropTable(table) })
	return st
}

// Memcached returns a memcachestore on addr.
func Memcached(t *testing.T, addr string) *memcachestore.Store {
	st, err := memcachestore.NewServers([]string{addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}
