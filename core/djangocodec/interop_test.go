package djangocodec_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/djangocodec"
)

var sample = map[string]any{
	"cart":            []any{float64(1), float64(2), float64(3)},
	"name":            "héllo ✓ 𝄞 \"quoted\"",
	"nested":          map[string]any{"a": true, "b": nil},
	"_auth_user_id":   "42",
	"_session_expiry": float64(3600),
}

func toRaw(t *testing.T, m map[string]any) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range m {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = b
	}
	return out
}

func fromRaw(t *testing.T, m map[string]json.RawMessage) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			t.Fatal(err)
		}
		out[k] = x
	}
	return out
}

func newCodec(t *testing.T, opts ...djangocodec.Option) *djangocodec.Codec {
	c, err := djangocodec.New(testSecret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDatabaseFormatWithDjango(t *testing.T) {
	c := newCodec(t)
	sampleJSON, _ := json.Marshal(sample)

	// Django encodes, Go decodes.
	fromDjango := django(t, nil, "encode", string(sampleJSON))
	got, err := c.Decode([]byte(fromDjango))
	if err != nil {
		t.Fatalf("Go cannot read Django's session data %q: %v", fromDjango, err)
	}
	if !reflect.DeepEqual(fromRaw(t, got), sample) {
		t.Errorf("Go read %v, want %v", fromRaw(t, got), sample)
	}

	// Go encodes, Django decodes; a long value is compressed.
	big := map[string]any{"blob": strings.Repeat("tea ", 500), "name": sample["name"]}
	for _, m := range []map[string]any{sample, big} {
		enc, err := c.Encode(toRaw(t, m))
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal([]byte(django(t, nil, "decode", string(enc))), &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, m) {
			t.Errorf("Django read %v, want %v", back, m)
		}
		if len(m) == 2 && !strings.HasPrefix(string(enc), ".") {
			t.Errorf("a compressible session was not compressed: %.40s", enc)
		}
	}

	// Tampering: Django returns an empty session, Go an ErrTampered error.
	enc, _ := c.Encode(toRaw(t, sample))
	bad := []byte(enc)
	bad[10] ^= 1
	if got := django(t, nil, "decode", string(bad)); got != "{}" {
		t.Errorf("Django accepted tampered data: %s", got)
	}
	badDjango := []byte(fromDjango)
	badDjango[len(badDjango)-3] ^= 1
	if _, err := c.Decode(badDjango); !errors.Is(err, core.ErrTampered) {
		t.Errorf("Go accepted tampered Django data: %v", err)
	}
	// Another SECRET_KEY is another signer.
	other, _ := djangocodec.New(strings.Repeat("x", 50))
	if _, err := other.Decode([]byte(fromDjango)); !errors.Is(err, core.ErrTampered) {
		t.Errorf("a foreign secret verified: %v", err)
	}
}

func TestSecretRotation(t *testing.T) {
	old := newCodec(t)
	enc, _ := old.Encode(toRaw(t, sample))
	rotated, err := djangocodec.New(strings.Repeat("n", 50), djangocodec.WithFallbackSecrets(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rotated.Decode(enc); err != nil {
		t.Fatalf("a fallback secret does not verify: %v", err)
	}
	re, _ := rotated.Encode(toRaw(t, sample))
	if _, err := old.Decode(re); err == nil {
		t.Error("new data was signed with the fallback secret, not the current one")
	}
	if _, err := djangocodec.New("short"); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf("short secret: %v", err)
	}
}

func TestSignedCookiesWithDjango(t *testing.T) {
	ctx := context.Background()
	st, err := djangocodec.NewCookieStore(testSecret, 14*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"cart": []any{float64(7)}, "name": "Zoë"}
	dataJSON, _ := json.Marshal(data)

	cookie := django(t, nil, "cookie-write", string(dataJSON))
	raw, _, err := st.Open(ctx, cookie)
	if err != nil {
		t.Fatalf("Go cannot open Django's signed cookie: %v", err)
	}
	var got map[string]any
	_ = json.Unmarshal(raw, &got)
	if !reflect.DeepEqual(got, data) {
		t.Errorf("Go read %v from Django's cookie", got)
	}

	sealed, err := st.Seal(ctx, dataJSON, time.Now().Add(14*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(django(t, nil, "cookie-read", sealed)), &got)
	if !reflect.DeepEqual(got, data) {
		t.Errorf("Django read %v from Go's cookie", got)
	}
	bad := []byte(sealed)
	bad[3] ^= 1
	if out := django(t, nil, "cookie-read", string(bad)); out != "{}" {
		t.Errorf("Django accepted a tampered cookie: %s", out)
	}
	badDjango := []byte(cookie)
	badDjango[3] ^= 1
	if _, _, err := st.Open(ctx, string(badDjango)); !errors.Is(err, core.ErrTampered) {
		t.Errorf("Go accepted a tampered Django cookie: %v", err)
	}

	// Django's cookie age is checked, and the session's own expiry too.
	later, _ := djangocodec.NewCookieStore(testSecret, 14*24*time.Hour, djangocodec.WithClock(func() time.Time { return time.Now().Add(15 * 24 * time.Hour) }))
	if _, _, err := later.Open(ctx, cookie); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a cookie older than the cookie age: %v", err)
	}
	short, _ := json.Marshal(map[string]any{"_session_expiry": 60, "x": 1})
	v, _ := st.Seal(ctx, short, time.Now().Add(time.Minute))
	soon, _ := djangocodec.NewCookieStore(testSecret, 14*24*time.Hour, djangocodec.WithClock(func() time.Time { return time.Now().Add(2 * time.Minute) }))
	if _, _, err := soon.Open(ctx, v); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("set_expiry(60) not honoured after two minutes: %v", err)
	}
}
