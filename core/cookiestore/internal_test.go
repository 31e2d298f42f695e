package cookiestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// forge signs payload as a genuine value of s: what only a holder of the
// secret could build, to reach the checks after the signature.
func forge(s *Store, payload []byte) string {
	signed := prefix + b64.EncodeToString(payload)
	return signed + "." + b64.EncodeToString(s.mac(0, nil, []byte(signed)))
}

func header(flags byte) []byte {
	h := make([]byte, headerLen)
	h[0] = flags
	now := time.Now()
	binary.BigEndian.PutUint64(h[1:], uint64(now.Unix()))
	binary.BigEndian.PutUint64(h[9:], uint64(now.Add(time.Hour).Unix()))
	return h
}

// bits writes a DEFLATE bit stream: fields least significant bit first,
// Huffman codes most significant bit first.
type bits struct {
	b []byte
	n uint
}

func (w *bits) field(v uint32, n int) {
	for i := range n {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (w.n % 8)
		w.n++
	}
}

func (w *bits) code(c uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		w.field(c>>i&1, 1)
	}
}

// backRef is a fixed-Huffman block: the literal 'a', then a 3-byte match
// at distance code dist (0: one back, 1: two back).
func backRef(dist uint32) []byte {
	var w bits
	w.field(1, 1)       // final block
	w.field(1, 2)       // fixed Huffman codes
	w.code(0x30+'a', 8) // literal 'a'
	w.code(1, 7)        // length code 257: 3 bytes
	w.code(dist, 5)     // distance code
	w.code(0, 7)        // end of block
	return w.b
}

func TestInflateChecks(t *testing.T) {
	ctx := context.Background()
	s, err := New(bytes.Repeat([]byte("s"), 32))
	if err != nil {
		t.Fatal(err)
	}
	open := func(payload []byte) ([]byte, error) {
		data, _, err := s.Open(ctx, forge(s, payload))
		return data, err
	}
	if data, err := open(append(header(compressed), backRef(0)...)); err != nil || string(data) != "aaaa" {
		t.Fatalf("the hand-built stream is wrong: %q %v", data, err)
	}
	// A match reaching before the start of the stream must not read what a
	// pooled reader's window held from the previous Open.
	secret := bytes.Repeat([]byte("secret session "), 20)
	v, err := s.Seal(ctx, secret, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if data, _, err := s.Open(ctx, v); err != nil || !bytes.Equal(data, secret) {
			t.Fatalf("%q %v", data, err)
		}
		if data, err := open(append(header(compressed), backRef(1)...)); !errors.Is(err, core.ErrTampered) {
			t.Fatalf("a match before the start of the stream: %q %v", data, err)
		}
	}
	// A truncated stream, garbage, and an empty stream are refused.
	sealed, _ := b64.DecodeString(v[len(prefix):bytes.LastIndexByte([]byte(v), '.')])
	for _, body := range [][]byte{sealed[headerLen : len(sealed)-3], {0xff, 0xff, 0xff}, nil} {
		if data, err := open(append(header(compressed), body...)); !errors.Is(err, core.ErrTampered) {
			t.Errorf("compressed body %x: %q %v", body, data, err)
		}
	}
	// Unknown flags, a short header, and a value with no signature part.
	for _, p := range [][]byte{header(2), header(0)[:headerLen-1]} {
		if _, err := open(p); !errors.Is(err, core.ErrTampered) {
			t.Errorf("payload %x: %v", p, err)
		}
	}
	noDot := prefix + b64.EncodeToString(s.mac(0, nil, []byte("c1")))
	if _, _, err := s.Open(ctx, noDot); !errors.Is(err, core.ErrTampered) {
		t.Errorf("%q: %v", noDot, err)
	}
}

// raceEnabled is set by race_test.go: under the race detector sync.Pool
// drops a share of what is put back.
var raceEnabled bool

// Seal and Open allocate only what they return.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	s, _ := New(bytes.Repeat([]byte("s"), 32))
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	for _, data := range []string{`{"v":1}`, `{"cart":[101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120],"username":"alice@example.com"}`} {
		b := []byte(data)
		v, _ := s.Seal(ctx, b, exp)
		if n := testing.AllocsPerRun(100, func() { s.Seal(ctx, b, exp) }); n > 1 {
			t.Errorf("Seal of %d bytes: %v allocations", len(data), n)
		}
		if n := testing.AllocsPerRun(100, func() { s.Open(ctx, v) }); n > 1 {
			t.Errorf("Open of %d bytes: %v allocations", len(data), n)
		}
	}
}
