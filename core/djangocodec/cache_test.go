package djangocodec

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"testing"

	"github.com/cloakroom/cloakroom/core"
)

// TestCacheFormatCachedDB: with a codec, the cache holds the plain pickled
// dict of the signed record, and reading it back gives signed data the
// codec decodes to the same session.
func TestCacheFormatCachedDB(t *testing.T) {
	codec, err := New(formsSecret)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := NewCacheFormat(codec)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]json.RawMessage{"_auth_user_id": json.RawMessage(`"7"`), "cart": json.RawMessage(`[1,2]`), core.ExpiryKey: expiryJSON}
	signed, err := codec.Encode(values)
	if err != nil {
		t.Fatal(err)
	}
	v, flags, err := cf.EncodeValue(core.Record{Key: "k", Data: signed})
	if err != nil || flags != flagPickle {
		t.Fatalf("EncodeValue: flags %d, %v", flags, err)
	}
	js, err := unpickleSession(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"_auth_user_id":"7","_session_expiry":"2030-01-02T03:04:05.500000+00:00","cart":[1,2]}`; string(js) != want {
		t.Errorf("cached dict %s, want %s", js, want)
	}
	data, exp, err := cf.DecodeValue(v, flags)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(expiryAt) {
		t.Errorf("expiry %v, want %v", exp, expiryAt)
	}
	back, err := codec.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if string(back["cart"]) != "[1,2]" || string(back["_auth_user_id"]) != `"7"` {
		t.Errorf("read back %v", back)
	}
	// Signed data that does not verify is never cached.
	if _, _, err := cf.EncodeValue(core.Record{Key: "k", Data: append([]byte("x"), signed...)}); !errors.Is(err, core.ErrTampered) {
		t.Errorf("EncodeValue of a forged record: %v", err)
	}
	if _, err := NewCacheFormat(codec, WithVersion(Django32)); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf("options with a codec: %v, want ErrInvalidConfig", err)
	}
}

// TestCacheFormatDjango32Datetime: Django 3.2 pickles an absolute expiry
// as a datetime object; Go writes and reads that form.
func TestCacheFormatDjango32Datetime(t *testing.T) {
	for _, local := range []bool{false, true} {
		opts := []Option{WithVersion(Django32)}
		if local {
			opts = append(opts, WithLocalTime(berlin(t)))
		}
		cf, err := NewCacheFormat(nil, opts...)
		if err != nil {
			t.Fatal(err)
		}
		data := []byte(`{"_session_expiry":` + string(expiryJSON) + `,"a":1}`)
		v, flags, err := cf.EncodeValue(core.Record{Key: "k", Data: data})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(v, []byte("datetime")) {
			t.Errorf("local=%v: no datetime object in %q", local, v)
		}
		got, exp, err := cf.DecodeValue(v, flags)
		if err != nil {
			t.Fatal(err)
		}
		if !exp.Equal(expiryAt) {
			t.Errorf("local=%v: expiry %v, want %v", local, exp, expiryAt)
		}
		if want := `{"_session_expiry":"2030-01-02T03:04:05.500000+00:00","a":1}`; string(got) != want {
			t.Errorf("local=%v: read %s, want %s", local, got, want)
		}
	}
}

// TestCacheFormatValues: compressed values are read; other flags, broken
// compression and oversized inflation are tampering.
func TestCacheFormatValues(t *testing.T) {
	cf, err := NewCacheFormat(nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := cf.EncodeValue(core.Record{Key: "k", Data: []byte(`{"a":"` + string(bytes.Repeat([]byte("z"), 1000)) + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	_, _ = w.Write(p)
	_ = w.Close()
	if got, _, err := cf.DecodeValue(z.Bytes(), flagPickle|flagZlib); err != nil || len(got) != 1008 {
		t.Errorf("compressed value: %d bytes, %v", len(got), err)
	}
	var bomb bytes.Buffer
	w = zlib.NewWriter(&bomb)
	_, _ = w.Write(make([]byte, maxCacheValue+10))
	_ = w.Close()
	for name, tc := range map[string]struct {
		v     []byte
		flags uint32
	}{
		"unpickled flags":   {p, 0},
		"text flags":        {p, 16},
		"broken zlib":       {[]byte("not zlib"), flagPickle | flagZlib},
		"inflates too much": {bomb.Bytes(), flagPickle | flagZlib},
		"empty":             {nil, flagPickle},
	} {
		if _, _, err := cf.DecodeValue(tc.v, tc.flags); !errors.Is(err, core.ErrTampered) {
			t.Errorf("%s: %v, want ErrTampered", name, err)
		}
	}
	if got := CacheKeyPrefix("shop", 3, CachedDBBackend) + "abc"; got != "shop:3:django.contrib.sessions.cached_dbabc" {
		t.Errorf("cache key %q", got)
	}
}
