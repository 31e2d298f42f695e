package memstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// checkInvariants verifies the store's internal consistency: the heap holds
// exactly the records of the map, in heap order, with correct indexes; bytes
// is their total size; the user index links only held keys, both ways.
func checkInvariants(t *testing.T, s *Store) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.byExpiry) != len(s.items) {
		t.Fatalf("heap holds %d records, map %d", len(s.byExpiry), len(s.items))
	}
	var bytes int64
	for i, it := range s.byExpiry {
		if it.index != i {
			t.Fatalf("heap[%d] says its index is %d", i, it.index)
		}
		if s.items[it.key] != it {
			t.Fatalf("heap[%d] (%s) is not the map's record", i, it.key)
		}
		if i > 0 && s.byExpiry.Less(i, (i-1)/2) {
			t.Fatalf("heap[%d] expires before its parent", i)
		}
		bytes += recordSize(it.key, it.data)
	}
	if bytes != s.bytes {
		t.Fatalf("bytes = %d, records add up to %d", s.bytes, bytes)
	}
	if s.bytes > s.maxBytes || len(s.items) > s.max {
		t.Fatalf("bounds crossed: %d bytes of %d, %d records of %d", s.bytes, s.maxBytes, len(s.items), s.max)
	}
	for key, u := range s.owner {
		if _, ok := s.items[key]; !ok {
			t.Fatalf("key %s linked to %s is not held", key, u)
		}
		if _, ok := s.users[u][key]; !ok {
			t.Fatalf("owner says %s belongs to %s; users disagrees", key, u)
		}
	}
	for u, keys := range s.users {
		if len(keys) == 0 {
			t.Fatalf("user %s has an empty key set", u)
		}
		for key := range keys {
			if s.owner[key] != u {
				t.Fatalf("users says %s belongs to %s; owner says %q", key, u, s.owner[key])
			}
		}
	}
}

func TestInvariantsUnderRandomOps(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(40, WithMaxBytes(15_000), WithClock(func() time.Time { return now }))
	rng := rand.New(rand.NewPCG(3, 4))
	key := func() string { return fmt.Sprintf("key%06d", rng.IntN(120)) }
	user := func() string { return fmt.Sprintf("user%d", rng.IntN(5)) }
	for step := 0; step < 20_000; step++ {
		rec := core.Record{Key: key(), Data: make([]byte, rng.IntN(800)), Expiry: now.Add(time.Duration(rng.IntN(7200)-1800) * time.Second)}
		switch rng.IntN(9) {
		case 0:
			_ = s.Save(ctx, rec, core.Create)
		case 1:
			_ = s.Save(ctx, rec, core.Update)
		case 2:
			_, v, _ := s.LoadVersion(ctx, rec.Key)
			_ = s.SaveVersion(ctx, rec, v)
		case 3:
			_ = s.Delete(ctx, rec.Key)
		case 4:
			_ = s.LinkUser(ctx, user(), rec.Key, rec.Expiry)
		case 5:
			_ = s.UnlinkUser(ctx, rec.Key)
		case 6:
			_, _ = s.DeleteUserSessions(ctx, user())
		case 7:
			_, _ = s.ClearExpired(ctx)
		case 8:
			now = now.Add(time.Duration(rng.IntN(300)) * time.Second)
		}
		checkInvariants(t, s)
	}
}

// TestCreateOverExpiredDropsUserLink: a Create that replaces an expired
// record stores a new session, which the old one's user does not own.
func TestCreateOverExpiredDropsUserLink(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s := New(0, WithClock(func() time.Time { return now }))
	k := "key000000001"
	if err := s.Save(ctx, core.Record{Key: k, Data: []byte(`{}`), Expiry: now.Add(time.Minute)}, core.Create); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkUser(ctx, "alice", k, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if err := s.Save(ctx, core.Record{Key: k, Data: []byte(`{}`), Expiry: now.Add(time.Minute)}, core.Create); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.DeleteUserSessions(ctx, "alice"); n != 0 {
		t.Fatalf("DeleteUserSessions deleted %d sessions; the new one is not alice's", n)
	}
	if _, err := s.Load(ctx, k); err != nil {
		t.Fatalf("new session gone: %v", err)
	}
	checkInvariants(t, s)
}
