package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
)

// FuzzJSONObject checks decodeObject against encoding/json: the same
// documents accepted, the same members, each value's bytes as
// json.RawMessage would hold them.
func FuzzJSONObject(f *testing.F) {
	for _, seed := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"cart":[1,2,3],"user":"alice","n":null,"t":true,"f":false}`,
		`{"a":{"b":[{"c":"d"}]},"e":-0.5e+10}`, `{"k":"héllo ✓ \"q\" \\ \u2028 𝄞","e":""}`,
		`{"a":1,"a":2}`, `{"\u0061":1}`, `{"a":01}`, `{"a":1,}`, `{"a" 1}`, `[1]`, `null`, `{"a":"\x01"}`,
		`{"a":tru}`, `{"a":1}x`, `{"a":"\ud800"}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, "{\"a\":\"\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want map[string]json.RawMessage
		wantErr := json.Unmarshal(data, &want)
		if wantErr == nil && want == nil {
			wantErr = errors.New("null")
		}
		got, err := decodeObject(data)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("decodeObject(%q): error %v, encoding/json: %v", data, err, wantErr)
		}
		if err != nil {
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("error %v does not wrap ErrTampered", err)
			}
			return
		}
		if !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
			t.Fatalf("decodeObject(%q) = %q, encoding/json: %q", data, got, want)
		}
		for _, v := range got {
			if cap(v) != len(v) {
				t.Fatalf("value %q can grow into its neighbour", v)
			}
		}
	})
}

// TestDecodeObjectDepth: encoding/json's nesting limit holds, to the level.
func TestDecodeObjectDepth(t *testing.T) {
	for _, n := range []int{9998, 9999, 10000, 10001} {
		doc := []byte(`{"a":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`)
		var v map[string]json.RawMessage
		want := json.Unmarshal(doc, &v)
		if _, err := decodeObject(doc); (err == nil) != (want == nil) {
			t.Errorf("%d nested arrays: %v, encoding/json: %v", n, err, want)
		}
	}
}

// TestDecodeObjectOwnsItsCopy: the values do not alias the input.
func TestDecodeObjectOwnsItsCopy(t *testing.T) {
	data := []byte(`{"a":"xyz"}`)
	v, err := decodeObject(data)
	if err != nil {
		t.Fatal(err)
	}
	copy(data, "{\"a\":\"ZZZ\"}")
	if string(v["a"]) != `"xyz"` {
		t.Fatalf("value changed with the input: %s", v["a"])
	}
}
