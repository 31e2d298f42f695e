package hardening

import (
	"bytes"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cookiestore"
	"github.com/cloakroom/cloakroom/core/djangocodec"
	"github.com/cloakroom/cloakroom/core/encrypt"
	"github.com/cloakroom/cloakroom/internal/adapters"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
)

// cookieStores are the stores that keep the whole session in the cookie,
// each with the codec it needs.
var cookieStores = map[string]func(t *testing.T) (core.CookieStore, core.Codec){
	"cookiestore": func(t *testing.T) (core.CookieStore, core.Codec) {
		cs, err := cookiestore.New(bytes.Repeat([]byte("k"), 32))
		if err != nil {
			t.Fatal(err)
		}
		return cs, core.JSONCodec{}
	},
	"cookiestore+encrypt": func(t *testing.T) (core.CookieStore, core.Codec) {
		cs, err := cookiestore.New(bytes.Repeat([]byte("k"), 32))
		if err != nil {
			t.Fatal(err)
		}
		codec, err := encrypt.New(core.JSONCodec{}, bytes.Repeat([]byte("e"), 32))
		if err != nil {
			t.Fatal(err)
		}
		return cs, codec
	},
	"django-signed-cookies": func(t *testing.T) (core.CookieStore, core.Codec) {
		cs, err := djangocodec.NewCookieStore("django-insecure-a-secret-key-for-tests-only-0123456789", 14*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return cs, core.JSONCodec{}
	},
}

// TestCookieStoresEveryFramework sends hostile cookie values through the
// real net/http, Gin and Echo middlewares to every signed-cookie store (see
// middlewaretest.RunCookieStore).
func TestCookieStoresEveryFramework(t *testing.T) {
	for name, newStore := range cookieStores {
		for _, fw := range []string{"net/http", "gin", "echo"} {
			t.Run(name+"/"+fw, func(t *testing.T) {
				t.Parallel()
				cs, codec := newStore(t)
				middlewaretest.RunCookieStore(t, adapters.All[fw], cs, codec)
			})
		}
	}
}
