package gormstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// VersionColumn is the column [WithVersioning] adds.
const VersionColumn = "cloakroom_version"

// WithVersioning makes the store a core.VersionedStore, for
// core.Config.Optimistic: parallel requests of one session then lose no
// change. It adds the column cloakroom_version bigint NOT NULL DEFAULT 1 to
// the table when it is missing (the only time gormstore alters a table, and
// only when asked); Django ignores the column, and its inserts get the
// default. It is off by default.
func WithVersioning() Option {
	return func(o *options) { o.versioning = true }
}

func (s *Store) setUpVersioning(ctx context.Context) error {
	db := s.db.WithContext(ctx)
	t, v := quote(s.db, s.table), quote(s.db, VersionColumn)
	if err := db.Exec(fmt.Sprintf("SELECT %s FROM %s WHERE 1 = 0", v, t)).Error; err != nil {
		if err := db.Exec(fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s bigint NOT NULL DEFAULT 1", t, v)).Error; err != nil {
			// Another process may have added it meanwhile.
			if db.Exec(fmt.Sprintf("SELECT %s FROM %s WHERE 1 = 0", v, t)).Error != nil {
				return fmt.Errorf("gormstore: adding %s to %s: %w", VersionColumn, s.table, err)
			}
		}
	}
	k, d, e := quote(s.db, colKey), quote(s.db, colData), quote(s.db, colExpiry)
	expiryCol := e
	if s.q.kind == dSQLite {
		expiryCol = "CAST(" + e + " AS TEXT)"
	}
	// Every write moves the version, plain updates included.
	s.q.update = fmt.Sprintf("UPDATE %s SET %s = ?, %s = ?, %s = %s + 1 WHERE %s = ? AND %s > ?", t, d, e, v, v, k, e)
	s.vq.load = fmt.Sprintf("SELECT %s, %s, %s FROM %s WHERE %s = ? AND %s > ?", d, expiryCol, v, t, k, e)
	s.vq.update = fmt.Sprintf("UPDATE %s SET %s = ?, %s = ?, %s = %s + 1 WHERE %s = ? AND %s > ? AND %s = ?", t, d, e, v, v, k, e, v)
	return nil
}

// versionQueries are the statements of a store with versioning.
type versionQueries struct{ load, update string }

func (s *Store) requireVersioning() error {
	if !s.cfg.versioning {
		return fmt.Errorf("gormstore: versioned operations need gormstore.WithVersioning(): %w", core.ErrUnsupported)
	}
	return nil
}

// LoadVersion implements core.VersionedStore.
func (s *Store) LoadVersion(ctx context.Context, key string) (core.Record, uint64, error) {
	if err := s.requireVersioning(); err != nil {
		return core.Record{}, 0, err
	}
	if err := checkKey("load", key); err != nil {
		return core.Record{}, 0, err
	}
	var data []byte
	var version uint64
	exp := expiryScanner{naiveUTC: s.q.kind == dMySQL}
	switch err := scanRow(s.db.WithContext(ctx), s.vq.load, []any{key, s.q.timeArg(s.now())}, &data, &exp, &version); {
	case errors.Is(err, sql.ErrNoRows):
		return core.Record{}, 0, fmt.Errorf("gormstore: load: %w", core.ErrNotFound)
	case err != nil:
		return core.Record{}, 0, fmt.Errorf("gormstore: load from %s: %w", s.table, err)
	}
	return core.Record{Key: key, Data: data, Expiry: exp.t}, version, nil
}

// SaveVersion implements core.VersionedStore: one UPDATE that matches only
// the live row still at version.
func (s *Store) SaveVersion(ctx context.Context, rec core.Record, version uint64) error {
	if err := s.requireVersioning(); err != nil {
		return err
	}
	if err := checkKey("save", rec.Key); err != nil {
		return err
	}
	db := s.db.WithContext(ctx)
	now := s.q.timeArg(s.now())
	res := db.Exec(s.vq.update, string(rec.Data), s.q.timeArg(rec.Expiry.Truncate(time.Microsecond)), rec.Key, now, version)
	if res.Error != nil {
		return fmt.Errorf("gormstore: versioned update of %s: %w", s.table, res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	var one int
	switch err := scanRow(db, s.q.exists, []any{rec.Key, now}, &one); {
	case err == nil:
		return fmt.Errorf("gormstore: versioned update: %w", core.ErrVersionConflict)
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("gormstore: versioned update: %w", core.ErrSessionDeleted)
	default:
		return fmt.Errorf("gormstore: versioned update of %s: checking the row: %w", s.table, err)
	}
}
