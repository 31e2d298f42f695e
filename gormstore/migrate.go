package gormstore

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// migrate creates the table and its index when the table is missing. An
// existing table is left exactly as it is.
func (s *Store) migrate(ctx context.Context) error {
	db := s.db.WithContext(ctx)
	if db.Migrator().HasTable(s.table) {
		return nil
	}
	create := func(tx *gorm.DB) error {
		for _, stmt := range s.q.createTable {
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if s.q.kind == dMySQL {
		err = create(db) // one statement; MySQL DDL is not transactional anyway
	} else {
		err = db.Transaction(create)
	}
	if err != nil {
		// Another process may have created the table at the same moment
		// (PostgreSQL can fail a concurrent CREATE TABLE IF NOT EXISTS).
		if db.Migrator().HasTable(s.table) {
			return nil
		}
		return fmt.Errorf("gormstore: creating table %s: %w", s.table, err)
	}
	return nil
}

// probe checks that the table exists with the columns the store uses.
func (s *Store) probe(ctx context.Context) error {
	rows, err := s.db.WithContext(ctx).Raw(s.q.probe).Rows()
	if err != nil {
		return fmt.Errorf("gormstore: table %s is not usable (missing, or lacking session_key, session_data or expire_date?): %w", s.table, err)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("gormstore: probing table %s: %w", s.table, err)
	}
	return nil
}
