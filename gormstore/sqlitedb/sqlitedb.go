// Package sqlitedb opens SQLite databases set up for gormstore under
// concurrent web requests.
//
//	db, err := sqlitedb.Open("sessions.db")
//	store, err := gormstore.New(ctx, db)
//
// It is a package of its own because it links the cgo driver
// github.com/mattn/go-sqlite3 (a C compiler is needed to build): programs
// that keep their sessions in PostgreSQL or MySQL import gormstore without
// it.
package sqlitedb

import (
	"fmt"
	"runtime"
	"strings"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// BusyTimeoutMS is how long, in milliseconds, a connection opened by [Open]
// waits for another writer before failing with "database is locked".
const BusyTimeoutMS = 10000

// Open opens (creating it if needed) the SQLite database file at path for
// gormstore.New, set up for concurrent web requests: WAL journal (readers
// never wait for the writer), a busy timeout of [BusyTimeoutMS] so writers
// queue instead of failing, synchronous=NORMAL (durable across application
// crashes; the last commits may be lost on power loss), and a connection
// pool sized for the CPU count. opts are passed to gorm.Open (a
// *gorm.Config, for instance).
//
// path ":memory:" (or "") opens a private in-memory database on a single
// connection that is never recycled, so every query sees the same data;
// concurrent queries then take turns.
func Open(path string, opts ...gorm.Option) (*gorm.DB, error) {
	memory := path == "" || path == ":memory:"
	var dsn string
	if memory {
		dsn = "file::memory:?_busy_timeout=" + fmt.Sprint(BusyTimeoutMS)
	} else {
		// The path becomes a URI: escape what would end it or be decoded.
		esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
		dsn = fmt.Sprintf("file:%s?_journal_mode=WAL&_busy_timeout=%d&_synchronous=NORMAL&_txlock=immediate",
			esc, BusyTimeoutMS)
	}
	db, err := gorm.Open(sqlite.Open(dsn), opts...)
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: opening SQLite database %q: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: SQLite database %q: %w", path, err)
	}
	if memory {
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetMaxIdleConns(1)
		sqlDB.SetConnMaxLifetime(0)
		sqlDB.SetConnMaxIdleTime(0)
	} else {
		n := max(4, 2*runtime.GOMAXPROCS(0))
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
	}
	// Open the first connection now, so a bad path or a failed switch to
	// WAL shows here rather than at the first request.
	if err := sqlDB.Ping(); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("sqlitedb: opening SQLite database %q: %w", path, err)
	}
	return db, nil
}
