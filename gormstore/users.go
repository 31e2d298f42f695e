package gormstore

import (
	"context"
	"fmt"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"gorm.io/gorm"
)

// UserTableSuffix is appended to the session table's name to name the table
// of user links kept with [WithUserIndex] (django_session_user by default).
const UserTableSuffix = "_user"

// WithUserIndex keeps a second table linking users to their sessions, so
// that [core.Manager.LogoutEverywhere] can delete all of a user's sessions
// (after a password change). The session table itself is left as Django
// made it. Without this option the store does not offer core.UserIndex
// behaviour (the default): LinkUser does nothing and DeleteUserSessions
// fails.
func WithUserIndex() Option {
	return func(o *options) { o.userIndex = true }
}

func (s *Store) userTable() string { return s.table + UserTableSuffix }

// migrateUsers creates the user link table when missing.
func (s *Store) migrateUsers(ctx context.Context) error {
	u := quote(s.db, s.userTable())
	idx := quote(s.db, djangoIndexName(s.userTable())+"_u")
	timeType := map[dialectKind]string{dSQLite: "datetime", dPostgres: "timestamp with time zone", dMySQL: "datetime(6)"}[s.q.kind]
	stmts := []string{fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (user_id varchar(150) NOT NULL, session_key varchar(40) NOT NULL PRIMARY KEY, expire_date %s NOT NULL)", u, timeType)}
	if s.q.kind == dMySQL {
		stmts[0] = stmts[0][:len(stmts[0])-1] + fmt.Sprintf(", INDEX %s (user_id))", idx)
	} else {
		stmts = append(stmts, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (user_id)", idx, u))
	}
	db := s.db.WithContext(ctx)
	if db.Migrator().HasTable(s.userTable()) {
		return nil
	}
	for _, stmt := range stmts {
		if err := db.Exec(stmt).Error; err != nil && !db.Migrator().HasTable(s.userTable()) {
			return fmt.Errorf("gormstore: creating table %s: %w", s.userTable(), err)
		}
	}
	return nil
}

// LinkUser implements core.UserIndex: it records that the session under key
// belongs to user. It does nothing without [WithUserIndex].
func (s *Store) LinkUser(ctx context.Context, user, key string, expiry time.Time) error {
	if !s.cfg.userIndex {
		return nil
	}
	if err := checkKey("link user", key); err != nil {
		return err
	}
	if len(user) > 150 {
		return fmt.Errorf("gormstore: user id of %d bytes is longer than 150", len(user))
	}
	u := quote(s.db, s.userTable())
	var stmt string
	switch s.q.kind {
	case dMySQL:
		stmt = fmt.Sprintf("INSERT INTO %s (user_id, session_key, expire_date) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE user_id = VALUES(user_id), expire_date = VALUES(expire_date)", u)
	default:
		stmt = fmt.Sprintf("INSERT INTO %s (user_id, session_key, expire_date) VALUES (?, ?, ?) ON CONFLICT (session_key) DO UPDATE SET user_id = excluded.user_id, expire_date = excluded.expire_date", u)
	}
	if err := s.db.WithContext(ctx).Exec(stmt, user, key, s.q.timeArg(expiry)).Error; err != nil {
		return fmt.Errorf("gormstore: linking a session to its user: %w", err)
	}
	return nil
}

// UnlinkUser implements core.UserIndex: it removes the link of the session
// under key, if any. It does nothing without [WithUserIndex].
func (s *Store) UnlinkUser(ctx context.Context, key string) error {
	if !s.cfg.userIndex {
		return nil
	}
	if err := checkKey("unlink user", key); err != nil {
		return err
	}
	u, k := quote(s.db, s.userTable()), quote(s.db, colKey)
	if err := s.db.WithContext(ctx).Exec(fmt.Sprintf("DELETE FROM %s WHERE %s = ?", u, k), key).Error; err != nil {
		return fmt.Errorf("gormstore: unlinking a session from its user: %w", err)
	}
	return nil
}

// DeleteUserSessions implements core.UserIndex: it deletes every session
// linked to user, and the links, in one transaction, and reports how many
// sessions it deleted.
func (s *Store) DeleteUserSessions(ctx context.Context, user string) (int64, error) {
	keys, err := s.DeleteUserSessionKeys(ctx, user)
	return int64(len(keys)), err
}

// deleteChunk bounds the keys of one DELETE ... IN (...) statement.
const deleteChunk = 500

// DeleteUserSessionKeys implements core.UserKeysDeleter: it is
// DeleteUserSessions returning the keys of the sessions it deleted, so a
// cache in front of the store can drop exactly those. The sessions are
// read and deleted in one transaction (rows locked on PostgreSQL and
// MySQL); a session linked meanwhile is neither deleted nor unlinked.
func (s *Store) DeleteUserSessionKeys(ctx context.Context, user string) ([]string, error) {
	if !s.cfg.userIndex {
		return nil, fmt.Errorf("gormstore: log out everywhere needs gormstore.WithUserIndex(): %w", core.ErrUnsupported)
	}
	t, u := quote(s.db, s.table), quote(s.db, s.userTable())
	k := quote(s.db, colKey)
	lock := " FOR UPDATE"
	if s.q.kind == dSQLite {
		lock = "" // SQLite transactions are serialised
	}
	var keys []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		keys = keys[:0]
		sel := fmt.Sprintf("SELECT %s FROM %s WHERE %s IN (SELECT session_key FROM %s WHERE user_id = ?)%s", k, t, k, u, lock)
		if err := tx.Raw(sel, user).Scan(&keys).Error; err != nil {
			return err
		}
		for i := 0; i < len(keys); i += deleteChunk {
			chunk := keys[i:min(i+deleteChunk, len(keys))]
			if err := tx.Exec(fmt.Sprintf("DELETE FROM %s WHERE %s IN ?", t, k), chunk).Error; err != nil {
				return err
			}
		}
		// The user's links whose session is gone (deleted now or before).
		return tx.Exec(fmt.Sprintf("DELETE FROM %s WHERE user_id = ? AND NOT EXISTS (SELECT 1 FROM %s WHERE %s.%s = %s.session_key)", u, t, t, k, u), user).Error
	})
	if err != nil {
		return nil, fmt.Errorf("gormstore: deleting the sessions of a user: %w", err)
	}
	return keys, nil
}

