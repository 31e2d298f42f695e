package gormstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/cloakroom/cloakroom/core"
)

// Store keeps sessions in a django_session table through GORM. It is safe
// for concurrent use. Create it with [New]; call [Store.Close] when done if
// a background cleaner was started.
type Store struct {
	db    *gorm.DB
	q     queries
	vq    versionQueries
	table string
	cfg   options

	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

var (
	_ core.Store          = (*Store)(nil)
	_ core.ExpiredClearer = (*Store)(nil)
)

// New returns a store over db, which must use the sqlite, postgres or mysql
// GORM dialect. Unless [WithoutMigration] is given it creates the table and
// its expire_date index when the table does not exist; it never alters an
// existing table. It then checks that the table has the session_key,
// session_data and expire_date columns.
//
// ctx bounds the setup queries and the life of the background cleaner
// started by [WithCleanup]: cancelling it stops the cleaner as Close does.
// The store does not own db; closing the store leaves db open.
//
// Invalid options give an error wrapping [core.ErrInvalidConfig]; database
// failures are returned wrapped. A nil option is ignored.
func New(ctx context.Context, db *gorm.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("gormstore: nil *gorm.DB: %w", core.ErrInvalidConfig)
	}
	cfg := defaultOptions()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	// Drop any conditions or table chained onto db by the caller.
	db = db.Session(&gorm.Session{NewDB: true})
	kind, err := dialectOf(db)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, table: cfg.table, cfg: cfg, q: buildQueries(db, kind, cfg.table)}
	if cfg.migrate {
		if err := s.migrate(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.probe(ctx); err != nil {
		return nil, err
	}
	if cfg.userIndex {
		if err := s.migrateUsers(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.versioning {
		if err := s.setUpVersioning(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.cleanup > 0 {
		s.startCleaner(ctx)
	}
	return s, nil
}

// TableName returns the name of the table the store uses.
func (s *Store) TableName() string { return s.table }

func (s *Store) now() time.Time { return s.cfg.now().UTC() }

func checkKey(op, key string) error {
	if !core.ValidKey(key) {
		return fmt.Errorf("gormstore: %s %.50q: %w", op, key, core.ErrInvalidKey)
	}
	return nil
}

// Load implements [core.Store]. Only a row whose expire_date is after the
// current time is returned; the comparison happens in SQL. The returned
// Expiry is in UTC.
func (s *Store) Load(ctx context.Context, key string) (core.Record, error) {
	if err := checkKey("load", key); err != nil {
		return core.Record{}, err
	}
	var data []byte
	exp := expiryScanner{naiveUTC: s.q.kind == dMySQL}
	switch err := scanRow(s.db.WithContext(ctx), s.q.load, []any{key, s.q.timeArg(s.now())}, &data, &exp); {
	case errors.Is(err, sql.ErrNoRows):
		return core.Record{}, fmt.Errorf("gormstore: load: %w", core.ErrNotFound)
	case err != nil:
		return core.Record{}, fmt.Errorf("gormstore: load from %s: %w", s.table, err)
	}
	return core.Record{Key: key, Data: data, Expiry: exp.t}, nil
}

// Save implements [core.Store]. rec.Expiry is stored in UTC with microsecond
// precision (finer digits are dropped) and must lie between the years 1000
// and 9999.
//
// Create inserts the row. If the key belongs to a live row it returns an
// error wrapping [core.ErrKeyExists]; if it belongs to an expired row, that
// row is replaced (its old data is never loaded again).
//
// Update rewrites data and expiry of the live row with rec.Key; if there is
// none (deleted, or expired) it returns an error wrapping
// [core.ErrSessionDeleted] and writes nothing.
func (s *Store) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	if err := checkKey("save", rec.Key); err != nil {
		return err
	}
	if y := rec.Expiry.UTC().Year(); y < 1000 || y > 9999 {
		return fmt.Errorf("gormstore: save: expiry %v outside the years 1000..9999", rec.Expiry)
	}
	exp := s.q.timeArg(rec.Expiry.Truncate(time.Microsecond))
	db := s.db.WithContext(ctx)
	if mode == core.Create {
		return s.create(db, rec.Key, string(rec.Data), exp)
	}
	now := s.q.timeArg(s.now())
	res := db.Exec(s.q.update, string(rec.Data), exp, rec.Key, now)
	if res.Error != nil {
		return fmt.Errorf("gormstore: update %s: %w", s.table, res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	if s.q.kind == dMySQL {
		// MySQL counts changed rows, not matched ones: 0 may mean the row
		// already held these exact values.
		var one int
		switch err := scanRow(db, s.q.exists, []any{rec.Key, now}, &one); {
		case err == nil:
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("gormstore: update %s: checking the row: %w", s.table, err)
		}
	}
	return fmt.Errorf("gormstore: update: %w", core.ErrSessionDeleted)
}

func (s *Store) create(db *gorm.DB, key, data string, exp any) error {
	now := s.q.timeArg(s.now())
	if s.q.upsert {
		res := db.Exec(s.q.insert, key, data, exp, now)
		if res.Error != nil {
			return fmt.Errorf("gormstore: create in %s: %w", s.table, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("gormstore: create: %w", core.ErrKeyExists)
		}
		return nil
	}
	// MySQL: plain INSERT; on a duplicate key, remove the row if it has
	// expired and try once more. A concurrent creator can still win the
	// second round, which the primary key settles.
	for attempt := 0; ; attempt++ {
		err := db.Exec(s.q.insert, key, data, exp).Error
		if err == nil {
			return nil
		}
		if !s.isDuplicate(err) {
			return fmt.Errorf("gormstore: create in %s: %w", s.table, err)
		}
		if attempt > 0 {
			return fmt.Errorf("gormstore: create: %w", core.ErrKeyExists)
		}
		res := db.Exec(s.q.dropExpired, key, now)
		if res.Error != nil {
			return fmt.Errorf("gormstore: create in %s: removing an expired row: %w", s.table, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("gormstore: create: %w", core.ErrKeyExists)
		}
	}
}

// isDuplicate reports whether err is a primary-key violation, using the
// dialect's error translation (whether or not the *gorm.DB was opened with
// TranslateError).
func (s *Store) isDuplicate(err error) bool {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	if tr, ok := s.db.Dialector.(gorm.ErrorTranslator); ok {
		return errors.Is(tr.Translate(err), gorm.ErrDuplicatedKey)
	}
	return false
}

// Delete implements [core.Store]. Deleting a missing row is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey("delete", key); err != nil {
		return err
	}
	if err := s.db.WithContext(ctx).Exec(s.q.del, key).Error; err != nil {
		return fmt.Errorf("gormstore: delete from %s: %w", s.table, err)
	}
	return nil
}

// scanRow runs a query expected to return at most one row and scans it;
// no row gives sql.ErrNoRows.
func scanRow(db *gorm.DB, query string, args []any, dest ...any) error {
	tx := db.Raw(query, args...)
	row := tx.Row()
	if row == nil { // GORM failed before running the query (or dry run)
		if tx.Error != nil {
			return tx.Error
		}
		return errors.New("GORM returned no row (dry-run mode?)")
	}
	return row.Scan(dest...)
}
