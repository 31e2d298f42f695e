package cachedstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// GenerationKey is the key of the record in the database store that holds
// the cache generation (16 hex digits). It is a valid session key that the
// manager never draws (its keys have 32 characters), and the store refuses
// it from callers: it is never loaded, saved or deleted as a session.
const GenerationKey = "cloakroomcachegeneration"

// generationLife is the expiry given to the generation record; when it
// runs out the record is simply drawn again.
const generationLife = 10 * 365 * 24 * time.Hour

// generation is this process's copy of the cache generation.
type generation struct {
	value    atomic.Uint64 // 0: unknown
	readAt   atomic.Int64  // when value was read or written, Unix ns
	mustBump atomic.Bool   // a renewal failed: the cache is not trusted

	mu       sync.Mutex    // serialises reads and renewals
	requests atomic.Uint64 // renewals asked for
	served   uint64        // requests covered by the last renewal (under mu)
}

// generation returns the current cache generation, reading it from the
// database when this process's copy is older than the refresh interval. It
// reports false when the cache must not be used: the generation is being
// read by another goroutine, or cannot be read or renewed.
func (s *Store) generation(ctx context.Context) (uint64, bool) {
	g := &s.gen
	if v := g.value.Load(); v != 0 && !g.mustBump.Load() && s.now().UnixNano()-g.readAt.Load() < int64(s.refresh) {
		return v, true
	}
	if g.mustBump.Load() {
		if err := s.bump(ctx); err != nil {
			return 0, false
		}
		return g.value.Load(), true
	}
	if !g.mu.TryLock() {
		return 0, false // being read or renewed: use the database meanwhile
	}
	defer g.mu.Unlock()
	v, err := s.readGeneration(ctx)
	if err != nil {
		s.log.Warn("cachedstore: cannot read the cache generation; reading from the database only", "err", err)
		return 0, false
	}
	g.value.Store(v)
	g.readAt.Store(s.now().UnixNano())
	return v, true
}

// readGeneration loads the generation record, drawing one when there is
// none (or it is unreadable). g.mu must be held.
func (s *Store) readGeneration(ctx context.Context) (uint64, error) {
	for try := 0; try < 3; try++ {
		rec, err := s.db.Load(ctx, GenerationKey)
		if err == nil {
			if v, ok := parseGeneration(rec.Data); ok {
				return v, nil
			}
			return s.writeGeneration(ctx, core.Update)
		}
		if !errors.Is(err, core.ErrNotFound) {
			return 0, fmt.Errorf("reading the cache generation: %w", err)
		}
		v, err := s.writeGeneration(ctx, core.Create)
		if errors.Is(err, core.ErrKeyExists) {
			continue // another process drew it first: read theirs
		}
		return v, err
	}
	return 0, errors.New("the cache generation record keeps changing")
}

// writeGeneration draws a new generation and stores it. g.mu must be held.
func (s *Store) writeGeneration(ctx context.Context, mode core.SaveMode) (uint64, error) {
	v := newGeneration()
	rec := core.Record{Key: GenerationKey, Data: []byte(fmt.Sprintf("%016x", v)), Expiry: s.now().Add(generationLife)}
	err := s.db.Save(ctx, rec, mode)
	if mode == core.Update && errors.Is(err, core.ErrSessionDeleted) {
		err = s.db.Save(ctx, rec, core.Create)
		if errors.Is(err, core.ErrKeyExists) {
			err = s.db.Save(ctx, rec, core.Update)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("writing the cache generation: %w", err)
	}
	return v, nil
}

// bump ends the current cache generation: every entry cached so far is
// ignored from now on by this process and by any process that reads the
// generation afterwards. Concurrent callers share one renewal, which
// always starts after the caller's database write. On failure the store
// reads from the database only until a renewal succeeds.
func (s *Store) bump(ctx context.Context) error {
	g := &s.gen
	ticket := g.requests.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.served >= ticket {
		return nil // a renewal that began after our request covered it
	}
	covered := g.requests.Load()
	v, err := s.writeGeneration(ctx, core.Update)
	if err != nil {
		if !g.mustBump.Swap(true) {
			s.log.Error("cachedstore: cannot renew the cache generation; reading from the database only until it can", "err", err)
		}
		return err
	}
	g.value.Store(v)
	g.readAt.Store(s.now().UnixNano())
	g.served = covered
	if g.mustBump.Swap(false) {
		s.log.Info("cachedstore: cache generation renewed; the cache is used again")
	}
	return nil
}

func newGeneration() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		if v := binary.BigEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

func parseGeneration(data []byte) (uint64, bool) {
	if len(data) != 16 {
		return 0, false
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], data); err != nil {
		return 0, false
	}
	v := binary.BigEndian.Uint64(b[:])
	return v, v != 0
}

// A cache entry is the record's data behind a text header, so that any
// store that keeps text can be the cache: "cg1." then the generation and
// the database version (0: unknown) as 16 hex digits each, then ".".
const (
	entryMagic  = "cg1."
	entryHeader = len(entryMagic) + 16 + 16 + 1
)

type entry struct {
	gen, version uint64
	data         []byte
}

func encodeEntry(gen, version uint64, data []byte) []byte {
	b := make([]byte, 0, entryHeader+len(data))
	b = append(b, entryMagic...)
	b = appendHex(b, gen)
	b = appendHex(b, version)
	b = append(b, '.')
	return append(b, data...)
}

func appendHex(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[v>>uint(shift)&0xf])
	}
	return b
}

func parseHex(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

func decodeEntry(b []byte) (entry, bool) {
	if len(b) < entryHeader || string(b[:len(entryMagic)]) != entryMagic || b[entryHeader-1] != '.' {
		return entry{}, false
	}
	gen, ok1 := parseHex(b[len(entryMagic) : len(entryMagic)+16])
	version, ok2 := parseHex(b[len(entryMagic)+16 : len(entryMagic)+32])
	if !ok1 || !ok2 {
		return entry{}, false
	}
	return entry{gen: gen, version: version, data: b[entryHeader:]}, true
}

// EntryData returns the session data inside a cache entry written by a
// [Store], for tools that inspect the cache; ok is false for a value that
// is not such an entry. It does not tell whether the entry is current.
func EntryData(b []byte) (data []byte, ok bool) {
	e, ok := decodeEntry(b)
	return e.data, ok
}
