package gormstore

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/cloakroom/cloakroom/core"
)

// Column names of Django's django_session table.
const (
	colKey    = "session_key"
	colData   = "session_data"
	colExpiry = "expire_date"
)

// textTimeLayout is how expiry instants travel as text: Django's format for
// a naive UTC datetime with microseconds, which sorts as text in time order
// (also against Django's own rows, which drop ".000000" when it is zero).
const textTimeLayout = "2006-01-02 15:04:05.000000"

type dialectKind int

const (
	dSQLite dialectKind = iota
	dPostgres
	dMySQL
)

// queries holds the SQL of one store, built once in [New] for its dialect
// and table. Placeholders are GORM's "?", which GORM rewrites per dialect.
type queries struct {
	kind dialectKind

	load        string // key, now -> data, expiry
	insert      string // key, data, expiry [, now on upsert dialects]
	upsert      bool   // insert replaces an expired row itself
	dropExpired string // key, now: remove an expired row before re-inserting (MySQL)
	update      string // data, expiry, key, now
	exists      string // key, now -> 1 (MySQL after 0 affected rows)
	del         string // key
	probe       string // checks that the columns exist

	// clear is the SQL of ClearExpired's keyset cursor (see clearCursor);
	// clearKeyed is the same ordered by session_key, for an SQLite table
	// without rowid.
	clear, clearKeyed clearQueries
	noRowid           string // fails on an SQLite table without rowid
	countExpired      string // now -> rows ClearExpired would delete

	createTable []string
}

func dialectOf(db *gorm.DB) (dialectKind, error) {
	switch name := db.Dialector.Name(); name {
	case "sqlite":
		return dSQLite, nil
	case "postgres":
		return dPostgres, nil
	case "mysql":
		return dMySQL, nil
	default:
		return 0, fmt.Errorf("gormstore: unsupported GORM dialect %q (want sqlite, postgres or mysql): %w", name, core.ErrInvalidConfig)
	}
}

func quote(db *gorm.DB, name string) string {
	var b strings.Builder
	db.Dialector.QuoteTo(&b, name)
	return b.String()
}

// djangoIndexName reproduces the name Django gives the expire_date index
// (django_session_expire_date_a5c62663 for the default table), so that a
// table made here and one made by Django's migration look alike.
func djangoIndexName(table string) string {
	if i := strings.LastIndexByte(table, '.'); i >= 0 {
		table = table[i+1:]
	}
	sum := md5.Sum([]byte(table + colExpiry))
	suffix := "_" + colExpiry + "_" + hex.EncodeToString(sum[:])[:8]
	if max := 63 - len(suffix); len(table) > max {
		table = table[:max]
	}
	return table + suffix
}

// buildQueries builds the SQL of a store (ClearExpired appends its limits
// to the cursor's SELECTs).
func buildQueries(db *gorm.DB, kind dialectKind, table string) queries {
	t := quote(db, table)
	k, d, e := quote(db, colKey), quote(db, colData), quote(db, colExpiry)
	idx := quote(db, djangoIndexName(table))
	q := queries{kind: kind}

	expiryCol := e
	if kind == dSQLite {
		// Read SQLite's text ourselves instead of relying on the driver's
		// lenient conversion of "datetime" columns, which turns unparsable
		// text into the zero time without an error.
		expiryCol = "CAST(" + e + " AS TEXT)"
	}
	q.load = fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s = ? AND %s > ?", d, expiryCol, t, k, e)
	q.update = fmt.Sprintf("UPDATE %s SET %s = ?, %s = ? WHERE %s = ? AND %s > ?", t, d, e, k, e)
	q.exists = fmt.Sprintf("SELECT 1 FROM %s WHERE %s = ? AND %s > ?", t, k, e)
	q.del = fmt.Sprintf("DELETE FROM %s WHERE %s = ?", t, k)
	q.probe = fmt.Sprintf("SELECT %s, %s, %s FROM %s WHERE 1 = 0", k, d, e, t)
	q.countExpired = fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s <= ?", t, e)

	switch kind {
	case dSQLite, dPostgres:
		// One atomic statement: insert, or take over the key of an expired
		// row; a live row makes it affect nothing.
		q.upsert = true
		q.insert = fmt.Sprintf("INSERT INTO %s AS cur (%s, %s, %s) VALUES (?, ?, ?) ON CONFLICT (%s) DO UPDATE SET %s = excluded.%s, %s = excluded.%s WHERE cur.%s <= ?",
			t, k, d, e, k, d, d, e, e, e)
	case dMySQL:
		q.insert = fmt.Sprintf("INSERT INTO %s (%s, %s, %s) VALUES (?, ?, ?)", t, k, d, e)
		q.dropExpired = fmt.Sprintf("DELETE FROM %s WHERE %s = ? AND %s <= ?", t, k, e)
	}

	switch kind {
	case dSQLite:
		// Rows of equal expiry follow rowid order in the expire_date index.
		q.clear = buildClear(t, e, "CAST("+e+" AS TEXT)", "rowid", false)
		q.clearKeyed = buildClear(t, e, "CAST("+e+" AS TEXT)", k, true)
		q.noRowid = fmt.Sprintf("SELECT rowid FROM %s WHERE 1 = 0", t)
		q.createTable = []string{
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s varchar(40) NOT NULL PRIMARY KEY, %s text NOT NULL, %s datetime NOT NULL)", t, k, d, e),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", idx, t, e),
		}
	case dPostgres:
		q.clear = buildClear(t, e, e, k, true)
		q.createTable = []string{
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s varchar(40) NOT NULL PRIMARY KEY, %s text NOT NULL, %s timestamp with time zone NOT NULL)", t, k, d, e),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", idx, t, e),
		}
	case dMySQL:
		// InnoDB's expire_date index ends with the primary key: rows of
		// equal expiry follow session_key order in it. The expiry travels
		// as text, as the store binds it.
		q.clear = buildClear(t, e, "CAST("+e+" AS CHAR)", k, true)
		q.createTable = []string{
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s varchar(40) NOT NULL PRIMARY KEY, %s longtext NOT NULL, %s datetime(6) NOT NULL, INDEX %s (%s))", t, k, d, e, idx, e),
		}
	}
	return q
}

