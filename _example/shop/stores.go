package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
	"github.com/cloakroom/cloakroom/memcachestore"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// openManager opens the store o names and builds the session manager on it
// with cfg. close releases what it opened.
//
// The atomic mode (core.Config.Optimistic, with core.Modify in the cart
// handlers) is on for every store that can version its records, so that
// parallel "add to cart" requests of one visitor lose nothing: memory,
// gorm (opened WithVersioning), memcached (its compare-and-swap) and the
// cached composition (the database's versions). The file store cannot
// version records, and the cookie store keeps no record to version: there
// the last of two concurrent writes wins, as in Django.
func openManager(ctx context.Context, o options, cfg core.Config) (m *core.Manager, close func(), err error) {
	st, close, err := openStore(ctx, o, cfg.Logger)
	if err != nil {
		return nil, nil, err
	}
	if o.kind == "cookie" {
		return openCookie(o, cfg, close)
	}
	cfg.Optimistic = core.Supports(st, core.CapVersioning)
	if m, err = core.New(st, cfg); err != nil {
		close()
		return nil, nil, err
	}
	return m, close, nil
}

// openStore opens the server-side store o names (nil for the cookie store);
// the stores that log write to log.
func openStore(ctx context.Context, o options, log *slog.Logger) (core.Store, func(), error) {
	nop := func() {}
	switch o.kind {
	case "memory":
		return memstore.New(0), nop, nil
	case "gorm":
		return openGorm(ctx, o.storeFlags, log)
	case "memcached":
		mc, err := openMemcached(o.storeFlags)
		if err != nil {
			return nil, nil, err
		}
		return mc, func() { _ = mc.Close() }, nil
	case "cached":
		db, closeDB, err := openGorm(ctx, o.storeFlags, log)
		if err != nil {
			return nil, nil, err
		}
		mc, err := openMemcached(o.storeFlags)
		if err != nil {
			closeDB()
			return nil, nil, err
		}
		cached, err := cachedstore.New(mc, db, cachedstore.WithLogger(log))
		if err != nil {
			_ = mc.Close()
			closeDB()
			return nil, nil, err
		}
		return cached, func() { _ = mc.Close(); closeDB() }, nil
	case "file":
		return openFile(o.storeFlags)
	case "redis":
		return openRedis(o.storeFlags)
	case "cookie":
		return nil, nop, nil
	}
	return nil, nil, fmt.Errorf("unknown store %q", o.kind)
}

// openGorm opens the gorm database -driver and -dsn name, with a user index
// (so the password page can sign a user out everywhere), versioning (for
// the atomic mode) and a background cleaner of expired sessions.
func openGorm(ctx context.Context, f storeFlags, log *slog.Logger) (*gormstore.Store, func(), error) {
	quiet := &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)}
	var db *gorm.DB
	var err error
	switch f.driver {
	case "sqlite":
		path := f.dsn
		if path == "" {
			path = defaultSQLitePath()
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, nil, err
			}
		}
		db, err = sqlitedb.Open(path, quiet)
	case "postgres":
		db, err = gorm.Open(postgres.Open(f.dsn), quiet)
	case "mysql":
		db, err = gorm.Open(mysql.Open(f.dsn), quiet)
	default:
		return nil, nil, fmt.Errorf("unknown -driver %q", f.driver)
	}
	if err != nil {
		return nil, nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, nil, err
	}
	st, err := gormstore.New(ctx, db, gormstore.WithTableName(f.table), gormstore.WithUserIndex(), gormstore.WithVersioning(),
		gormstore.WithCleanup(time.Hour), gormstore.WithLogger(log))
	if err != nil {
		_ = sqlDB.Close()
		return nil, nil, err
	}
	return st, func() { _ = st.Close(); _ = sqlDB.Close() }, nil
}

func openMemcached(f storeFlags) (*memcachestore.Store, error) {
	var servers []string
	for _, s := range strings.Split(f.servers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			servers = append(servers, s)
		}
	}
	if len(servers) == 0 {
		return nil, errors.New("-servers is empty")
	}
	var opts []memcachestore.Option
	if f.prefix != "" {
		opts = append(opts, memcachestore.WithPrefix(f.prefix))
	}
	if f.distribution != "" {
		opts = append(opts, memcachestore.WithDistribution(f.distribution))
	}
	return memcachestore.NewServers(servers, opts...)
}
