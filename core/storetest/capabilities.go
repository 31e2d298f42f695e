package storetest

import (
	"errors"
	"slices"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// requireCapability skips the check unless st supports c (see
// [core.Supports]). A store that has c's methods without supporting c (an
// option switched off, a wrapper over a store without c) must say so rather
// than half work: probe calls the method named method, which must return
// ErrUnsupported. has says whether st implements c's interface at all;
// probe is called only if it does.
func requireCapability(t ruled, st core.Store, c core.Capability, has bool, method string, probe func() error) {
	t.Helper()
	if core.Supports(st, c) {
		return
	}
	if has {
		if err := probe(); !errors.Is(err, core.ErrUnsupported) {
			t.Errorf("%s with %v unsupported = %v, want ErrUnsupported", method, c, err)
		}
	}
	t.Skipf("store does not support core.%v", c)
}

// userIndex checks core.UserIndex when the store supports it: linked
// sessions are deleted together, unlinked and other users' sessions stay,
// and a deleted session does not load (from a cache either).
func (s suite) userIndex(t ruled) {
	st := s.newStore(t.T)
	idx, ok := st.(core.UserIndex)
	requireCapability(t, st, core.CapUserIndex, ok, "DeleteUserSessions", func() error {
		_, err := idx.DeleteUserSessions(ctx(t), "nobody")
		return err
	})
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
	lister, canList := st.(core.UserSessionLister)
	if canList {
		checkUserSessionKeys(t, lister, user, mine)
		checkUserSessionKeys(t, lister, "nobody-"+newKey(t)[:12], nil)
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
	if canList {
		checkUserSessionKeys(t, lister, user, nil)
		checkUserSessionKeys(t, lister, other, []core.Record{theirs, moved})
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

// checkUserSessionKeys checks that UserSessionKeys lists exactly want's
// keys, in any order among equal expiries.
func checkUserSessionKeys(t ruled, l core.UserSessionLister, user string, want []core.Record) {
	t.Helper()
	got, err := l.UserSessionKeys(ctx(t), user)
	if err != nil {
		t.Errorf("UserSessionKeys(%q): %v", user, err)
		return
	}
	wantKeys := make([]string, len(want))
	for i, rec := range want {
		wantKeys[i] = rec.Key
	}
	slices.Sort(wantKeys)
	got = slices.Clone(got)
	slices.Sort(got)
	if !slices.Equal(got, wantKeys) {
		t.Errorf("UserSessionKeys(%q) = %q, want %q", user, got, wantKeys)
	}
}

// ping checks core.Pinger when the store supports it.
func (s suite) ping(t ruled) {
	st := s.newStore(t.T)
	p, ok := st.(core.Pinger)
	requireCapability(t, st, core.CapPing, ok, "Ping", func() error { return p.Ping(ctx(t)) })
	if err := p.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping of a working store: %v", err)
	}
}
