package middlewaretest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core"
)

// severalCookies checks cookie tossing against a server store: a sibling
// domain planted session cookies beside the real one. Whatever the order
// and whatever the planted value (garbage, empty, a valid-looking key the
// store does not know), the real session is served and its cookie is never
// deleted; the cookie is deleted only when no value loads; a request costs
// at most core.MaxSessionCookies store lookups, and when values were left
// untried the cookie is not deleted either.
func (x suite) severalCookies(t *testing.T) {
	e := x.newEnv(t, nil)
	real := cookieKey(e.client().get(t, "/set").sessionCookie("sessionid"))
	unknown := "attackerchosenkey0123456789abcde"
	planted := map[string]string{
		"garbage": "../garbage", "empty": "", "quoted": `"bad value"`, "unknown": unknown,
		"garbage-and-unknown": "abc%00; sessionid=" + unknown,
	}
	count := 0
	for name, p := range planted {
		for order, header := range map[string]string{
			"planted-first": "sessionid=" + p + "; other=1; sessionid=" + real,
			"planted-last":  "sessionid=" + real + "; other=1; sessionid=" + p,
		} {
			loads := e.Store.Loads.Load()
			r := e.client().do(t, "GET", "/get", header)
			if r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "n=42 ") {
				t.Errorf("%s %s: /get %d %q, want the real session", name, order, r.Status, r.Body)
			}
			if line := r.sessionCookie("sessionid"); line != "" {
				t.Errorf("%s %s: a read sent Set-Cookie %q; the real cookie must stay", name, order, line)
			}
			if n := e.Store.Loads.Load() - loads; n > core.MaxSessionCookies {
				t.Errorf("%s %s: %d store lookups", name, order, n)
			}
			count++
			r = e.client().do(t, "GET", "/count", header)
			if r.Body != fmt.Sprint(count) || cookieKey(r.sessionCookie("sessionid")) != real {
				t.Errorf("%s %s: /count %q Set-Cookie %q, want %d saved under the real key", name, order, r.Body, r.sessionCookie("sessionid"), count)
			}
		}
	}

	// No value loads: an empty session, the cookie deleted (Django's rule).
	other := "otherunknownkey0123456789abcdefg"
	r := e.client().do(t, "GET", "/get", "sessionid="+unknown+"; sessionid="+other)
	if !strings.HasPrefix(r.Body, "n=0 ") || !strings.Contains(r.sessionCookie("sessionid"), "Max-Age=0") {
		t.Errorf("no value loads: %q Set-Cookie %q, want an empty session and the cookie deleted", r.Body, r.Cookies)
	}

	// More values than the bound: at most MaxSessionCookies lookups, and the
	// cookie stays, since an untried value may be the real one.
	var many []string
	for i := range core.MaxSessionCookies + 2 {
		many = append(many, fmt.Sprintf("sessionid=plantedkey%022d", i))
	}
	loads := e.Store.Loads.Load()
	r = e.client().do(t, "GET", "/get", strings.Join(append(many, "sessionid="+real), "; "))
	if n := e.Store.Loads.Load() - loads; n != core.MaxSessionCookies {
		t.Errorf("%d planted values: %d store lookups, want %d", len(many), n, core.MaxSessionCookies)
	}
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "n=0 ") || r.sessionCookie("sessionid") != "" {
		t.Errorf("%d planted values: %d %q Set-Cookie %q, want an empty session and no cookie change", len(many), r.Status, r.Body, r.Cookies)
	}
	many = many[:core.MaxSessionCookies-1]
	r = e.client().do(t, "GET", "/get", strings.Join(append(many, "sessionid="+real), "; "))
	if !strings.HasPrefix(r.Body, "n=42 ") || r.sessionCookie("sessionid") != "" {
		t.Errorf("%d planted values: %q Set-Cookie %q, want the real session", len(many), r.Body, r.Cookies)
	}
}

// cookieSeveral checks cookie tossing against a signed-cookie store: the
// real cookie is used whatever planted values (garbage, forged, empty) come
// before or after it, and is never deleted.
func (e *Env) cookieSeveral(t *testing.T) {
	v := e.sealed(t)
	mid := len(v) / 2
	forged := v[:mid] + string("AB"[b2i(v[mid] == 'A')]) + v[mid+1:]
	planted := map[string]string{"garbage": "garbage", "forged": forged, "empty": "", "path": "../x", "non-ascii": "caf\u00e9"}
	for name, p := range planted {
		for order, header := range map[string]string{
			"planted-first": "sessionid=" + p + "; other=1; sessionid=" + v,
			"planted-last":  "sessionid=" + v + "; other=1; sessionid=" + p,
		} {
			r := e.client().do(t, "GET", "/get", header)
			if r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "n=42 ") {
				t.Errorf("%s %s: /get %d %q, want the real session", name, order, r.Status, r.Body)
			}
			if line := r.sessionCookie("sessionid"); line != "" {
				t.Errorf("%s %s: a read sent Set-Cookie %.80q; the real cookie must stay", name, order, line)
			}
			r = e.client().do(t, "GET", "/count", header)
			line := r.sessionCookie("sessionid")
			if r.Body != "1" || line == "" || strings.Contains(line, "Max-Age=0") {
				t.Errorf("%s %s: /count %q Set-Cookie %.80q, want the real session re-sealed", name, order, r.Body, line)
			}
			if r := e.client().do(t, "GET", "/key", header); r.Body != "key="+v {
				t.Errorf("%s %s: Key() = %.80q, want the real cookie", name, order, r.Body)
			}
		}
	}
	r := e.client().do(t, "GET", "/get", "sessionid=garbage; sessionid="+forged)
	if !strings.HasPrefix(r.Body, "n=0 ") || !strings.Contains(r.sessionCookie("sessionid"), "Max-Age=0") {
		t.Errorf("no value opens: %q Set-Cookie %q, want an empty session and the cookie deleted", r.Body, r.Cookies)
	}
}

// cookieKeyVerified checks that Session.Key never returns a cookie value it
// has not verified, and that calling it alone does not mark the session
// accessed.
func (e *Env) cookieKeyVerified(t *testing.T) {
	v := e.sealed(t)
	for _, bad := range []string{"1234567", "garbage", v[:len(v)-1], v + "A"} {
		r := e.client().do(t, "GET", "/key", "sessionid="+bad)
		if r.Status != http.StatusOK || r.Body != "key=" {
			t.Errorf("cookie %.50q: Key() answered %d %.80q, want \"\"", bad, r.Status, r.Body)
		}
	}
	r := e.client().do(t, "GET", "/key", "sessionid="+v)
	if r.Body != "key="+v {
		t.Errorf("valid cookie: Key() answered %.80q, want the cookie", r.Body)
	}
	if hasVaryCookie(r.Header) || len(r.Cookies) != 0 {
		t.Errorf("Key() alone: Vary %q Set-Cookie %q, want neither", r.Header.Values("Vary"), r.Cookies)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
