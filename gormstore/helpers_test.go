package gormstore_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones the tests use, whatever the machine has

	"github.com/cloakroom/cloakroom/internal/testenv"

	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
)

// Environment variables naming the servers the tests use.
const (
	envPostgres = "CLOAKROOM_POSTGRES_DSN" // e.g. host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable
	envMySQL    = "CLOAKROOM_MYSQL_DSN"    // e.g. root@tcp(127.0.0.1:3306)/test?parseTime=true
)

// testZone is the process-local zone for the whole package: every test runs
// with time.Local far from UTC, so a forgotten .UTC() shows.
var testZone = time.FixedZone("UTC-07:30", -(7*3600 + 30*60))

func TestMain(m *testing.M) {
	time.Local = testZone // before any goroutine starts
	os.Exit(m.Run())
}

// quietConfig keeps GORM from printing the duplicate-key and missing-table
// errors the tests provoke on purpose; the store still returns them.
func quietConfig() *gorm.Config {
	return &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)}
}

// backend opens one database for a test and names it.
type backend struct {
	name string
	open func(t testing.TB) *gorm.DB
}

func backends() []backend {
	return []backend{
		{"sqlite-file", openSQLiteFile},
		{"sqlite-memory", openSQLiteMemory},
		{"postgres", openPostgres},
		{"mysql", openMySQL},
	}
}

func openSQLiteFile(t testing.TB) *gorm.DB {
	t.Helper()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "sessions.db"), quietConfig())
	if err != nil {
		t.Fatal(err)
	}
	closeDB(t, db)
	return db
}

func openSQLiteMemory(t testing.TB) *gorm.DB {
	t.Helper()
	db, err := sqlitedb.Open(":memory:", quietConfig())
	if err != nil {
		t.Fatal(err)
	}
	closeDB(t, db)
	return db
}

func openPostgres(t testing.TB) *gorm.DB {
	t.Helper()
	// A session time zone far from UTC: the store must not care.
	d := testenv.Env(t, envPostgres)
	switch {
	case !strings.Contains(d, "://"):
		d += " TimeZone=Asia/Tokyo"
	case strings.Contains(d, "?"):
		d += "&TimeZone=Asia/Tokyo"
	default:
		d += "?TimeZone=Asia/Tokyo"
	}
	db, err := gorm.Open(postgres.Open(d), quietConfig())
	if err != nil {
		t.Fatalf("connecting to PostgreSQL (%s): %v", envPostgres, err)
	}
	closeDB(t, db)
	return db
}

// openMySQL connects with a hostile configuration: the session time_zone
// and the driver's loc both far from UTC and from each other.
func openMySQL(t testing.TB) *gorm.DB {
	t.Helper()
	return openMySQLWith(t, func(c *gomysql.Config) {
		loc, err := time.LoadLocation("Asia/Kathmandu") // UTC+05:45
		if err != nil {
			t.Fatal(err)
		}
		c.Loc = loc
		if c.Params == nil {
			c.Params = map[string]string{}
		}
		c.Params["time_zone"] = "'-03:00'"
	})
}

func openMySQLWith(t testing.TB, edit func(*gomysql.Config)) *gorm.DB {
	t.Helper()
	cfg, err := gomysql.ParseDSN(testenv.Env(t, envMySQL))
	if err != nil {
		t.Fatalf("%s: %v", envMySQL, err)
	}
	edit(cfg)
	db, err := gorm.Open(mysql.Open(cfg.FormatDSN()), quietConfig())
	if err != nil {
		t.Fatalf("connecting to MySQL (%s): %v", envMySQL, err)
	}
	closeDB(t, db)
	return db
}

func closeDB(t testing.TB, db *gorm.DB) {
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
}

// tableName returns a table name no other test run uses, and drops the
// table when the test ends.
func tableName(t testing.TB, db *gorm.DB) string {
	t.Helper()
	name := "cloakroom_test_" + strings.ToLower(rand.Text()[:10])
	t.Cleanup(func() {
		if err := db.Migrator().DropTable(name); err != nil {
			t.Errorf("dropping test table %s: %v", name, err)
		}
	})
	return name
}

func newStore(t testing.TB, db *gorm.DB, opts ...gormstore.Option) *gormstore.Store {
	t.Helper()
	st, err := gormstore.New(context.Background(), db, opts...)
	if err != nil {
		t.Fatalf("gormstore.New: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}
