package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cloakroom/cloakroom/core/filestore"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/memcachestore"
	"golang.org/x/crypto/bcrypt"
)

// options are the shop's flags.
type options struct {
	addr, framework, cookieSecret string
	bcryptCost                    int
	storeFlags
}

// storeFlags choose and reach the session store. Their names, and their
// meaning, are those of the cloakroom command's store flags
// (cmd/cloakroom/stores.go): -store, -driver, -dsn, -table, -dir, -prefix,
// -max-file-bytes, -fanout, -servers, -distribution and the -redis flags. TestStoreFlagsMatchCloakroomCommand runs the
// command and compares, so the two cannot drift apart. The shop adds the
// stores the command has nothing to clear in (memory, cookie) and the
// cached composition (memcached in front of the gorm database).
type storeFlags struct {
	kind, driver, dsn, table string
	dir, prefix              string
	maxFileBytes             int64
	fanOut                   int
	servers, distribution    string
	redis                    redisFlags
}

// redisFlags reach a Redis deployment (see openRedis).
type redisFlags struct {
	addrs, master, user, ca string
	cluster, tls            bool
	db                      int
}

// storeKinds lists the -store values.
var storeKinds = []string{"gorm", "memory", "file", "cookie", "memcached", "cached", "redis"}

// gormDrivers lists the -driver values.
var gormDrivers = []string{"sqlite", "postgres", "mysql"}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.kind, "store", "gorm", "store `kind`: "+strings.Join(storeKinds, ", ")+" (cached: memcached in front of the gorm database)")
	fs.StringVar(&f.driver, "driver", "sqlite", "gorm `driver`: "+strings.Join(gormDrivers, ", "))
	fs.StringVar(&f.dsn, "dsn", "", "gorm data source: a SQLite file path, or a PostgreSQL/MySQL DSN (default for -driver sqlite: "+defaultSQLitePath()+")")
	fs.StringVar(&f.table, "table", gormstore.DefaultTableName, "gorm table `name`")
	fs.StringVar(&f.dir, "dir", "", "file store `directory` (default: a private directory made for this run and removed at exit)")
	fs.StringVar(&f.prefix, "prefix", "", "file name or memcached key `prefix` (default: the store's)")
	fs.Int64Var(&f.maxFileBytes, "max-file-bytes", filestore.DefaultMaxFileBytes, "file store size `bound` of a session file")
	fs.IntVar(&f.fanOut, "fanout", 0, "file store subdirectory `levels` (0 flat, as Django; 1 or 2): filestore.WithFanOut")
	fs.StringVar(&f.servers, "servers", "127.0.0.1:11211", "memcached `servers`, comma-separated, for -store memcached and cached")
	fs.StringVar(&f.distribution, "distribution", "ketama_weighted", "memcached key `placement`: "+strings.Join(memcachestore.Distributions(), ", ")+" (memcachestore.WithDistribution)")
	fs.StringVar(&f.redis.addrs, "redis", "127.0.0.1:6379", "Redis `addresses`, comma-separated: one server, the Sentinels (with -redis-master) or Cluster nodes (several, or -redis-cluster); password from $"+redisPasswordEnv)
	fs.StringVar(&f.redis.master, "redis-master", "", "Redis Sentinel master `name` (the Sentinels' password, if any, from $"+sentinelPasswordEnv+")")
	fs.BoolVar(&f.redis.cluster, "redis-cluster", false, "Redis Cluster even with one address in -redis")
	fs.IntVar(&f.redis.db, "redis-db", 0, "Redis database `number` (not on Cluster)")
	fs.StringVar(&f.redis.user, "redis-user", "", "Redis ACL user `name`")
	fs.BoolVar(&f.redis.tls, "redis-tls", false, "connect to Redis over TLS, verifying its certificate against the system's roots or -redis-ca")
	fs.StringVar(&f.redis.ca, "redis-ca", "", "PEM `file` of the certificate authorities that sign Redis's TLS certificate (implies -redis-tls)")
}

// storeName names the store for the log and the page footer.
func (f *storeFlags) storeName() string {
	switch f.kind {
	case "gorm":
		return "gorm " + f.driver
	case "cached":
		return "cached (memcached + " + f.driver + ")"
	}
	return f.kind
}

// defaultSQLitePath is where the SQLite database goes when -dsn is not
// given: the user's cache directory (the sessions are a cache of visits,
// and the working tree stays clean), or the temp directory where there is
// none.
func defaultSQLitePath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "cloakroom-shop", "sessions.db")
}

// envName is the environment variable of a flag: SHOP_ and the name in
// capitals, dashes as underscores.
func envName(flagName string) string {
	return "SHOP_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen `address`; the default serves this machine only, :8080 serves every interface")
	fs.StringVar(&o.framework, "framework", "gin", "web framework: gin or echo")
	fs.StringVar(&o.cookieSecret, "cookie-secret", "", "`secret` of at least 32 bytes for -store cookie")
	fs.IntVar(&o.bcryptCost, "bcrypt-cost", bcrypt.DefaultCost, "bcrypt `cost` of the demo passwords (and of the decoy hash unknown user names are checked against)")
	o.storeFlags.register(fs)
	fs.VisitAll(func(f *flag.Flag) { f.Usage += " (" + envName(f.Name) + ")" })
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	// The environment fills in what the command line did not set.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && !set[f.Name] && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return o, envErr
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.framework != "gin" && o.framework != "echo":
		return o, fmt.Errorf("-framework %q: want gin or echo", o.framework)
	case o.kind == "sqlite":
		return o, errors.New("-store sqlite is now spelled as the cloakroom command spells it: -store gorm -driver sqlite [-dsn FILE]")
	case !slices.Contains(storeKinds, o.kind):
		return o, fmt.Errorf("-store %q: want one of %s", o.kind, strings.Join(storeKinds, ", "))
	case !slices.Contains(memcachestore.Distributions(), o.distribution):
		return o, fmt.Errorf("-distribution %q: want one of %s", o.distribution, strings.Join(memcachestore.Distributions(), ", "))
	case !slices.Contains(gormDrivers, o.driver):
		return o, fmt.Errorf("-driver %q: want one of %s", o.driver, strings.Join(gormDrivers, ", "))
	case o.dsn == "" && o.driver != "sqlite" && (o.kind == "gorm" || o.kind == "cached"):
		return o, fmt.Errorf("-dsn is required for -driver %s", o.driver)
	case o.bcryptCost < bcrypt.MinCost || o.bcryptCost > bcrypt.MaxCost:
		return o, fmt.Errorf("-bcrypt-cost %d: want %d to %d", o.bcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	return o, nil
}
