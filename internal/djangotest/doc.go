// Package djangotest holds the interop tests between cloakroom and a real
// Django (Debian's python3-django): TestSharedDatabase (gormstore with
// djangocodec on one SQLite database) and TestDjangoHTTPInterop, a Django
// app and a Go app on 127.0.0.1 sharing one session cookie over HTTP for
// the db (SQLite, PostgreSQL, MariaDB), cached_db and cache (memcached) and
// signed_cookies backends. It has no non-test code.
package djangotest
