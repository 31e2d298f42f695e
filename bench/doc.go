// Package bench measures cloakroom beside the session libraries Gin and Echo
// users would pick instead (gin-contrib/sessions, alexedwards/scs,
// echo-contrib/session) and beside raw handlers, on the same workloads, the
// same SQLite settings and the same memcached and redis-server processes. It
// is a module of its own so that the peers never enter users' dependency
// graphs.
//
//	cd bench && go test -run '^$' -bench . -benchmem
//	bash bench/run.sh   # everything, written to bench/RESULTS.md
package bench
