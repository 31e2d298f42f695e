package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// NewCookieStore returns a cookie store for one subtest.
type NewCookieStore func(t *testing.T) core.CookieStore

// CookieOptions adapts the cookie suite to what a store can promise.
type CookieOptions struct {
	// ExpiryResolution is how far an opened expiry may differ from the
	// sealed one. Zero means one second (Django's format keeps seconds).
	ExpiryResolution time.Duration
}

// RunCookieStore runs the conformance suite for stores that keep the session
// in the cookie: round trips, expiry, and rejection of every altered value
// (each byte flipped, truncations, garbage) as [core.ErrTampered] or
// [core.ErrNotFound], never as data. Like [Run], each rule is a subtest, and
// its failures end with the rule.
func RunCookieStore(t *testing.T, newStore NewCookieStore, opts CookieOptions) {
	t.Helper()
	if opts.ExpiryResolution == 0 {
		opts.ExpiryResolution = time.Second
	}
	runChecks(t, cookieSuite{newStore: newStore, opts: opts}.checks())
}

type cookieSuite struct {
	newStore NewCookieStore
	opts     CookieOptions
}

// checks is the cookie suite's table: one rule of core.CookieStore's
// contract a row.
func (s cookieSuite) checks() []check {
	return []check{
		{"RoundTrip", "Open of what Seal made returns the data and the expiry, and Seal makes a valid cookie value", s.roundTrip},
		{"Expired", "a value sealed with a past expiry opens as ErrNotFound", s.expired},
		{"ZeroExpiry", "a value sealed with the zero expiry or one before 1678 is refused or opens as ErrNotFound, never as live", s.zeroExpiry},
		{"TooLarge", "Seal of data that cannot fit a 4096-byte cookie returns ErrTooLarge", s.tooLarge},
		{"Tampered", "every one-character edit, truncation or garbage value opens as ErrTampered or ErrNotFound, never as data", s.tampered},
	}
}

func (s cookieSuite) roundTrip(t ruled) {
	st := s.newStore(t.T)
	for _, data := range [][]byte{
		[]byte(`{}`),
		[]byte(`{"cart":[1,2,3],"user":"héllo ✓ 𝄞"}`),
		[]byte(`{"blob":"` + strings.Repeat("abcdefgh", 300) + `"}`), // compressible
	} {
		s.roundTripOne(t, st, data)
	}
}

func (s cookieSuite) roundTripOne(t ruled, st core.CookieStore, data []byte) {
	t.Helper()
	exp := time.Now().Add(time.Hour)
	v, err := st.Seal(ctx(t), data, exp)
	if err != nil {
		t.Fatalf("Seal(%.40q): %v", data, err)
	}
	if !cookieSafe(v) {
		t.Fatalf("Seal produced a value that is not a valid cookie value: %.80q", v)
	}
	got, gotExp, err := st.Open(ctx(t), v)
	if err != nil {
		t.Fatalf("Open(Seal(%.40q)): %v", data, err)
	}
	if !sameSession(got, data) {
		t.Errorf("Open = %.80q, want %.80q", got, data)
	}
	if d := gotExp.Sub(exp); d > s.opts.ExpiryResolution || d < -s.opts.ExpiryResolution {
		t.Errorf("Open expiry = %v, want %v (within %v)", gotExp, exp, s.opts.ExpiryResolution)
	}
}

func (s cookieSuite) expired(t ruled) {
	st := s.newStore(t.T)
	v, err := st.Seal(ctx(t), []byte(`{"a":1}`), time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if data, _, err := st.Open(ctx(t), v); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Open(expired) = %q, %v; want ErrNotFound", data, err)
	}
}

func (s cookieSuite) zeroExpiry(t ruled) {
	st := s.newStore(t.T)
	for _, exp := range []time.Time{{}, time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)} {
		v, err := st.Seal(ctx(t), []byte(`{"z":1}`), exp)
		if err != nil {
			continue // refusing is allowed; accepting as live is not
		}
		if data, _, err := st.Open(ctx(t), v); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("Open(value expiring %v) = %q, %v; want ErrNotFound", exp, data, err)
		}
	}
}

// tooLarge seals 8 KiB of incompressible text, which no 4096-byte cookie
// holds.
func (s cookieSuite) tooLarge(t ruled) {
	st := s.newStore(t.T)
	rng := rand.New(rand.NewPCG(1, 2))
	const hexdigits = "0123456789abcdef"
	blob := make([]byte, 8192)
	for i := range blob {
		blob[i] = hexdigits[rng.IntN(16)]
	}
	data := []byte(`{"blob":"` + string(blob) + `"}`)
	v, err := st.Seal(ctx(t), data, time.Now().Add(time.Hour))
	if !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("Seal(8 KiB incompressible) = %d-byte value, %v; want ErrTooLarge", len(v), err)
	}
}

func (s cookieSuite) tampered(t ruled) {
	st := s.newStore(t.T)
	v, err := st.Seal(ctx(t), []byte(`{"user":"alice","admin":false}`), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range altered(v) {
		data, _, err := st.Open(ctx(t), b)
		if err == nil {
			t.Errorf("Open(%.60q) accepted an altered value: %q", b, data)
		} else if !errors.Is(err, core.ErrTampered) && !errors.Is(err, core.ErrNotFound) {
			t.Errorf("Open(%.60q) = %v, want ErrTampered or ErrNotFound", b, err)
		}
	}
}

// altered returns every value one edit away from the sealed value v: every
// other cookie character at every position, including the last character of
// each base64 field, whose spare low bits a lenient decoder ignores (a store
// must reject non-canonical encodings too, or some one-character edits would
// pass as the original); every truncation; v with a character added; and
// garbage.
func altered(v string) []string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:"
	var bad []string
	for i := 0; i < len(v); i++ {
		for _, c := range []byte(alphabet) {
			if c == v[i] {
				continue
			}
			b := []byte(v)
			b[i] = c
			bad = append(bad, string(b))
		}
	}
	for i := 0; i < len(v); i++ {
		bad = append(bad, v[:i])
	}
	return append(bad, v+"A", "", ":", "::::", "garbage", "!!!!!!!!", strings.Repeat("A", 5000), "\x00\xff")
}

// sameSession reports whether got holds the session data want: the same
// bytes, or the same JSON object, where a store may re-encode the JSON (as
// Django's format escapes non-ASCII) and may record the sealed expiry as
// Django's _session_expiry.
func sameSession(got, want []byte) bool {
	if bytes.Equal(got, want) {
		return true
	}
	var g, w map[string]any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil {
		return false
	}
	if _, ok := w["_session_expiry"]; !ok {
		delete(g, "_session_expiry")
	}
	return reflect.DeepEqual(g, w)
}

// cookieSafe reports whether v can travel as a cookie value unquoted (RFC 6265
// cookie-octets).
func cookieSafe(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}
