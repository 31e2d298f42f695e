package gormstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/storetest"
	"github.com/cloakroom/cloakroom/gormstore"
)

func TestConformance(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			table := tableName(t, db)
			storetest.Run(t, func(t *testing.T) core.Store {
				return newStore(t, db, gormstore.WithTableName(table))
			}, storetest.Options{})
			t.Run("WithVersioning+WithUserIndex", func(t *testing.T) {
				table := tableName(t, db)
				storetest.Run(t, func(t *testing.T) core.Store {
					return newStore(t, db, gormstore.WithTableName(table), gormstore.WithVersioning(), gormstore.WithUserIndex())
				}, storetest.Options{})
			})
		})
	}
}

func newKey(t testing.TB) string {
	t.Helper()
	k, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rawExpiry returns the stored expire_date of key as UTC text
// "2006-01-02 15:04:05.000000", read with SQL of the backend.
func rawExpiry(t *testing.T, db *gorm.DB, table, key string) string {
	t.Helper()
	var q string
	switch db.Dialector.Name() {
	case "sqlite":
		q = "SELECT CAST(expire_date AS TEXT) FROM " + table + " WHERE session_key = ?"
	case "mysql":
		q = "SELECT DATE_FORMAT(expire_date, '%Y-%m-%d %H:%i:%s.%f') FROM " + table + " WHERE session_key = ?"
	case "postgres":
		q = "SELECT to_char(expire_date AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM " + table + " WHERE session_key = ?"
	}
	var s string
	if err := db.Raw(q, key).Row().Scan(&s); err != nil {
		t.Fatalf("reading raw expire_date: %v", err)
	}
	return s
}

// TestUTCStorage checks that the stored value is the UTC wall clock, as
// Django stores it, although time.Local, the PostgreSQL TimeZone, the MySQL
// session time_zone and the MySQL driver's loc are all elsewhere.
func TestUTCStorage(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			table := tableName(t, db)
			st := newStore(t, db, gormstore.WithTableName(table))
			want := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.UTC)
			key := newKey(t)
			// Expiry given in a non-UTC zone; nanoseconds beyond µs dropped.
			if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: want.In(testZone)}, core.Create); err != nil {
				t.Fatal(err)
			}
			if got := rawExpiry(t, db, table, key); got != "2031-05-06 07:08:09.123456" {
				t.Errorf("stored expire_date = %q, want the UTC wall clock 2031-05-06 07:08:09.123456", got)
			}
			rec, err := st.Load(ctx(t), key)
			if err != nil {
				t.Fatal(err)
			}
			if !rec.Expiry.Equal(want.Truncate(time.Microsecond)) || rec.Expiry.Location() != time.UTC {
				t.Errorf("loaded Expiry = %v, want %v in UTC", rec.Expiry, want.Truncate(time.Microsecond))
			}
		})
	}
}

// TestDjangoRows inserts rows the way Django writes them and checks that
// they load with the right instant and expire at the right moment.
func TestDjangoRows(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			table := tableName(t, db)
			now := time.Date(2030, 1, 2, 3, 4, 5, 500000000, time.UTC)
			st := newStore(t, db, gormstore.WithTableName(table),
				gormstore.WithClock(func() time.Time { return now.In(testZone) }))
			suffix := ""
			if db.Dialector.Name() == "postgres" {
				suffix = "+00" // Django sends aware datetimes to PostgreSQL
			}
			rows := []struct {
				text string
				want time.Time
				live bool
			}{
				{"2030-01-02 03:04:05.500001", now.Add(time.Microsecond), true},
				{"2030-01-02 03:04:05.500000", now, false}, // expiring now is expired
				{"2030-01-02 03:04:06", now.Add(500 * time.Millisecond), true},
				{"2030-01-02 03:04:05", now.Add(-500 * time.Millisecond), false},
				{"2031-06-07 08:09:10.000042", time.Date(2031, 6, 7, 8, 9, 10, 42000, time.UTC), true},
			}
			for _, r := range rows {
				key := newKey(t)
				if err := db.Exec("INSERT INTO "+table+" (session_key, session_data, expire_date) VALUES (?, ?, ?)",
					key, "django-data", r.text+suffix).Error; err != nil {
					t.Fatal(err)
				}
				rec, err := st.Load(ctx(t), key)
				switch {
				case r.live && err != nil:
					t.Errorf("row expiring %s (now %s): Load: %v", r.text, now.Format(time.RFC3339Nano), err)
				case r.live && (!rec.Expiry.Equal(r.want) || string(rec.Data) != "django-data"):
					t.Errorf("row expiring %s: loaded %v %q, want %v", r.text, rec.Expiry, rec.Data, r.want)
				case !r.live && !errors.Is(err, core.ErrNotFound):
					t.Errorf("row expiring %s (now %s): Load = %v, want ErrNotFound", r.text, now.Format(time.RFC3339Nano), err)
				}
			}
			n, err := st.ClearExpired(ctx(t))
			if err != nil || n != 2 {
				t.Errorf("ClearExpired = %d, %v; want the 2 rows not after now", n, err)
			}
		})
	}
}

