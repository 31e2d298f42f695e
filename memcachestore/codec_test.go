package memcachestore

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

func TestCodecRoundTrip(t *testing.T) {
	for _, exp := range []time.Time{
		time.Unix(1, 0), time.Unix(1700000000, 123456789), time.Date(2600, 1, 2, 3, 4, 5, 999999999, time.UTC),
	} {
		for _, data := range [][]byte{nil, []byte(`{}`), bytes.Repeat([]byte("x"), 70000)} {
			gotData, gotExp, err := decode(encode(data, exp))
			if err != nil {
				t.Fatalf("decode(encode(%d bytes, %v)): %v", len(data), exp, err)
			}
			if !bytes.Equal(gotData, data) || !gotExp.Equal(exp) {
				t.Fatalf("round trip of %d bytes, %v gave %d bytes, %v", len(data), exp, len(gotData), gotExp)
			}
		}
	}
}

func TestCodecRejectsDamage(t *testing.T) {
	good := encode([]byte(`{"cart":[1,2]}`), time.Now().Add(time.Hour))
	cases := map[string][]byte{
		"empty":     {},
		"plain":     []byte(`{"cart":[1,2]}`),
		"truncated": good[:len(good)-1],
		"header":    good[:headerLen-1],
		"extended":  append(append([]byte(nil), good...), '!'),
	}
	for i := range good { // every single-bit flip is caught
		v := append([]byte(nil), good...)
		v[i] ^= 0x10
		cases["flip"+string(rune('a'+i%26))+string(rune('0'+i/26))] = v
	}
	bad := append([]byte(nil), good...)
	bad[2] = 9
	cases["version"] = bad
	for name, v := range cases {
		if _, _, err := decode(v); !errors.Is(err, core.ErrTampered) {
			t.Errorf("%s: decode = %v, want ErrTampered", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encode([]byte(`{"a":1}`), time.Unix(1800000000, 5)))
	f.Add([]byte("cR\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, v []byte) {
		data, exp, err := decode(v) // must never panic
		if err != nil {
			if !errors.Is(err, core.ErrTampered) {
				t.Fatalf("decode error %v does not wrap ErrTampered", err)
			}
			return
		}
		if again := encode(data, exp); !bytes.Equal(again, v) {
			t.Fatalf("accepted value %q does not re-encode to itself", v)
		}
	})
}

func TestExpiration(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	day := 24 * time.Hour
	cases := []struct {
		expiry time.Time
		want   int32
		live   bool
	}{
		{now.Add(-time.Second), 0, false},
		{now, 0, false},
		{now.Add(time.Millisecond), 1, true},                                          // rounded up
		{now.Add(1500 * time.Millisecond), 2, true},                                   // rounded up
		{now.Add(2 * time.Hour), 7200, true},                                          // relative
		{now.Add(30 * day), MaxRelativeTTL, true},                                     // the last relative value
		{now.Add(30*day + time.Second), int32(now.Unix() + MaxRelativeTTL + 1), true}, // absolute
		{now.Add(31 * day), int32(now.Add(31 * day).Unix()), true},
		{now.Add(31*day + time.Nanosecond), int32(now.Add(31*day).Unix() + 1), true},
		{time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 0, true}, // past 2038: never
	}
	for _, c := range cases {
		got, live := expiration(c.expiry, now)
		if got != c.want || live != c.live {
			t.Errorf("expiration(now%+v) = %d, %v; want %d, %v", c.expiry.Sub(now), got, live, c.want, c.live)
		}
	}
}
