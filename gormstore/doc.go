// Package gormstore is cloakroom's durable session store: Django's
// django_session table reached through GORM.
//
// It works with SQLite (gorm.io/driver/sqlite, the embedded default; open
// the database with package gormstore/sqlitedb, which sets it up for
// concurrent requests), PostgreSQL (gorm.io/driver/postgres) and MySQL or
// MariaDB (gorm.io/driver/mysql). gormstore itself needs no cgo: only
// programs that import sqlitedb link the C SQLite driver. The table has Django's layout, so a Go service and
// a Django project can point at the same table:
//
//	session_key  varchar(40) primary key
//	session_data text (longtext on MySQL)
//	expire_date  datetime (SQLite), timestamp with time zone (PostgreSQL),
//	             datetime(6) (MySQL), indexed
//
// Expiry instants are stored in UTC, as Django stores them with USE_TZ=True;
// on SQLite as text "2006-01-02 15:04:05.000000", on MySQL as a naive
// datetime(6) holding UTC wall-clock time. Expiry is compared in SQL against
// the current time passed from Go as a UTC parameter, so neither the
// process's nor the database's time zone matters.
//
// [New] creates the table and its expire_date index when the table is
// missing (turn this off with [WithoutMigration]); an existing table,
// including one Django created, is never altered. Expired rows are removed
// by [Store.ClearExpired] in bounded batches, and optionally by a background
// cleaner ([WithCleanup]) that [Store.Close] or the cancellation of New's
// context stops.
//
// MySQL note: Update detects a deleted session through the number of
// affected rows. MySQL reports 0 affected rows when an UPDATE writes values
// equal to the stored ones, so when it reports 0 the store checks with a
// SELECT whether the session is still there; no DSN flag is required (with
// clientFoundRows=true the extra SELECT never runs). Any loc and parseTime
// setting works; parseTime=true is recommended.
package gormstore
