package cacheddbtest

import (
	"context"
	"path/filepath"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/storetest"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/internal/outagetest"
)

// sqliteStore opens a gormstore over a fresh SQLite file.
func sqliteStore(t *testing.T) *gormstore.Store {
	t.Helper()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "sessions.db"),
		&gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := gormstore.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = st.Close()
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	return st
}

func TestConformanceMemcachedOverSQLite(t *testing.T) {
	_, addrs := memcachedtest.StartN(t, 3)
	db := sqliteStore(t)
	storetest.Run(t, func(t *testing.T) core.Store {
		st, err := cachedstore.New(memcachedtest.Open(t, addrs), db)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}, storetest.Options{})
}

// TestCartOutageSQLite is the fault test: memcached killed (then
// restarted empty) or frozen (then resumed with stale data) in the middle of
// a run of "add item to cart" operations over a durable SQLite database.
func TestCartOutageSQLite(t *testing.T) {
	for _, fault := range []outagetest.Fault{outagetest.Kill, outagetest.Pause} {
		t.Run(fault.String(), func(t *testing.T) { outagetest.Cart(t, sqliteStore(t), fault) })
	}
}
