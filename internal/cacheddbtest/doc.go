// Package cacheddbtest holds the end-to-end tests of Django's cached_db
// setup in cloakroom: core/cachedstore with memcachestore (real memcached
// processes started by the tests) in front of gormstore over a SQLite file.
// It has no code of its own.
package cacheddbtest
