package cookiestore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cookiestore"
	"github.com/cloakroom/cloakroom/internal/testenv"
)

// checkErr asserts that err wraps want and names the package once, at the
// front.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	testenv.ErrorNamesPackage(t, "cookiestore", what, err, want)
}

func TestErrorMessages(t *testing.T) {
	secret := bytes.Repeat([]byte("s"), cookiestore.MinSecretLength)
	for name, c := range map[string]struct {
		secret []byte
		opt    cookiestore.Option
	}{
		"short secret":          {secret[1:], cookiestore.WithSalt("x")},
		"short old secret":      {secret, cookiestore.WithOldSecrets([]byte("old"))},
		"zero max age":          {secret, cookiestore.WithMaxAge(0)},
		"zero max decompressed": {secret, cookiestore.WithMaxDecompressed(0)},
		"nil clock":             {secret, cookiestore.WithClock(nil)},
		"negative max age":      {secret, cookiestore.WithMaxAge(-time.Second)},
	} {
		_, err := cookiestore.New(c.secret, c.opt)
		checkErr(t, name, err, core.ErrInvalidConfig)
	}

	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	s, err := cookiestore.New(secret, cookiestore.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Seal(ctx, []byte(`{"a":1}`), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Open(ctx, "not a cookie")
	checkErr(t, "open of a foreign value", err, core.ErrTampered)
	dot := strings.LastIndexByte(v, '.')
	c := byte('A')
	if v[dot+1] == c {
		c = 'B'
	}
	forged := v[:dot+1] + string(c) + v[dot+2:] // another signature, still canonical
	_, _, err = s.Open(ctx, forged)
	checkErr(t, "open of a forged value", err, core.ErrTampered)
	if want := "cookiestore: bad signature: " + core.ErrTampered.Error(); err.Error() != want {
		t.Errorf("open of a forged value: %q, want %q", err, want)
	}
	now = now.Add(2 * time.Hour)
	_, _, err = s.Open(ctx, v)
	checkErr(t, "open of an expired value", err, core.ErrNotFound)

	big := make([]byte, cookiestore.MaxValueLength)
	_, _ = rand.Read(big) // incompressible
	_, err = s.Seal(ctx, big, now.Add(time.Hour))
	checkErr(t, "seal of too much data", err, core.ErrTooLarge)
}
