package gormstore_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/internal/testenv"
)

// checkErr asserts that err wraps want and names the package once, at the
// front.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	testenv.ErrorNamesPackage(t, "gormstore", what, err, want)
}

func TestErrorMessagesConfig(t *testing.T) {
	db := openSQLiteMemory(t)
	_, err := gormstore.New(ctx(t), nil)
	checkErr(t, "nil db", err, core.ErrInvalidConfig)
	for name, c := range map[string]struct {
		opt    gormstore.Option
		prefix string
	}{
		"table name":     {gormstore.WithTableName("x; DROP TABLE y"), "gormstore: table name "},
		"cleanup":        {gormstore.WithCleanup(0), "gormstore: cleanup interval 0s: "},
		"batch size":     {gormstore.WithBatchSize(0), "gormstore: batch size 0: "},
		"big batch size": {gormstore.WithBatchSize(2_000_000), "gormstore: batch size 2000000: "},
		"batch pause":    {gormstore.WithBatchPause(-time.Second), "gormstore: batch pause -1s: "},
		"logger":         {gormstore.WithLogger(nil), "gormstore: nil logger: "},
		"clock":          {gormstore.WithClock(nil), "gormstore: nil clock: "},
	} {
		_, err := gormstore.New(ctx(t), db, gormstore.WithTableName(tableName(t, db)), c.opt)
		checkErr(t, name, err, core.ErrInvalidConfig)
		if !strings.HasPrefix(err.Error(), c.prefix) {
			t.Errorf("%s: %q does not start with %q", name, err, c.prefix)
		}
	}
	// Valid options, zero pause and nil options included, are accepted.
	newStore(t, db, gormstore.WithTableName(tableName(t, db)), nil, gormstore.WithBatchPause(0),
		gormstore.WithBatchSize(1), gormstore.WithCleanup(time.Hour))
}

func TestErrorMessages(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			table := tableName(t, db)
			c := ctx(t)
			plain := newStore(t, db, gormstore.WithTableName(table))
			key := newKey(t)
			rec := core.Record{Key: key, Data: []byte("{}"), Expiry: time.Now().Add(time.Hour)}

			_, err := plain.Load(c, key)
			checkErr(t, "load of a missing key", err, core.ErrNotFound)
			_, err = plain.Load(c, "not a key!")
			checkErr(t, "load of an invalid key", err, core.ErrInvalidKey)
			err = plain.Save(c, rec, core.Update)
			checkErr(t, "update of a missing row", err, core.ErrSessionDeleted)
			if err := plain.Save(c, rec, core.Create); err != nil {
				t.Fatal(err)
			}
			err = plain.Save(c, rec, core.Create)
			checkErr(t, "second create", err, core.ErrKeyExists)
			_, _, err = plain.LoadVersion(c, key)
			checkErr(t, "versioned load without versioning", err, core.ErrUnsupported)
			_, err = plain.DeleteUserSessions(c, "u")
			checkErr(t, "log out everywhere without the user index", err, core.ErrUnsupported)

			versioned := newStore(t, db, gormstore.WithTableName(table), gormstore.WithVersioning())
			_, v, err := versioned.LoadVersion(c, key)
			if err != nil {
				t.Fatal(err)
			}
			err = versioned.SaveVersion(c, rec, v+1)
			checkErr(t, "versioned update of another version", err, core.ErrVersionConflict)

			if b.name == "sqlite-file" {
				// An expiry that does not parse is corrupt data.
				bad := newKey(t)
				q := fmt.Sprintf("INSERT INTO %s (session_key, session_data, expire_date) VALUES (?, '{}', 'never')", table)
				if err := db.Exec(q, bad).Error; err != nil {
					t.Fatal(err)
				}
				_, err = plain.Load(c, bad)
				checkErr(t, "load of an unparsable expiry", err, core.ErrTampered)
			}
		})
	}
}