// TestFreshSessionNotExpired: a session expiring a moment from now must
// load (second-precision storage would round it into the past).
func TestFreshSessionNotExpired(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			st := newStore(t, db, gormstore.WithTableName(tableName(t, db)))
			for i := 0; i < 20; i++ {
				key := newKey(t)
				if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(300 * time.Millisecond)}, core.Create); err != nil {
					t.Fatal(err)
				}
				if _, err := st.Load(ctx(t), key); err != nil {
					t.Fatalf("Load right after saving a session that expires in 300ms: %v", err)
				}
			}
		})
	}
}

// TestUpdateIdentical: an Update that writes exactly what is stored must
// succeed (MySQL reports 0 changed rows for it).
func TestUpdateIdentical(t *testing.T) {
	bs := append(backends(), backend{"mysql-clientFoundRows", func(t testing.TB) *gorm.DB {
		return openMySQLWith(t, func(c *gomysql.Config) { c.ClientFoundRows = true })
	}})
	for _, b := range bs {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			st := newStore(t, db, gormstore.WithTableName(tableName(t, db)))
			rec := core.Record{Key: newKey(t), Data: []byte(`{"same":1}`), Expiry: time.Now().Add(time.Hour)}
			if err := st.Save(ctx(t), rec, core.Create); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				if err := st.Save(ctx(t), rec, core.Update); err != nil {
					t.Fatalf("identical Update #%d: %v", i+1, err)
				}
			}
			if err := st.Delete(ctx(t), rec.Key); err != nil {
				t.Fatal(err)
			}
			if err := st.Save(ctx(t), rec, core.Update); !errors.Is(err, core.ErrSessionDeleted) {
				t.Fatalf("identical Update after Delete = %v, want ErrSessionDeleted", err)
			}
		})
	}
}

// TestUpdateExpired: an expired row is gone for Update too, and the failed
// update leaves it expired.
func TestUpdateExpired(t *testing.T) {
	db := openSQLiteFile(t)
	st := newStore(t, db)
	key := newKey(t)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"old":1}`), Expiry: time.Now().Add(-time.Second)}, core.Create); err != nil {
		t.Fatal(err)
	}
	err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"new":1}`), Expiry: time.Now().Add(time.Hour)}, core.Update)
	if !errors.Is(err, core.ErrSessionDeleted) {
		t.Fatalf("Update of an expired row = %v, want ErrSessionDeleted", err)
	}
	if got := rawExpiry(t, db, gormstore.DefaultTableName, key); got > time.Now().UTC().Format("2006-01-02 15:04:05.000000") {
		t.Errorf("expired row was extended to %s", got)
	}
}

// TestNoQueryForBadInput counts the statements GORM runs: invalid keys and
// expiries must be refused before any.
func TestNoQueryForBadInput(t *testing.T) {
	db := openSQLiteFile(t)
	st := newStore(t, db)
	var n atomic.Int32
	count := func(*gorm.DB) { n.Add(1) }
	for _, cb := range []interface {
		Register(string, func(*gorm.DB)) error
	}{db.Callback().Raw().Before("gorm:raw"), db.Callback().Row().Before("gorm:row")} {
		if err := cb.Register("test:count", count); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range storetest.BadKeys {
		if _, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Load(%q) = %v", key, err)
		}
		if err := st.Save(ctx(t), core.Record{Key: key, Expiry: time.Now().Add(time.Hour)}, core.Update); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Save(%q) = %v", key, err)
		}
		if err := st.Delete(ctx(t), key); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v", key, err)
		}
	}
	for _, exp := range []time.Time{{}, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if err := st.Save(ctx(t), core.Record{Key: newKey(t), Expiry: exp}, core.Create); err == nil {
			t.Errorf("Save with expiry %v succeeded", exp)
		}
	}
	if got := n.Load(); got != 0 {
		t.Fatalf("%d statements reached the database for invalid input", got)
	}
	// The counter works: a valid Load is one statement.
	_, _ = st.Load(ctx(t), newKey(t))
	if n.Load() != 1 {
		t.Fatalf("counter saw %d statements for one Load, want 1", n.Load())
	}
}

