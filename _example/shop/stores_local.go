package main

import (
	"errors"
	"os"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cookiestore"
	"github.com/cloakroom/cloakroom/core/filestore"
)

// openLocal opens the file and signed-cookie stores.
func openLocal(o options, cfg core.Config) (*core.Manager, func(), error) {
	nop := func() {}
	if o.store == "file" {
		dir, cleanup := o.dir, nop
		if dir == "" {
			// A private directory of this run: the OS temp dir itself is
			// shared, and filestore refuses it.
			var err error
			if dir, err = os.MkdirTemp("", "shop-sessions-"); err != nil {
				return nil, nil, err
			}
			cleanup = func() { _ = os.RemoveAll(dir) }
		}
		st, err := filestore.New(dir)
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		m, err := core.New(st, cfg)
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		return m, cleanup, nil
	}
	if len(o.cookieSecret) < cookiestore.MinSecretLength {
		return nil, nil, errors.New("the cookie store needs -cookie-secret (or SHOP_COOKIE_SECRET) of at least 32 bytes")
	}
	st, err := cookiestore.New([]byte(o.cookieSecret), cookiestore.WithMaxAge(cfg.CookieAge))
	if err != nil {
		return nil, nil, err
	}
	cfg.Optimistic = false
	m, err := core.NewWithCookieStore(st, cfg)
	return m, nop, err
}