// UserSessionKeys implements core.UserSessionLister: the keys of the live
// sessions linked to user, soonest expiry first (at most one statement).
// Without [WithUserIndex] it returns an error wrapping core.ErrUnsupported.
func (s *Store) UserSessionKeys(ctx context.Context, user string) ([]string, error) {
	if !s.cfg.userIndex {
		return nil, fmt.Errorf("gormstore: listing a user's sessions needs gormstore.WithUserIndex(): %w", core.ErrUnsupported)
	}
	t, u := quote(s.db, s.table), quote(s.db, s.userTable())
	k, e := quote(s.db, colKey), quote(s.db, colExpiry)
	sel := fmt.Sprintf("SELECT %s FROM %s WHERE %s IN (SELECT session_key FROM %s WHERE user_id = ?) AND %s > ? ORDER BY %s, %s", k, t, k, u, e, e, k)
	var keys []string
	if err := s.db.WithContext(ctx).Raw(sel, user, s.q.timeArg(s.now())).Scan(&keys).Error; err != nil {
		return nil, fmt.Errorf("gormstore: listing the sessions of a user: %w", err)
	}
	return keys, nil
}

// clearUserLinks drops the links of expired sessions (part of ClearExpired).
func (s *Store) clearUserLinks(ctx context.Context, now any) error {
	if !s.cfg.userIndex {
		return nil
	}
	u := quote(s.db, s.userTable())
	if err := s.db.WithContext(ctx).Exec(fmt.Sprintf("DELETE FROM %s WHERE expire_date <= ?", u), now).Error; err != nil {
		return fmt.Errorf("gormstore: clearing expired user links: %w", err)
	}
	return nil
}
