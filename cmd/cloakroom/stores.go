package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/filestore"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// storeFlags are the flags that choose and reach a store. The example shop
// (_example/shop) spells its store flags the same way, so the flags that run
// the shop also run this command on its sessions; TestStoreFlagNames here
// and the shop's TestStoreFlagsMatchCloakroomCommand keep the two in step.
type storeFlags struct {
	kind, driver, dsn, table string
	batch                    int
	dir, prefix              string
	maxFileBytes             int64
	fanOut                   int
	servers                  string
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.kind, "store", "gorm", "store `kind`: gorm, file or memcached")
	fs.StringVar(&f.driver, "driver", "sqlite", "gorm `driver`: sqlite, postgres or mysql")
	fs.StringVar(&f.dsn, "dsn", "", "gorm data source: a SQLite file path, or a PostgreSQL/MySQL DSN")
	fs.StringVar(&f.table, "table", "django_session", "gorm table `name`")
	fs.IntVar(&f.batch, "batch", 1000, "gorm rows per DELETE statement in clearsessions")
	fs.StringVar(&f.dir, "dir", "", "file store `directory` (required for -store file)")
	fs.Int64Var(&f.maxFileBytes, "max-file-bytes", filestore.DefaultMaxFileBytes,
		"file store size `bound` of a session file: the application's WithMaxFileBytes (larger files are corrupt and cleared)")
	fs.IntVar(&f.fanOut, "fanout", 0, "file store subdirectory `levels` (0 flat, as Django; 1 or 2): the application's WithFanOut")
	fs.StringVar(&f.prefix, "prefix", "", "file name or memcached key `prefix` (default: the store's)")
	fs.StringVar(&f.servers, "servers", "127.0.0.1:11211", "memcached `servers`, comma-separated")
}

// opened is a store opened from flags, with what the commands may use.
type opened struct {
	name  string
	store core.Store
	close func() error
	// memcachedStats reports server counters where records can't be counted.
	memcachedStats func(ctx context.Context, w io.Writer) error
}

func open(ctx context.Context, f *storeFlags) (*opened, error) {
	switch f.kind {
	case "gorm":
		return openGorm(ctx, f)
	case "file":
		return openFile(f)
	case "memcached":
		return openMemcached(f)
	default:
		return nil, fmt.Errorf("%w: unknown -store %q (want gorm, file or memcached)", errUsage, f.kind)
	}
}

func openGorm(ctx context.Context, f *storeFlags) (*opened, error) {
	if f.dsn == "" {
		return nil, fmt.Errorf("%w: -dsn is required for -store gorm", errUsage)
	}
	var db *gorm.DB
	var err error
	quiet := &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)}
	switch f.driver {
	case "sqlite":
		db, err = sqlitedb.Open(f.dsn, quiet)
	case "postgres":
		db, err = gorm.Open(postgres.Open(f.dsn), quiet)
	case "mysql":
		db, err = gorm.Open(mysql.Open(f.dsn), quiet)
	default:
		return nil, fmt.Errorf("%w: unknown -driver %q (want sqlite, postgres or mysql)", errUsage, f.driver)
	}
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	st, err := gormstore.New(ctx, db, gormstore.WithTableName(f.table), gormstore.WithoutMigration(), gormstore.WithBatchSize(f.batch))
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	return &opened{
		name:  fmt.Sprintf("gorm %s table %s", f.driver, f.table),
		store: st,
		close: func() error { _ = st.Close(); return sqlDB.Close() },
	}, nil
}

func splitServers(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
