package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// userIndex checks core.UserIndex when the store supports it: linked
// sessions are deleted together, unlinked and other users' sessions stay,
// and a deleted session does not load (from a cache either).
func (s suite) userIndex(t *testing.T) {
	st := s.newStore(t)
	if !core.Supports(st, core.CapUserIndex) {
		if idx, ok := st.(core.UserIndex); ok {
			if _, err := idx.DeleteUserSessions(ctx(t), "nobody"); !errors.Is(err, core.ErrUnsupported) {
				t.Errorf("DeleteUserSessions with the user index unsupported = %v, want ErrUnsupported", err)
			}
		}
		t.Skip("store does not support core.UserIndex")
	}
	idx := st.(core.UserIndex)
	user, other := "u-"+newKey(t)[:12], "o-"+newKey(t)[:12]
	save := func(owner string) core.Record {
		t.Helper()
		rec := core.Record{Key: newKey(t), Data: []byte(`{"_auth_user_id":"` + owner + `"}`), Expiry: hour()}
		mustSave(t, st, rec, core.Create)
		if err := idx.LinkUser(ctx(t), owner, rec.Key, rec.Expiry); err != nil {
			t.Fatalf("LinkUser: %v", err)
		}
		s.mustLoad(t, st, rec) // loaded once: a cache now holds a copy
		return rec
	}
	mine := []core.Record{save(user), save(user), save(user)}
	theirs := save(other)
	anon := save(user)
	if err := idx.UnlinkUser(ctx(t), anon.Key); err != nil {
		t.Fatalf("UnlinkUser: %v", err)
	}
	// A session re-linked to another user leaves the first.
	moved := save(user)
	if err := idx.LinkUser(ctx(t), other, moved.Key, moved.Expiry); err != nil {
		t.Fatalf("LinkUser to a second user: %v", err)
	}
	n, err := idx.DeleteUserSessions(ctx(t), user)
	if err != nil {
		t.Fatalf("DeleteUserSessions: %v", err)
	}
	if n != int64(len(mine)) {
		t.Errorf("DeleteUserSessions = %d, want %d", n, len(mine))
	}
	for _, rec := range mine {
		mustNotFound(t, st, rec.Key)
	}
	for _, rec := range []core.Record{theirs, anon, moved} {
		s.mustLoad(t, st, rec)
	}
	if n, err := idx.DeleteUserSessions(ctx(t), user); err != nil || n != 0 {
		t.Errorf("second DeleteUserSessions = %d, %v; want 0, nil", n, err)
	}
	// A link to a deleted session is harmless.
	if err := idx.LinkUser(ctx(t), user, mine[0].Key, time.Now().Add(time.Hour)); err != nil {
		t.Errorf("LinkUser of a deleted session: %v", err)
	}
	for _, bad := range BadKeys[:4] {
		if err := idx.LinkUser(ctx(t), user, bad, hour()); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("LinkUser(%q) = %v, want ErrInvalidKey", bad, err)
		}
	}
}

// ping checks core.Pinger when the store supports it.
func (s suite) ping(t *testing.T) {
	st := s.newStore(t)
	if !core.Supports(st, core.CapPing) {
		t.Skip("store does not support core.Pinger")
	}
	if err := st.(core.Pinger).Ping(ctx(t)); err != nil {
		t.Fatalf("Ping of a working store: %v", err)
	}
}