// TestBackendErrors: database failures come back wrapped, never as
// not-found or success.
func TestBackendErrors(t *testing.T) {
	db := openSQLiteFile(t)
	table := tableName(t, db)
	st := newStore(t, db, gormstore.WithTableName(table))
	key := newKey(t)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("DROP TABLE " + table).Error; err != nil {
		t.Fatal(err)
	}
	check := func(op string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrSessionDeleted) || errors.Is(err, core.ErrKeyExists) {
			t.Errorf("%s on a dropped table = %v, want a database error", op, err)
		} else if !strings.Contains(err.Error(), "gormstore") || !strings.Contains(err.Error(), "no such table") {
			t.Errorf("%s error lacks context or cause: %v", op, err)
		}
	}
	_, err := st.Load(ctx(t), key)
	check("Load", err)
	check("Create", st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create))
	check("Update", st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Update))
	check("Delete", st.Delete(ctx(t), key))
	_, err = st.ClearExpired(ctx(t))
	check("ClearExpired", err)

	// A cancelled context is an error too.
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.Load(c, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a cancelled context = %v", err)
	}
}

func TestNewValidation(t *testing.T) {
	db := openSQLiteFile(t)
	bad := map[string][]gormstore.Option{
		"table with quote":   {gormstore.WithTableName(`x"; DROP TABLE y; --`)},
		"empty table":        {gormstore.WithTableName("")},
		"zero cleanup":       {gormstore.WithCleanup(0)},
		"zero batch":         {gormstore.WithBatchSize(0)},
		"negative pause":     {gormstore.WithBatchPause(-time.Second)},
		"nil logger":         {gormstore.WithLogger(nil)},
		"nil clock":          {gormstore.WithClock(nil)},
		"three-part name":    {gormstore.WithTableName("a.b.c")},
		"name starting at 1": {gormstore.WithTableName("1abc")},
	}
	for name, opts := range bad {
		if _, err := gormstore.New(ctx(t), db, opts...); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("%s: New = %v, want ErrInvalidConfig", name, err)
		}
	}
	if _, err := gormstore.New(ctx(t), nil); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf("New(nil db) = %v", err)
	}
	// Without migration a missing table is reported at New.
	_, err := gormstore.New(ctx(t), db, gormstore.WithTableName("cloakroom_missing"), gormstore.WithoutMigration())
	if err == nil || !strings.Contains(err.Error(), "cloakroom_missing") {
		t.Errorf("New without migration on a missing table = %v", err)
	}
	if db.Migrator().HasTable("cloakroom_missing") {
		t.Error("WithoutMigration created the table")
	}
	// A table lacking a column is refused.
	if err := db.Exec("CREATE TABLE cloakroom_wrong (session_key varchar(40) PRIMARY KEY, data text)").Error; err != nil {
		t.Fatal(err)
	}
	if _, err := gormstore.New(ctx(t), db, gormstore.WithTableName("cloakroom_wrong")); err == nil {
		t.Error("New accepted a table without session_data and expire_date")
	}
}

// djangoDDL is what Django's migration sessions.0001 creates (sqlmigrate
// output of Django 3.2 and later), with the table name as %s.
var djangoDDL = map[string][]string{
	"sqlite": {
		`CREATE TABLE "%[1]s" ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" datetime NOT NULL)`,
		`CREATE INDEX "%[1]s_expire_date_a5c62663" ON "%[1]s" ("expire_date")`,
	},
	"postgres": {
		`CREATE TABLE "%[1]s" ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" timestamp with time zone NOT NULL)`,
		`CREATE INDEX "%[1]s_expire_date_a5c62663" ON "%[1]s" ("expire_date")`,
		`CREATE INDEX "%[1]s_session_key_c0390e0f_like" ON "%[1]s" ("session_key" varchar_pattern_ops)`,
	},
	"mysql": {
		"CREATE TABLE `%[1]s` (`session_key` varchar(40) NOT NULL PRIMARY KEY, `session_data` longtext NOT NULL, `expire_date` datetime(6) NOT NULL)",
		"CREATE INDEX `%[1]s_expire_date_a5c62663` ON `%[1]s` (`expire_date`)",
	},
}

// schemaOf describes a table's columns and indexes as the database reports
// them, to compare a table made by New with one made by Django's DDL.
func schemaOf(t *testing.T, db *gorm.DB, table string) string {
	t.Helper()
	cols, err := db.Migrator().ColumnTypes(table)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range cols {
		nullable, _ := c.Nullable()
		pk, _ := c.PrimaryKey()
		full, _ := c.ColumnType() // with length and precision where the dialect reports them
		fmt.Fprintf(&b, "%s %s (%s) null=%v pk=%v; ", c.Name(), strings.ToLower(c.DatabaseTypeName()), full, nullable, pk)
	}
	if db.Dialector.Name() == "sqlite" {
		// The SQLite migrator's GetIndexes logs in debug mode; ask directly.
		var n int
		if err := db.Raw(`SELECT count(*) FROM sqlite_master m, pragma_index_info(m.name) i
			WHERE m.type = 'index' AND m.tbl_name = ? AND i.name = 'expire_date'`, table).Row().Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			b.WriteString("index on expire_date; ")
		}
		return b.String()
	}
	idx, err := db.Migrator().GetIndexes(table)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range idx {
		if strings.Join(i.Columns(), ",") == "expire_date" {
			b.WriteString("index on expire_date; ")
		}
	}
	return b.String()
}

