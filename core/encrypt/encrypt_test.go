package encrypt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/encrypt"
	"github.com/cloakroom/cloakroom/core/memstore"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, encrypt.KeySize) }

var values = map[string]json.RawMessage{"user": json.RawMessage(`"alice"`), "cart": json.RawMessage(`[1,2,3]`)}

func TestRoundTripAndRotation(t *testing.T) {
	old, _ := encrypt.New(nil, key(1))
	data, err := old.Encode(values)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("alice")) {
		t.Fatalf("plaintext visible at rest: %s", data)
	}
	rotated, _ := encrypt.New(nil, key(2), key(1))
	got, err := rotated.Decode(data)
	if err != nil || string(got["user"]) != `"alice"` {
		t.Fatalf("old-key data after rotation: %v %v", got, err)
	}
	newData, _ := rotated.Encode(got)
	if _, err := old.Decode(newData); !errors.Is(err, core.ErrTampered) {
		t.Errorf("new-key data readable with only the old key: %v", err)
	}
	dropped, _ := encrypt.New(nil, key(2))
	if _, err := dropped.Decode(data); !errors.Is(err, core.ErrTampered) {
		t.Errorf("old-key data readable after the old key was dropped: %v", err)
	}
	if _, err := dropped.Decode(newData); err != nil {
		t.Errorf("re-encrypted data unreadable: %v", err)
	}
}

func TestTampering(t *testing.T) {
	c, _ := encrypt.New(nil, key(3))
	data, _ := c.Encode(values)
	for i := range data {
		b := bytes.Clone(data)
		b[i] ^= 1
		if v, err := c.Decode(b); err == nil {
			t.Fatalf("flipped byte %d accepted: %v", i, v)
		}
	}
	for _, bad := range []string{"", "e1.", "e1.AAAA", `{"user":"mallory"}`, "e1.!!!!"} {
		if _, err := c.Decode([]byte(bad)); !errors.Is(err, core.ErrTampered) {
			t.Errorf("Decode(%q) = %v", bad, err)
		}
	}
}

func TestBadKeys(t *testing.T) {
	for _, keys := range [][][]byte{nil, {[]byte("short")}, {key(1), key(1)}} {
		if _, err := encrypt.New(nil, keys...); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("New(%d keys) = %v", len(keys), err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	c, _ := encrypt.New(nil, key(4))
	good, _ := c.Encode(values)
	f.Add(good)
	f.Add([]byte("e1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Only genuine encryptions of values (made with a random nonce in
		// whichever process added them) may be accepted.
		v, err := c.Decode(data)
		if err != nil {
			return
		}
		if len(v) != len(values) || string(v["user"]) != string(values["user"]) || string(v["cart"]) != string(values["cart"]) {
			t.Fatalf("forged value accepted: %q -> %v", data, v)
		}
	})
}

// Session data encrypted at rest in any store.
func Example() {
	k := bytes.Repeat([]byte{7}, encrypt.KeySize) // use 32 random bytes, kept secret
	codec, err := encrypt.New(core.JSONCodec{}, k)
	if err != nil {
		panic(err)
	}
	cfg := core.DefaultConfig()
	cfg.Codec = codec
	_, err = core.New(memstore.New(0), cfg)
	fmt.Println(err)
	// Output: <nil>
}
