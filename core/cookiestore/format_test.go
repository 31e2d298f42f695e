package cookiestore_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cookiestore"
)

// payloadOf returns the flags byte and the stored data of a sealed value.
func payloadOf(t *testing.T, v string) (byte, []byte) {
	t.Helper()
	p, err := base64.RawURLEncoding.DecodeString(v[3:strings.LastIndexByte(v, '.')])
	if err != nil || len(p) < 17 {
		t.Fatalf("payload of %q: %v", v, err)
	}
	return p[0], p[17:]
}

// Values sealed before the compression threshold, including one under it
// that was stored compressed, still open, and re-sealing stores it plain.
func TestOpensOldSeals(t *testing.T) {
	f, err := os.Open("testdata/seals-b0426a4.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC).Add(time.Minute)
	st := must(t, cookiestore.WithClock(func() time.Time { return at }))
	sc := bufio.NewScanner(f)
	entries, smallCompressed := 0, 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		fields := strings.SplitN(sc.Text(), " ", 3)
		if len(fields) != 3 || !sc.Scan() {
			t.Fatalf("bad entry %q", sc.Text())
		}
		n, _ := strconv.Atoi(fields[0])
		want, value := fields[2], sc.Text()
		if flags, _ := payloadOf(t, value); strconv.Itoa(int(flags)) != fields[1] || n != len(want) {
			t.Fatalf("entry %q does not match its value's flags %d", sc.Text(), flags)
		}
		if fields[1] == "1" && n < cookiestore.MinCompressLength {
			smallCompressed++
		}
		entries++
		data, expiry, err := st.Open(ctx, value)
		if err != nil || string(data) != want || !expiry.Equal(at.Add(-time.Minute).Add(365*24*time.Hour)) {
			t.Errorf("old seal of %s: %q %v %v", want, data, expiry, err)
		}
		v, err := st.Seal(ctx, data, expiry)
		if err != nil {
			t.Fatal(err)
		}
		if flags, stored := payloadOf(t, v); n < cookiestore.MinCompressLength && (flags != 0 || string(stored) != want) {
			t.Errorf("re-sealed %s: flags %d, stored %q", want, flags, stored)
		}
	}
	if entries < 4 || smallCompressed == 0 {
		t.Fatalf("%d entries, %d compressed under MinCompressLength: the vectors lost their point", entries, smallCompressed)
	}
}

// randomish returns n bytes that look random to DEFLATE.
func randomish(n int) []byte {
	var b []byte
	for i := 0; len(b) < n; i++ {
		h := sha256.Sum256([]byte{byte(i)})
		b = append(b, h[:]...)
	}
	return b[:n]
}

func TestCompressionThreshold(t *testing.T) {
	st := must(t)
	zeros := func(n int) string { return `{"z":"` + strings.Repeat("0", n-8) + `"}` }
	for _, tc := range []struct {
		data       string
		compressed bool
	}{
		{`{}`, false},
		{`{"v":1}`, false},
		{`{"visited":true}`, false},
		{zeros(32), false}, // DEFLATE would shrink it: under the threshold all the same
		{zeros(cookiestore.MinCompressLength - 1), false},
		{zeros(cookiestore.MinCompressLength), true},
		{realisticSession(), false}, // 121 bytes: compressed it would cost each read more than it saves
		{realisticSession()[:len(realisticSession())-1] + `,"note":"` + strings.Repeat("thanks ", 12) + `"}`, true},
		// A token of 96 random base64url characters: DEFLATE does not
		// shrink it, so it is stored as it is.
		{`{"t":"` + base64.RawURLEncoding.EncodeToString(randomish(72)) + `"}`, false},
	} {
		v, err := st.Seal(ctx, []byte(tc.data), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		flags, stored := payloadOf(t, v)
		if (flags == 1) != tc.compressed || flags > 1 || (flags == 0 && string(stored) != tc.data) {
			t.Errorf("%d bytes %s: flags %d, stored %q", len(tc.data), tc.data, flags, stored)
		}
		if data, _, err := st.Open(ctx, v); err != nil || string(data) != tc.data {
			t.Errorf("%s: opened %q %v", tc.data, data, err)
		}
	}
}

// Readers and buffers are pooled: each Open gives its own value's data,
// and the slice it returns stays the caller's.
func TestPooledOpens(t *testing.T) {
	st := must(t)
	sessions := []string{
		realisticSession(),
		`{"cart":[` + strings.Repeat("7,", 90) + `7],"username":"bob"}`,
		`{"flash":["` + strings.Repeat("saved. ", 40) + `"]}`,
		`{"v":1}`,
	}
	values := make([]string, len(sessions))
	for i, s := range sessions {
		values[i], _ = st.Seal(ctx, []byte(s), time.Now().Add(time.Hour))
	}
	if f, _ := payloadOf(t, values[1]); f != 1 {
		t.Fatal("the second session is not compressed")
	}
	kept := make([][]byte, len(values))
	for i, v := range values {
		data, _, err := st.Open(ctx, v)
		if err != nil || string(data) != sessions[i] {
			t.Fatalf("open %d after %d: %q %v", i, i-1, data, err)
		}
		kept[i] = data
	}
	for range 3 { // more opens, seals and a bomb through the same pools
		for _, v := range values {
			st.Open(ctx, v)
		}
		st.Seal(ctx, bytes.Repeat([]byte("x"), 2000), time.Now().Add(time.Hour))
		bomb := must(t, cookiestore.WithMaxDecompressed(100))
		st.Open(ctx, values[2])
		bomb.Open(ctx, values[2])
	}
	for i, d := range kept {
		if string(d) != sessions[i] {
			t.Errorf("data of open %d overwritten by later calls: %q", i, d)
		}
	}
	kept[0][0] = 'X' // the caller may write to it
	if data, _, _ := st.Open(ctx, values[0]); string(data) != sessions[0] {
		t.Errorf("a write to returned data reached the next open: %q", data)
	}

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 200 {
				i := (g + n) % len(values)
				if data, _, err := st.Open(ctx, values[i]); err != nil || string(data) != sessions[i] {
					t.Errorf("concurrent open %d: %q %v", i, data, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// The bound on decompressed data is exact.
func TestMaxDecompressedExact(t *testing.T) {
	const limit = 1000
	st := must(t, cookiestore.WithMaxDecompressed(limit))
	for _, n := range []int{limit - 1, limit, limit + 1, 4 * limit} {
		data := `{"z":"` + strings.Repeat("0", n-8) + `"}`
		v, err := st.Seal(ctx, []byte(data), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := st.Open(ctx, v)
		if n <= limit && (err != nil || string(got) != data) {
			t.Errorf("%d bytes under a bound of %d: %d bytes, %v", n, limit, len(got), err)
		}
		if n > limit && !errors.Is(err, core.ErrTampered) {
			t.Errorf("%d bytes over a bound of %d: %v", n, limit, err)
		}
	}
}
