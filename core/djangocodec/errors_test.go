package djangocodec_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/djangocodec"
	"github.com/cloakroom/cloakroom/internal/testenv"
)

// checkErr asserts that err wraps want and names the package once, at the
// front.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	testenv.ErrorNamesPackage(t, "djangocodec", what, err, want)
}

func TestErrorMessages(t *testing.T) {
	const secret = "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz"
	ctx := context.Background()
	_, err := djangocodec.New("short")
	checkErr(t, "short SECRET_KEY", err, core.ErrInvalidConfig)
	_, err = djangocodec.New(secret, djangocodec.WithVersion("2.2"))
	checkErr(t, "Django 2.2", err, core.ErrInvalidConfig)
	_, err = djangocodec.New(secret, djangocodec.WithClock(nil))
	checkErr(t, "nil clock", err, core.ErrInvalidConfig)
	_, err = djangocodec.NewCookieStore(secret, 0)
	checkErr(t, "zero cookie age", err, core.ErrInvalidConfig)
	_, err = djangocodec.NewCacheFormat(nil, djangocodec.WithVersion("x"))
	checkErr(t, "cache format of version x", err, core.ErrInvalidConfig)

	codec, err := djangocodec.New(secret)
	if err != nil {
		t.Fatal(err)
	}
	_, err = djangocodec.NewCacheFormat(codec, djangocodec.WithVersion(djangocodec.Django42))
	checkErr(t, "cache format options with a codec", err, core.ErrInvalidConfig)
	data, err := codec.Encode(map[string]json.RawMessage{"a": json.RawMessage("1")})
	if err != nil {
		t.Fatal(err)
	}
	other, err := djangocodec.New(strings.ToUpper(secret))
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Decode(data)
	checkErr(t, "decode under another secret", err, core.ErrTampered)
	if want := "djangocodec: bad signature: " + core.ErrTampered.Error(); err.Error() != want {
		t.Errorf("decode under another secret: %q, want %q", err, want)
	}
	_, err = codec.Decode([]byte("no signature at all"))
	checkErr(t, "decode of unsigned data", err, core.ErrTampered)

	absolute := map[string]json.RawMessage{core.ExpiryKey: json.RawMessage(`"2030-01-02T03:04:05+00:00"`)}
	old, err := djangocodec.New(secret, djangocodec.WithVersion(djangocodec.Django32))
	if err != nil {
		t.Fatal(err)
	}
	_, err = old.Encode(absolute)
	checkErr(t, "absolute expiry for Django 3.2", err, djangocodec.ErrUnrepresentable)

	now := time.Now()
	cookies, err := djangocodec.NewCookieStore(secret, time.Hour, djangocodec.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	v, err := cookies.Seal(ctx, []byte(`{"a":1}`), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	_, _, err = cookies.Open(ctx, v)
	checkErr(t, "open of an old cookie", err, core.ErrNotFound)
	_, err = cookies.Seal(ctx, []byte(`{"a":"`+randomText(8000)+`"}`), now.Add(time.Hour))
	checkErr(t, "seal of a large session", err, core.ErrTooLarge)

	cf, err := djangocodec.NewCacheFormat(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = cf.DecodeValue([]byte("plain text"), 0)
	checkErr(t, "cache value under flags 0", err, core.ErrTampered)
	_, _, err = cf.DecodeValue([]byte("\x80\x02cos\nsystem\n."), 1)
	checkErr(t, "cache value with a global", err, core.ErrTampered)
	_, _, err = cf.DecodeValue([]byte("not zlib"), 9)
	checkErr(t, "cache value that does not inflate", err, core.ErrTampered)
}

// randomText returns n characters that do not compress well.
func randomText(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = alphabet[x%uint32(len(alphabet))]
	}
	return string(b)
}
