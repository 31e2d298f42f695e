package filestore

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzKeyPath checks that any key either is refused or names a file directly
// inside the store's directory, with the store's prefix.
func FuzzKeyPath(f *testing.F) {
	for _, seed := range []string{"abcdefgh12345678", "../../../../etc/passwd", "abcdefgh/../../x", "abcdefgh\x00", "..", "/abs/path/abcdefgh", `a\b\c\d\e\f\g\h`, strings.Repeat("z", 40)} {
		f.Add(seed)
	}
	s, err := New(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key string) {
		p, err := s.path("load", key)
		if err != nil {
			return
		}
		if filepath.Dir(p) != s.Dir() || filepath.Base(p) != DefaultPrefix+key || strings.ContainsAny(key, "/\\.\x00") {
			t.Fatalf("key %q gives path %q outside %q or off-pattern", key, p, s.Dir())
		}
	})
}

// FuzzDecode checks that the file format's decoder never panics and that
// what it accepts re-encodes to the same file.
func FuzzDecode(f *testing.F) {
	f.Add(encode([]byte(`{"a":1}`), time.Unix(1900000000, 5)))
	f.Add([]byte("garbage\n{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		data, exp, err := decode(b)
		if err != nil {
			return
		}
		if again, exp2, err := decode(encode(data, exp)); err != nil || string(again) != string(data) || !exp2.Equal(exp) {
			t.Fatalf("re-encoding %q: %q %v %v", b, again, exp2, err)
		}
	})
}
