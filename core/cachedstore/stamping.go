package cachedstore

import "context"

// entries is how cache entries answer for their freshness, chosen once by
// [New]:
//
//   - stamped (the default): each entry carries the cache generation and the
//     database version; a cache that could not be told of a change is made
//     harmless by ending the generation.
//   - unstamped ([WithUnstampedEntries]): each entry is the record's data
//     alone, as Django's cached_db keeps it; with no generation to end, a
//     cache that could not be told of a change is an error.
type entries interface {
	// generation returns the cache generation new entries are stamped
	// with; false means the cache must not be used now.
	generation(ctx context.Context) (uint64, bool)
	// endGeneration makes every entry cached so far stale, or fails.
	endGeneration(ctx context.Context) error
	// encode makes the cache entry of data.
	encode(gen, version uint64, data []byte) []byte
	// decode reads a cache entry; false means it is not one.
	decode(b []byte) (entry, bool)
	// ordered reports whether entries carry the database version, so that
	// a versioned cache can refuse an older copy (see Store.orderedWrite).
	ordered() bool
	// mustTell reports whether the cache must be told of every change even
	// while it is being left alone after failures, because ending the
	// generation cannot stand in for it.
	mustTell() bool
}

// stamped entries: see [entries].
type stamped struct{ s *Store }

func (e stamped) generation(ctx context.Context) (uint64, bool) { return e.s.generation(ctx) }
func (e stamped) endGeneration(ctx context.Context) error       { return e.s.bump(ctx) }
func (stamped) encode(gen, version uint64, data []byte) []byte {
	return encodeEntry(gen, version, data)
}
func (stamped) decode(b []byte) (entry, bool) { return decodeEntry(b) }
func (stamped) ordered() bool                 { return true }
func (stamped) mustTell() bool                { return false }

// unstamped entries: see [entries].
type unstamped struct{}

// unstampedGeneration is the generation of every unstamped entry.
const unstampedGeneration = 1

func (unstamped) generation(context.Context) (uint64, bool) { return unstampedGeneration, true }
func (unstamped) endGeneration(context.Context) error       { return errUnstamped }
func (unstamped) encode(_, _ uint64, data []byte) []byte    { return data }
func (unstamped) decode(b []byte) (entry, bool) {
	return entry{gen: unstampedGeneration, data: b}, true
}
func (unstamped) ordered() bool  { return false }
func (unstamped) mustTell() bool { return true }
