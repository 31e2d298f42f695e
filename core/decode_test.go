package core

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// decodeBoth decodes raw into a fresh T, and into a T holding prior, with
// decodeValue and with json.Unmarshal, and reports any difference.
func decodeBoth[T any](t *testing.T, raw []byte, prior T) {
	t.Helper()
	for _, start := range []T{*new(T), prior} {
		fast, slow := start, start
		errFast, errSlow := decodeValue(raw, &fast), json.Unmarshal(raw, &slow)
		if (errFast == nil) != (errSlow == nil) || (errFast != nil && errFast.Error() != errSlow.Error()) {
			t.Fatalf("%T from %q: error %v, json.Unmarshal's %v", fast, raw, errFast, errSlow)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%T from %q: %#v, json.Unmarshal gave %#v", fast, raw, fast, slow)
		}
	}
}

func decodeAll(t *testing.T, raw []byte) {
	decodeBoth(t, raw, "prior")
	decodeBoth(t, raw, 7)
	decodeBoth(t, raw, int64(-7))
	decodeBoth(t, raw, true)
	decodeBoth(t, raw, 2.5)
	decodeBoth(t, raw, []int{9, 9, 9})
	decodeBoth(t, raw, []string{"p"})
	decodeBoth[any](t, raw, map[string]any{"a": 1.0})
}

var decodeSeeds = []string{
	`"plain"`, `""`, `"with \"escape\""`, `"tab\there"`, `"é"`, "\"\x7f\"", `"a,b"`,
	`0`, `-0`, `1`, `-1`, `123456789012345678`, `1234567890123456789`, `9223372036854775807`, `-9223372036854775808`,
	`2147483648`, `01`, `1.0`, `1e2`, `1E+2`, `-0.5e-3`, `1e999`, `.5`, `-`, `1.`,
	`true`, `false`, `null`, `tru`,
	`[]`, `[1,2,3]`, `[1, 2]`, `[1,]`, `[,1]`, `[1,"a"]`, `["a","b"]`, `["a,b","c"]`, `[",",","]`, `["a"]`, `[null]`, `[[1]]`,
	`{}`, `{"a":1}`,
}

func TestDecodeValueMatchesEncodingJSON(t *testing.T) {
	for _, s := range decodeSeeds {
		decodeAll(t, []byte(s))
	}
	for n := range 25 { // arrays of every length up to a cart's
		ints, strs := make([]int, n), make([]string, n)
		for i := range ints {
			ints[i], strs[i] = 1000+i*37, fmt.Sprint("item-", i)
		}
		a, _ := json.Marshal(ints)
		b, _ := json.Marshal(strs)
		decodeAll(t, a)
		decodeAll(t, b)
	}
}

// FuzzDecodeValue checks that decodeValue and json.Unmarshal agree on every
// JSON value (a session's values are valid JSON) for every destination
// with a shortcut.
func FuzzDecodeValue(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		decodeAll(t, raw)
	})
}
