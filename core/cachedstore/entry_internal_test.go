package cachedstore

import (
	"bytes"
	"testing"
)

// TestEntryHeaderIsText: the header is printable ASCII, so a store that
// keeps only text can be the cache, and it round-trips.
func TestEntryHeaderIsText(t *testing.T) {
	for _, c := range []struct{ gen, version uint64 }{{1, 0}, {0xffffffffffffffff, 7}, {0x00ff00ff00ff00ff, 1 << 63}} {
		data := []byte(`{"a":"\u0000"}`)
		b := encodeEntry(c.gen, c.version, data)
		for i, ch := range b[:entryHeader] {
			if ch < 0x20 || ch >= 0x7f {
				t.Fatalf("header byte %d is %#x, not printable text", i, ch)
			}
		}
		e, ok := decodeEntry(b)
		if !ok || e.gen != c.gen || e.version != c.version || !bytes.Equal(e.data, data) {
			t.Fatalf("round trip of %+v: %+v, %v", c, e, ok)
		}
	}
	for _, bad := range []string{"", "cg1.", "cg1.zzzzzzzzzzzzzzzz0000000000000000.{}", `{"plain":"json"}`, "cg1.00000000000000010000000000000000x{}"} {
		if _, ok := decodeEntry([]byte(bad)); ok {
			t.Errorf("decodeEntry(%q) accepted", bad)
		}
	}
}
