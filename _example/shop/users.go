package main

import (
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// users is the demo user list: name -> bcrypt hash. Passwords are hashed at
// start-up; the password-change page replaces a hash.
type users struct {
	mu     sync.RWMutex
	hashes map[string][]byte
	// decoy is what a password is compared against when the user name is
	// unknown. It is hashed once, at start-up, with the cost of the real
	// hashes, so that a wrong name costs exactly as many bcrypt rounds as a
	// wrong password: the answer's timing does not tell which user names
	// exist.
	decoy []byte
}

// demoUsers are the accounts the login page lists.
var demoUsers = map[string]string{"alice": "wonderland", "bob": "builder"}

// newUsers hashes the demo passwords and the decoy with bcrypt at cost.
func newUsers(cost int) (*users, error) {
	decoy, err := bcrypt.GenerateFromPassword([]byte("no user has this password"), cost)
	if err != nil {
		return nil, err
	}
	u := &users{hashes: map[string][]byte{}, decoy: decoy}
	for name, pw := range demoUsers {
		if err := u.setPassword(name, pw, cost); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// setPassword replaces name's hash. cost must be the cost newUsers was
// given, or the decoy would no longer cost as much as a real check.
func (u *users) setPassword(name, pw string, cost int) error {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return err
	}
	u.mu.Lock()
	u.hashes[name] = h
	u.mu.Unlock()
	return nil
}

// hashFor returns the hash a sign-in as name is checked against: the user's
// own, or the decoy (known false) for a name nobody has.
func (u *users) hashFor(name string) (hash []byte, known bool) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if h, ok := u.hashes[name]; ok {
		return h, true
	}
	return u.decoy, false
}

// check reports whether pw is name's password. Known and unknown names
// cost the same bcrypt comparison.
func (u *users) check(name, pw string) bool {
	h, known := u.hashFor(name)
	ok := bcrypt.CompareHashAndPassword(h, []byte(pw)) == nil
	return ok && known
}