// clearQueries are the statements of ClearExpired's keyset cursor. The
// SELECTs end with "LIMIT " and take the limit appended.
type clearQueries struct {
	first    string // now -> at, tie: the oldest expired rows
	after    string // at, now -> at, tie: expired rows after expiry at
	run      string // at -> tie: rows of expiry at, from the first tie
	runAfter string // at, tie -> tie: rows of expiry at after tie
	del      string // ties, now: delete the rows still expired
	keyTie   bool   // tie is session_key (a string), not rowid (an integer)
}

// buildClear builds the cursor's statements over table t with expiry
// column e read as atExpr, rows of equal expiry ordered by the column tie.
// Every SELECT is one range of the expire_date index (tie included, where
// the index orders by it), bounded by its limit.
func buildClear(t, e, atExpr, tie string, keyTie bool) clearQueries {
	return clearQueries{
		first:    fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s <= ? ORDER BY %s LIMIT ", atExpr, tie, t, e, e),
		after:    fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s > ? AND %s <= ? ORDER BY %s LIMIT ", atExpr, tie, t, e, e, e),
		run:      fmt.Sprintf("SELECT %s FROM %s WHERE %s = ? ORDER BY %s LIMIT ", tie, t, e, tie),
		runAfter: fmt.Sprintf("SELECT %s FROM %s WHERE %s = ? AND %s > ? ORDER BY %s LIMIT ", tie, t, e, tie, tie),
		del:      fmt.Sprintf("DELETE FROM %s WHERE %s IN ? AND %s <= ?", t, tie, e),
		keyTie:   keyTie,
	}
}

// timeArg is the bind value for an instant. SQLite and MySQL get UTC text
// (so neither the driver's loc setting nor the server's time zone can shift
// it); PostgreSQL gets the instant itself for its timestamptz column.
func (q *queries) timeArg(t time.Time) any {
	if q.kind == dPostgres {
		return t.UTC()
	}
	return t.UTC().Format(textTimeLayout)
}

// expiryScanner reads an expire_date value in any form the drivers return.
type expiryScanner struct {
	// naiveUTC means the column holds UTC wall-clock time without a zone
	// (MySQL datetime): a driver-made time.Time keeps its wall clock and is
	// re-read as UTC, whatever loc the driver parsed it in.
	naiveUTC bool
	t        time.Time
}

func (s *expiryScanner) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		if s.naiveUTC {
			s.t = time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), time.UTC)
		} else {
			s.t = v.UTC()
		}
		return nil
	case string:
		return s.parse(v)
	case []byte:
		return s.parse(string(v))
	default:
		return fmt.Errorf("unexpected expire_date value of type %T: %w", v, core.ErrTampered)
	}
}

// textLayouts are the text forms accepted, tried in order. Parsing accepts a
// fractional second after the seconds even when the layout has none.
var textLayouts = []string{
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02 15:04:05-0700",
}

func (s *expiryScanner) parse(text string) error {
	for _, layout := range textLayouts {
		if t, err := time.ParseInLocation(layout, text, time.UTC); err == nil {
			s.t = t.UTC()
			return nil
		}
	}
	// A row whose expiry cannot be read is corrupt data, like undecodable
	// session_data: the visitor gets an empty session, not a failed request.
	return fmt.Errorf("unparsable expire_date %.40q: %w", text, core.ErrTampered)
}
