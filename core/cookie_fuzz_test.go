package core

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// FuzzCookieValue checks that the cookie parser never panics, that what it
// returns is part of the header, and that the values it hands on as keys
// (every candidate of a request with several) are valid and distinct.
func FuzzCookieValue(f *testing.F) {
	for _, seed := range []string{
		"sessionid=abcdefgh12345678", "a=1; sessionid=\"abcdefgh12345678\"; b=2", "sessionid", "sessionid=",
		"=; ;;", "sessionid=../../etc/passwd", "sessionid=a;sessionid=b", " sessionid = x ", "\x00sessionid=\xff",
		"xsessionid=1; sessionid=2", "a=sessionid; sessionid=k", "sessionid=v ; x=1", "sessionid=\u00a0v", "a=1;sessionid=k", "a=1;  sessionid=k",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		h := http.Header{"Cookie": {header}}
		c := cookieScanner{name: "sessionid", lines: h["Cookie"]}
		v, present := c.next()
		if !present && v != "" {
			t.Fatalf("absent cookie with value %q", v)
		}
		if present && !strings.Contains(header, v) {
			t.Fatalf("value %q not in header %q", v, header)
		}
		// The fast path, when it answers, answers as the scanner does.
		if fv, fpresent, ok := firstCookie(h["Cookie"], "sessionid"); ok && (fv != v || fpresent != present) {
			t.Fatalf("firstCookie(%q) = %q, %v; the scanner: %q, %v", header, fv, fpresent, v, present)
		}
		m := newManager(Config{CookieName: "sessionid"}, serverBackend{store: nopStore{}})
		if m.b.accepts(v) && !ValidKey(v) {
			t.Fatalf("accepted invalid key %q", v)
		}
		var buf [MaxSessionCookies]string
		n, all, _ := m.sessionCookies(h, buf[:])
		if all != present {
			t.Fatalf("sessionCookies present %v, the scanner %v", all, present)
		}
		// The cookie scan keeps the first candidate, the one the load
		// tries first.
		var x Exchange
		initScanned(m, &x, &http.Request{Header: h})
		s := &x.s
		if s.hadCookie != present || (n > 0 && s.key != buf[0]) || (n == 0 && s.key != "") {
			t.Fatalf("first use: key %q hadCookie %v; candidates %q, present %v", s.key, s.hadCookie, buf[:n], present)
		}
		for i, k := range buf[:n] {
			if !ValidKey(k) || !strings.Contains(header, k) || slices.Contains(buf[:i], k) {
				t.Fatalf("sessionCookies returned %q: invalid, not in the header, or repeated", buf[:n])
			}
		}
	})
}

// FuzzJSONDecode checks that the default codec's decoder never panics and
// that whatever it accepts re-encodes and decodes to the same values.
func FuzzJSONDecode(f *testing.F) {
	for _, seed := range []string{`{}`, `{"a":1,"b":[1,2],"c":{"d":"e"}}`, `null`, `[]`, `{"a":`, "\xff", `{"\u2028":"x"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		values, err := JSONCodec{}.Decode(data)
		if err != nil {
			return
		}
		enc, err := JSONCodec{}.Encode(values)
		if err != nil {
			t.Fatal(err)
		}
		again, err := JSONCodec{}.Decode(enc)
		if err != nil || len(again) != len(values) {
			t.Fatalf("re-decode of %q: %v (%d vs %d keys)", enc, err, len(again), len(values))
		}
	})
}

// FuzzValidKey checks the key rule: whatever ValidKey accepts is 8 to 40
// characters of [a-z0-9], so it is safe in a path, SQL or a memcached key.
func FuzzValidKey(f *testing.F) {
	for _, seed := range []string{"abcdefgh", "../../etc/passwd", "abcdefgh\x00", "ABCDEFGH", strings.Repeat("a", 41)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if !ValidKey(key) {
			return
		}
		if len(key) < MinKeyLength || len(key) > MaxKeyLength || strings.Trim(key, keyAlphabet) != "" {
			t.Fatalf("ValidKey accepted %q", key)
		}
	})
}
