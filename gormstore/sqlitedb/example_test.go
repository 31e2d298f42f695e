package sqlitedb_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
)

// Open a SQLite file for sessions and check the settings it was given.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "sqlitedb-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := sqlitedb.Open(filepath.Join(dir, "sessions.db"))
	if err != nil {
		log.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		log.Fatal(err)
	}
	defer sqlDB.Close()

	var mode string
	var timeout int
	db.Raw("PRAGMA journal_mode").Scan(&mode)
	db.Raw("PRAGMA busy_timeout").Scan(&timeout)
	fmt.Println(mode, timeout)

	store, err := gormstore.New(context.Background(), db)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	fmt.Println(db.Migrator().HasTable("django_session"))
	// Output:
	// wal 10000
	// true
}
