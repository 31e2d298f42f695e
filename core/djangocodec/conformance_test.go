package djangocodec_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/djangocodec"
	"github.com/cloakroom/cloakroom/core/storetest"
)

func TestCookieStoreConformance(t *testing.T) {
	storetest.RunCookieStore(t, func(t *testing.T) core.CookieStore {
		st, err := djangocodec.NewCookieStore(testSecret, 14*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}, storetest.CookieOptions{})
}

func FuzzDecode(f *testing.F) {
	c, _ := djangocodec.New(testSecret)
	good, _ := c.Encode(map[string]json.RawMessage{"a": json.RawMessage(`1`)})
	f.Add(good)
	f.Add([]byte(".eJyrVkpUslIyVNJRSgJSSUBKyQ:1xVKn0:abc"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := c.Decode(data)
		if err != nil {
			return
		}
		// Whatever verifies must re-encode and verify again.
		enc, err := c.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Decode(enc); err != nil {
			t.Fatalf("re-encoded %q does not verify: %v", data, err)
		}
		if !bytes.Contains(data, []byte(":")) {
			t.Fatalf("accepted an unsigned value %q", data)
		}
	})
}

// Reading a session written by Django, with Django's SECRET_KEY.
func Example() {
	const secret = "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz!@#"
	codec, err := djangocodec.New(secret)
	if err != nil {
		panic(err)
	}
	cfg := core.DefaultConfig()
	cfg.Codec = codec // with gormstore.New(ctx, db, gormstore.WithoutMigration()) on Django's table
	m, _ := core.NewWithCookieStore(mustCookies(secret), core.DefaultConfig())
	var x core.Exchange
	m.Begin(&x, httptest.NewRequest("GET", "/", nil))
	s := x.Session()
	_ = djangocodec.Login(s, secret, "42", djangocodec.ModelBackend, "pbkdf2_sha256$260000$salt$hash")
	id, ok, _ := djangocodec.UserID(s)
	fmt.Println(id, ok)
	// Output: 42 true
}

func mustCookies(secret string) *djangocodec.CookieStore {
	st, err := djangocodec.NewCookieStore(secret, core.DefaultCookieAge)
	if err != nil {
		panic(err)
	}
	return st
}
