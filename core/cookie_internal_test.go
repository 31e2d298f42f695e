package core

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestSessionCookies(t *testing.T) {
	m := newManager(Config{CookieName: "sessionid"}, serverBackend{store: nopStore{}})
	k := func(c byte) string { return string(slices.Repeat([]byte{c}, 32)) }
	for _, tc := range []struct {
		headers       []string
		want          []string
		present, more bool
	}{
		{nil, nil, false, false},
		{[]string{"other=1"}, nil, false, false},
		{[]string{"sessionid=../x; sessionid="}, nil, true, false},
		{[]string{"sessionid=" + k('a')}, []string{k('a')}, true, false},
		{[]string{"sessionid=bad!; sessionid=" + k('a') + "; sessionid=" + k('a') + "; sessionid=" + k('b')}, []string{k('a'), k('b')}, true, false},
		{[]string{"sessionid=" + k('a'), `a=1; sessionid="` + k('b') + `"`}, []string{k('a'), k('b')}, true, false},
		{[]string{"sessionid=" + k('a') + "; sessionid=" + k('b') + "; sessionid=" + k('c') + "; sessionid=" + k('d') + "; sessionid=" + k('a') + "; sessionid=" + k('e')},
			[]string{k('a'), k('b'), k('c'), k('d')}, true, true},
		{[]string{"sessionid=" + k('a') + "; sessionid=" + k('b') + "; sessionid=" + k('c') + "; sessionid=" + k('d') + "; sessionid=" + k('a')},
			[]string{k('a'), k('b'), k('c'), k('d')}, true, false},
	} {
		var buf [MaxSessionCookies]string
		n, present, more := m.sessionCookies(http.Header{"Cookie": tc.headers}, buf[:])
		if !slices.Equal(buf[:n], tc.want) || present != tc.present || more != tc.more {
			t.Errorf("%q: %q %v %v, want %q %v %v", tc.headers, buf[:n], present, more, tc.want, tc.present, tc.more)
		}
	}
}

// initScanned is Begin followed by the cookie scan the session's first use
// does.
func initScanned(m *Manager, x *Exchange, r *http.Request) {
	m.Begin(x, r)
	x.s.lock()
	x.s.mu.Unlock()
}

// Begin reads nothing; the first use reads the first acceptable session
// cookie value without allocating, also when a planted one comes first;
// the others wait for the load.
func TestInitDoesNotAllocate(t *testing.T) {
	m := newManager(DefaultConfig(), serverBackend{store: nopStore{}})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", "a=1; sessionid=../planted; sessionid=plantedkey0123456789; sessionid=realkey0123456789abcdef; b=2")
	var x Exchange
	s := x.Session()
	if n := testing.AllocsPerRun(100, func() { x.Reset(); m.Begin(&x, req) }); n != 0 {
		t.Errorf("Begin allocated %v times", n)
	}
	if s.scanned || s.key != "" || s.hadCookie {
		t.Errorf("Begin read the cookie: key %q hadCookie %v", s.key, s.hadCookie)
	}
	if n := testing.AllocsPerRun(100, func() { x.Reset(); initScanned(m, &x, req) }); n != 0 {
		t.Errorf("the cookie scan allocated %v times", n)
	}
	if s.key != "plantedkey0123456789" || !s.hadCookie {
		t.Errorf("first use: key %q hadCookie %v", s.key, s.hadCookie)
	}
}

// BenchmarkInit measures reading the session cookie at the start of every
// request: no cookie, one, and a planted value before the real one.
func BenchmarkInit(b *testing.B) {
	m := newManager(DefaultConfig(), serverBackend{store: nopStore{}})
	for name, cookie := range map[string]string{
		"none":    "csrftoken=abc; theme=dark",
		"one":     "csrftoken=abc; sessionid=realkey0123456789abcdef0123456; theme=dark",
		"planted": "sessionid=plantedkey0123456789; csrftoken=abc; sessionid=realkey0123456789abcdef0123456",
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var x Exchange
			for range b.N {
				x.Reset()
				initScanned(m, &x, req)
			}
		})
	}
}

// TestCookieSafeEveryByte: the eight-at-a-time check agrees with the rule
// byte by byte, for every byte value at every position.
func TestCookieSafeEveryByte(t *testing.T) {
	slow := func(v string) bool {
		for i := 0; i < len(v); i++ {
			if c := v[i]; c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
				return false
			}
		}
		return true
	}
	base := []byte("abcDEF012-_.:~!#$%&'()*+/<=>?@[]^`{|}xyz")
	for _, n := range []int{1, 7, 8, 9, 16, 23, 40} {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				v := append([]byte(nil), base[:n]...)
				v[pos] = byte(c)
				if got, want := cookieSafe(string(v)), slow(string(v)); got != want {
					t.Fatalf("cookieSafe(%q) = %v, want %v", v, got, want)
				}
			}
		}
	}
}
