package gormstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
)

// Example opens a SQLite file, creates the django_session table in it and
// stores, loads and clears sessions. With PostgreSQL or MySQL, open the
// *gorm.DB with their GORM driver instead of sqlitedb.Open.
func Example() {
	dir, err := os.MkdirTemp("", "cloakroom-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := sqlitedb.Open(filepath.Join(dir, "sessions.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	}()

	ctx := context.Background()
	// Clear expired sessions every hour in the background until Close.
	store, err := gormstore.New(ctx, db, gormstore.WithCleanup(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	key, err := core.NewKey()
	if err != nil {
		log.Fatal(err)
	}
	rec := core.Record{Key: key, Data: []byte(`{"user":42}`), Expiry: time.Now().Add(14 * 24 * time.Hour)}
	if err := store.Save(ctx, rec, core.Create); err != nil {
		log.Fatal(err)
	}
	got, err := store.Load(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(store.TableName(), string(got.Data))

	n, err := store.ClearExpired(ctx)
	fmt.Println("expired sessions cleared:", n, err)
	// Output:
	// django_session {"user":42}
	// expired sessions cleared: 0 <nil>
}
