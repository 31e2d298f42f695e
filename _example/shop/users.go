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
}

// demoUsers are the accounts the login page lists.
var demoUsers = map[string]string{"alice": "wonderland", "bob": "builder"}

func newUsers(cost int) (*users, error) {
	u := &users{hashes: map[string][]byte{}}
	for name, pw := range demoUsers {
		if err := u.setPassword(name, pw, cost); err != nil {
			return nil, err
		}
	}
	return u, nil
}

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

// check reports whether pw is name's password, in constant time per hash.
func (u *users) check(name, pw string) bool {
	u.mu.RLock()
	h, ok := u.hashes[name]
	u.mu.RUnlock()
	if !ok {
		// Spend the same time as for a real user, so timing reveals nothing.
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(pw))
		return false
	}
	return bcrypt.CompareHashAndPassword(h, []byte(pw)) == nil
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("dummy password"), bcrypt.MinCost)