// TestDjangoSchema compares the table New creates with Django's, and runs
// the store on a table created by Django's DDL (which New must not alter).
func TestDjangoSchema(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			ours, theirs := tableName(t, db), tableName(t, db)
			newStore(t, db, gormstore.WithTableName(ours))
			for _, stmt := range djangoDDL[db.Dialector.Name()] {
				if err := db.Exec(fmt.Sprintf(stmt, theirs)).Error; err != nil {
					t.Fatal(err)
				}
			}
			want := schemaOf(t, db, theirs)
			if got := schemaOf(t, db, ours); got != want {
				t.Errorf("table made by New:\n  %s\nDjango's:\n  %s", got, want)
			}
			t.Logf("schema: %s", want)
			if !strings.Contains(want, "index on expire_date") {
				t.Errorf("schema description misses the index: %s", want)
			}
			st := newStore(t, db, gormstore.WithTableName(theirs))
			if got := schemaOf(t, db, theirs); got != want {
				t.Errorf("New altered Django's table:\n  %s\nwas:\n  %s", got, want)
			}
			rec := core.Record{Key: newKey(t), Data: []byte(`{"x":1}`), Expiry: time.Now().Add(time.Hour)}
			if err := st.Save(ctx(t), rec, core.Create); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Load(ctx(t), rec.Key); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDefaultTableIndexName(t *testing.T) {
	db := openSQLiteFile(t)
	newStore(t, db)
	var n int
	if err := db.Raw(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'django_session_expire_date_a5c62663' AND tbl_name = 'django_session'`).Row().Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatal("the default table lacks Django's index django_session_expire_date_a5c62663")
	}
}

// TestCreateOverExpiredReplaces: on every backend a Create over an expired
// row succeeds and only the new data is visible.
func TestCreateOverExpiredReplaces(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			st := newStore(t, db, gormstore.WithTableName(tableName(t, db)))
			key := newKey(t)
			if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"old":1}`), Expiry: time.Now().Add(-time.Minute)}, core.Create); err != nil {
				t.Fatal(err)
			}
			if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"new":1}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
				t.Fatalf("Create over an expired row: %v", err)
			}
			rec, err := st.Load(ctx(t), key)
			if err != nil || !bytes.Equal(rec.Data, []byte(`{"new":1}`)) {
				t.Fatalf("Load = %q, %v", rec.Data, err)
			}
			if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"third":1}`), Expiry: time.Now().Add(time.Hour)}, core.Create); !errors.Is(err, core.ErrKeyExists) {
				t.Fatalf("Create over the live row = %v, want ErrKeyExists", err)
			}
		})
	}
}

// An expire_date that cannot be read (SQLite keeps any text) is corrupt
// data: Load reports ErrTampered, so the visitor gets a fresh empty session
// and a warning, not a failed request.
func TestCorruptExpiryIsTampered(t *testing.T) {
	db := openSQLiteFile(t)
	table := tableName(t, db)
	st := newStore(t, db, gormstore.WithTableName(table))
	for _, v := range []string{"garbage", "9999-99-99 99:99:99", "2030-13-45 00:00:00", "zz"} {
		key := newKey(t)
		if err := db.Exec("INSERT INTO "+table+" (session_key, session_data, expire_date) VALUES (?, ?, ?)", key, `{"admin":true}`, v).Error; err != nil {
			t.Fatal(err)
		}
		if rec, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrTampered) {
			t.Errorf("expire_date %q: Load = %q, %v; want ErrTampered", v, rec.Data, err)
		}
	}

	// Through the middleware: 200, an empty session, a warning.
	key := newKey(t)
	if err := db.Exec("INSERT INTO "+table+" (session_key, session_data, expire_date) VALUES (?, ?, ?)", key, `{"admin":true}`, "garbage").Error; err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg := core.DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	m, err := core.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		admin, _, err := core.GetAs[bool](s, "admin")
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "admin=%v", admin)
	}))
	w := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", "sessionid="+key)
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK || w.Body.String() != "admin=false" || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("corrupt row through the middleware: %d %q, log %q; want 200, an empty session and a warning", w.Code, w.Body, logs.String())
	}
}
