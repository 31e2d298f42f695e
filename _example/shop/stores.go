package main

import (
	"context"
	"fmt"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
	"github.com/cloakroom/cloakroom/memcachestore"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// storeKinds lists the -store values.
var storeKinds = []string{"sqlite", "memory", "file", "cookie", "memcached", "cached"}

// openManager builds the session manager for the chosen store. close
// releases what it opened.
func openManager(ctx context.Context, o options) (m *core.Manager, close func(), err error) {
	cfg := core.DefaultConfig()
	nop := func() {}
	// withStore turns on optimistic versioning wherever the store supports
	// it (memory, SQLite with versioning, memcached's CAS, the cached
	// composition through SQLite), so parallel cart updates lose nothing.
	withStore := func(st core.Store) (*core.Manager, error) {
		cfg.Optimistic = core.Supports(st, core.CapVersioning)
		return core.New(st, cfg)
	}
	switch o.store {
	case "memory":
		m, err = withStore(memstore.New(0))
		return m, nop, err
	case "sqlite":
		st, closeDB, err := openSQLite(ctx, o.db)
		if err != nil {
			return nil, nil, err
		}
		m, err = withStore(st)
		return m, closeDB, err
	case "memcached":
		mc, err := memcachestore.NewServers([]string{o.memcached})
		if err != nil {
			return nil, nil, err
		}
		m, err = withStore(mc)
		return m, func() { _ = mc.Close() }, err
	case "cached":
		st, closeDB, err := openSQLite(ctx, o.db)
		if err != nil {
			return nil, nil, err
		}
		mc, err := memcachestore.NewServers([]string{o.memcached})
		if err != nil {
			closeDB()
			return nil, nil, err
		}
		cached, err := cachedstore.New(mc, st)
		if err != nil {
			closeDB()
			return nil, nil, err
		}
		m, err = withStore(cached)
		return m, func() { _ = mc.Close(); closeDB() }, err
	case "file", "cookie":
		return openLocal(o, cfg)
	}
	return nil, nil, fmt.Errorf("unknown store %q", o.store)
}

// openSQLite opens the embedded SQLite database with a user index, so the
// password page can sign a user out everywhere, versioning for optimistic
// cart updates, and a background cleaner.
func openSQLite(ctx context.Context, path string) (*gormstore.Store, func(), error) {
	db, err := sqlitedb.Open(path, &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
	if err != nil {
		return nil, nil, err
	}
	st, err := gormstore.New(ctx, db, gormstore.WithUserIndex(), gormstore.WithVersioning(), gormstore.WithCleanup(time.Hour))
	if err != nil {
		return nil, nil, err
	}
	sqlDB, _ := db.DB()
	return st, func() { _ = st.Close(); _ = sqlDB.Close() }, nil
}
