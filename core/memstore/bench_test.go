package memstore_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// fullSize is the count bound of the stores BenchmarkSaveWhenFull fills.
const fullSize = 200_000

// benchKey returns the i-th of a series of distinct valid keys, all of one
// length.
func benchKey(i int) string {
	b := []byte("bench000000000000")
	for j := len(b) - 1; i > 0; j-- {
		b[j] = byte('0' + i%10)
		i /= 10
	}
	return string(b)
}

// saver is the part of a store the benchmark drives.
type saver interface {
	Save(ctx context.Context, rec core.Record, mode core.SaveMode) error
}

// BenchmarkSaveWhenFull creates one record per op in a store full of live
// records, so every op must make room (issue 13). "heap" is this package;
// "bytes" is the same with the byte bound, not the count, binding; "scan" is
// the eviction memstore had before (clear every expired record by scanning
// the whole map, then sample 16), kept here only for comparison.
func BenchmarkSaveWhenFull(b *testing.B) {
	data := []byte(`{"_auth_user_id":"42","cart":[1,2,3]}`)
	perRecord := int64(len(benchKey(fullSize))+len(data)) + memstore.RecordOverhead
	stores := []struct {
		name string
		new  func() saver
	}{
		{"heap", func() saver { return memstore.New(fullSize) }},
		{"bytes", func() saver { return memstore.New(10*fullSize, memstore.WithMaxBytes(fullSize*perRecord)) }},
		{"scan", func() saver { return newScanStore(fullSize) }},
	}
	for _, s := range stores {
		b.Run(s.name+"/n="+strconv.Itoa(fullSize), func(b *testing.B) {
			ctx := context.Background()
			st := s.new()
			exp := time.Now().Add(time.Hour)
			for i := 0; i < fullSize; i++ {
				rec := core.Record{Key: benchKey(i), Data: data, Expiry: exp.Add(time.Duration(i) * time.Millisecond)}
				if err := st.Save(ctx, rec, core.Create); err != nil {
					b.Fatal(err)
				}
			}
			i := fullSize
			for b.Loop() {
				rec := core.Record{Key: benchKey(i), Data: data, Expiry: exp.Add(time.Duration(i) * time.Millisecond)}
				if err := st.Save(ctx, rec, core.Create); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if l, ok := st.(interface{ Len() int }); ok && l.Len() != fullSize {
				b.Fatalf("Len = %d, want %d", l.Len(), fullSize)
			}
		})
	}
}

// scanStore is memstore's Save and eviction as they were before issue 13,
// reduced to Create, for BenchmarkSaveWhenFull's comparison only.
type scanStore struct {
	mu    sync.Mutex
	items map[string]scanItem
	max   int
}

type scanItem struct {
	data   []byte
	expiry time.Time
}

func newScanStore(max int) *scanStore { return &scanStore{items: make(map[string]scanItem), max: max} }

func (s *scanStore) Len() int { return len(s.items) }

func (s *scanStore) Save(_ context.Context, rec core.Record, _ core.SaveMode) error {
	it := scanItem{data: append([]byte(nil), rec.Data...), expiry: rec.Expiry}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.items[rec.Key]; !exists && len(s.items) >= s.max {
		s.evictLocked(now)
	}
	s.items[rec.Key] = it
	return nil
}

func (s *scanStore) evictLocked(now time.Time) {
	var cleared int
	for k, it := range s.items { // the full scan issue 13 removes
		if !it.expiry.After(now) {
			delete(s.items, k)
			cleared++
		}
	}
	if cleared > 0 {
		return
	}
	const sample = 16
	var victim string
	var soonest time.Time
	n := 0
	for k, it := range s.items {
		if victim == "" || it.expiry.Before(soonest) {
			victim, soonest = k, it.expiry
		}
		if n++; n == sample {
			break
		}
	}
	delete(s.items, victim)
}
