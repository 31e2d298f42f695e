package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/filestore"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
	"github.com/cloakroom/cloakroom/memcachestore"
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
	servers, distribution    string
	redis                    redisFlags
}

// storeKinds lists the -store values.
var storeKinds = []string{"gorm", "file", "memcached", "redis", "cached"}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.kind, "store", "gorm", "store `kind`: "+strings.Join(storeKinds, ", ")+" (cached: memcached in front of the gorm database, as the application stacks them with cachedstore)")
	fs.StringVar(&f.driver, "driver", "sqlite", "gorm `driver`: sqlite, postgres or mysql")
	fs.StringVar(&f.dsn, "dsn", "", "gorm data source: a SQLite file path, or a PostgreSQL/MySQL DSN")
	fs.StringVar(&f.table, "table", "django_session", "gorm table `name`")
	fs.StringVar(&f.dir, "dir", "", "file store `directory` (required for -store file)")
	fs.Int64Var(&f.maxFileBytes, "max-file-bytes", filestore.DefaultMaxFileBytes,
		"file store size `bound` of a session file: the application's WithMaxFileBytes (larger files are corrupt and cleared)")
	fs.IntVar(&f.fanOut, "fanout", 0, "file store subdirectory `levels` (0 flat, as Django; 1 or 2): the application's WithFanOut")
	fs.StringVar(&f.prefix, "prefix", "", "file name, memcached or Redis key `prefix` (default: the store's)")
	fs.StringVar(&f.servers, "servers", "127.0.0.1:11211", "memcached `servers`, comma-separated, as the application lists them (the order and spelling place keys)")
	fs.StringVar(&f.distribution, "distribution", "ketama_weighted",
		"memcached key `placement`: "+strings.Join(memcachestore.Distributions(), ", ")+" (the application's memcachestore.WithDistribution; pylibmc's behaviours)")
	f.redis.register(fs)
}

// opened is a store opened from flags, with what the commands may use.
type opened struct {
	name  string
	store core.Store
	close func() error
	// expiresItself, when set, names the engine that drops expired
	// sessions by itself: clearsessions has nothing to do.
	expiresItself string
	// serverStats reports server counters where records can't be counted.
	serverStats func(ctx context.Context, w io.Writer) error
	// noUserIndex, when set, says why a store that may keep a user index
	// (gorm) keeps none; the others are asked core.Supports.
	noUserIndex error
	// db is the database under a cache (-store cached), nil otherwise:
	// what stats counts, clearsessions clears and sessions lists.
	db core.Store
}

// records returns the store that holds every record: the database under
// a cache, else the store itself.
func (o *opened) records() core.Store {
	if o.db != nil {
		return o.db
	}
	return o.store
}

func open(ctx context.Context, f *storeFlags) (*opened, error) {
	switch f.kind {
	case "gorm":
		return openGorm(ctx, f)
	case "file":
		return openFile(f)
	case "memcached":
		return openMemcached(f)
	case "redis":
		return openRedis(ctx, f)
	case "cached":
		return openCached(ctx, f)
	default:
		return nil, fmt.Errorf("%w: unknown -store %q (want %s)", errUsage, f.kind, strings.Join(storeKinds, ", "))
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
	opts := []gormstore.Option{gormstore.WithTableName(f.table), gormstore.WithoutMigration()}
	if f.batch > 0 { // clearsessions -batch
		opts = append(opts, gormstore.WithBatchSize(f.batch))
	}
	// The user index is the application's (gormstore.WithUserIndex): used
	// when its table exists, never created here.
	var noIndex error
	if users := f.table + gormstore.UserTableSuffix; db.Migrator().HasTable(users) {
		opts = append(opts, gormstore.WithUserIndex())
	} else {
		noIndex = fmt.Errorf("table %s has no user index (no table %s: the application does not use gormstore.WithUserIndex): %w", f.table, users, core.ErrUnsupported)
	}
	st, err := gormstore.New(ctx, db, opts...)
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	return &opened{
		name:        fmt.Sprintf("gorm %s table %s", f.driver, f.table),
		store:       st,
		close:       func() error { _ = st.Close(); return sqlDB.Close() },
		noUserIndex: noIndex,
	}, nil
}

// openCached opens memcached in front of the gorm database, as an
// application with cachedstore.New(memcached, gorm) has them: a session
// revoked through it leaves the cache too (through the database alone, the
// application would go on serving its cached copy).
func openCached(ctx context.Context, f *storeFlags) (*opened, error) {
	db, err := openGorm(ctx, f)
	if err != nil {
		return nil, err
	}
	mc, err := openMemcached(f)
	if err != nil {
		db.close()
		return nil, err
	}
	st, err := cachedstore.New(mc.store, db.store)
	if err != nil {
		mc.close()
		db.close()
		return nil, err
	}
	return &opened{
		name:        "cached (" + mc.name + " in front of " + db.name + ")",
		store:       st,
		close:       func() error { _ = mc.close(); return db.close() },
		noUserIndex: db.noUserIndex,
		db:          db.store,
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
