package main

import (
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// A sign-in as a user name nobody has costs the same bcrypt rounds as one
// with a wrong password: the hash compared against has the cost of the
// real hashes, before and after a password change.
func TestSignInCostsTheSameForUnknownUsers(t *testing.T) {
	const cost = bcrypt.MinCost + 1
	u, err := newUsers(cost)
	if err != nil {
		t.Fatal(err)
	}
	costOf := func(name string) (int, bool) {
		h, known := u.hashFor(name)
		c, err := bcrypt.Cost(h)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return c, known
	}
	for _, name := range []string{"alice", "bob", "mallory", ""} {
		c, known := costOf(name)
		if c != cost {
			t.Errorf("signing in as %q (known %t) compares against a hash of cost %d, want %d", name, known, c, cost)
		}
	}
	if err := u.setPassword("alice", "looking-glass", cost); err != nil {
		t.Fatal(err)
	}
	if a, _ := costOf("alice"); a != cost {
		t.Errorf("after a password change: cost %d, want %d", a, cost)
	}
	// The outcomes: only the right password of a known user signs in, and
	// the decoy's own password opens nothing.
	if !u.check("alice", "looking-glass") || u.check("alice", "wonderland") || u.check("mallory", "no user has this password") {
		t.Error("check answers wrongly")
	}
}

// The sign-in of an unknown user name takes about as long as a known one
// with a wrong password: it does compare the password with the decoy. The
// bound is loose, for busy machines (TestSignInCostsTheSameForUnknownUsers
// is the exact check), but a decoy of the lowest cost, 4, would be 8 times
// faster at cost 7. Cost 7 keeps the test near a second under the race
// detector.
func TestSignInTiming(t *testing.T) {
	u, err := newUsers(7)
	if err != nil {
		t.Fatal(err)
	}
	// The fastest of five of each, taken in turns so that a change in the
	// machine's load touches both.
	known, unknown := time.Duration(1<<62), time.Duration(1<<62)
	for range 5 {
		for _, name := range []string{"alice", "mallory"} {
			start := time.Now()
			u.check(name, "wrong password")
			if d := time.Since(start); name == "alice" {
				known = min(known, d)
			} else {
				unknown = min(unknown, d)
			}
		}
	}
	t.Logf("wrong password of a known user: %v; unknown user: %v", known, unknown)
	if unknown < known/3 || unknown > known*3 {
		t.Errorf("an unknown user name takes %v, a known one %v: the difference tells which names exist", unknown, known)
	}
}
