// Package compositiontest runs the conformance suite over every wrapper
// (cache in front of a database, hashed keys, metrics) stacked on every
// store it can wrap, on real backends (SQLite files, a real memcached,
// files), and the manager over those stacks with the encryption codec. A
// wrapper that drops a capability of the store it wraps, or serves data
// another instance made stale, fails here. It has no code of its own.
package compositiontest
