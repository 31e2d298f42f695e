package main

import (
	"errors"
	"os"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cookiestore"
	"github.com/cloakroom/cloakroom/core/filestore"
)

// openFile opens the file store in -dir, or in a private directory of this
// run that close removes.
func openFile(f storeFlags) (core.Store, func(), error) {
	dir, cleanup := f.dir, func() {}
	if dir == "" {
		// A private directory of this run: the OS temp dir itself is
		// shared, and filestore refuses it.
		var err error
		if dir, err = os.MkdirTemp("", "shop-sessions-"); err != nil {
			return nil, nil, err
		}
		cleanup = func() { _ = os.RemoveAll(dir) }
	}
	opts := []filestore.Option{filestore.WithMaxFileBytes(f.maxFileBytes), filestore.WithFanOut(f.fanOut)}
	if f.prefix != "" {
		opts = append(opts, filestore.WithPrefix(f.prefix))
	}
	st, err := filestore.New(dir, opts...)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return st, cleanup, nil
}

// openCookie builds the manager on the signed-cookie store: the session
// travels in the cookie, so there is no record to version (no atomic mode)
// and nothing to sign out everywhere.
func openCookie(o options, cfg core.Config, close func()) (*core.Manager, func(), error) {
	if len(o.cookieSecret) < cookiestore.MinSecretLength {
		return nil, nil, errors.New("the cookie store needs -cookie-secret (or SHOP_COOKIE_SECRET) of at least 32 bytes")
	}
	st, err := cookiestore.New([]byte(o.cookieSecret), cookiestore.WithMaxAge(cfg.CookieAge))
	if err != nil {
		return nil, nil, err
	}
	cfg.Optimistic = false
	m, err := core.NewWithCookieStore(st, cfg)
	return m, close, err
}
