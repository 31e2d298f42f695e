package middlewaretest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// RunCookieStore checks, through serve, a manager that keeps each session in
// its cookie through cs, with codec: the session round-trips with the
// default cookie attributes; every one-character edit, truncation, garbage,
// 16 KB, non-ASCII or duplicated cookie gives 200 and an empty session, and
// tampering is logged; a session too large for a cookie is never answered
// as a success; planted cookies beside the real one never hide or delete
// it; Session.Key never returns an unverified value.
func RunCookieStore(t *testing.T, serve Serve, cs core.CookieStore, codec core.Codec) {
	e := startEnv(t, serve, func(c *core.Config) { c.Codec = codec }, func(cfg core.Config) (*core.Manager, error) {
		return core.NewWithCookieStore(cs, cfg)
	})
	runCases(t, []testCase{
		{"RoundTrip", "the session sealed into the cookie reads back from it", e.cookieRoundTrip},
		{"CookieDefaults", "the cookie has Django's default attributes (HttpOnly, Lax, Path=/, two weeks, not Secure), and a read without a cookie sets none", e.cookieDefaults},
		{"HostileValues", "every edited, truncated, garbage, 16 KB, non-ASCII or duplicated cookie gives 200 and an empty session, is never sent back, and tampering is logged", e.hostileCookies},
		{"TooLarge", "a session too large for a cookie is never answered as a success and sets no cookie", e.cookieTooLarge},
		{"SeveralSessionCookies", "planted cookies before or after the real one never hide or delete it; the cookie is deleted only when no value opens", e.cookieSeveral},
		{"KeyIsVerified", "Session.Key never returns a cookie value it has not verified, and calling it alone uses no session", e.cookieKeyVerified},
	})
}

// sealed returns a valid session cookie value for the /set route's data.
func (e *Env) sealed(t *testing.T) string {
	t.Helper()
	r := e.client().get(t, "/set")
	v := cookieKey(r.sessionCookie("sessionid"))
	if r.Status != http.StatusOK || v == "" {
		t.Fatalf("/set: %d %q, cookies %q", r.Status, r.Body, r.Cookies)
	}
	return v
}

func (e *Env) cookieRoundTrip(t *testing.T) {
	v := e.sealed(t)
	want := fmt.Sprintf("n=42 t=%s", fixedTime.Format(time.RFC3339Nano))
	if r := e.client().do(t, "GET", "/get", "sessionid="+v); r.Status != http.StatusOK || !strings.HasPrefix(r.Body, want) {
		t.Fatalf("/get with the sealed cookie: %d %q, want %q...", r.Status, r.Body, want)
	}
}

func (e *Env) cookieDefaults(t *testing.T) {
	line := e.client().get(t, "/set").sessionCookie("sessionid")
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1209600"} {
		if !strings.Contains(line, want) {
			t.Errorf("Set-Cookie %q lacks %s", line, want)
		}
	}
	if strings.Contains(line, "Secure") {
		t.Errorf("Set-Cookie %q is Secure by default; Django's default is off", line)
	}
	if r := e.client().get(t, "/get"); len(r.Cookies) != 0 {
		t.Errorf("a read without a cookie set %q; no cookie was needed", r.Cookies)
	}
}

func (e *Env) hostileCookies(t *testing.T) {
	v := e.sealed(t)
	tampered := []string{v + "A", v[:len(v)/2], v[1:], strings.Repeat("A", len(v)), "c1." + v, strings.ToUpper(v)}
	for i := range len(v) {
		b := []byte(v)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		tampered = append(tampered, string(b))
	}
	for i := 1; i < len(v); i += 9 {
		tampered = append(tampered, v[:i])
	}
	other := []string{
		"", "garbage", "!!!!", "eyJuIjo0Mn0", "eyJuIjo0Mn0:1tVKn1:forgedsignature", "..", "../../etc/passwd",
		"%00", "a b", `"quoted"`, "caf\u00e9", strings.Repeat("z", 16*1024),
	}
	c := e.client()
	for _, bad := range append(tampered, other...) {
		r := c.do(t, "GET", "/get", "sessionid="+bad)
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "n=0 ") || !strings.HasSuffix(r.Body, "keys=[]") {
			t.Errorf("cookie %.50q: %d %q, want 200 and an empty session", bad, r.Status, r.Body)
			continue
		}
		if got := cookieKey(r.sessionCookie("sessionid")); got != "" && got == bad {
			t.Errorf("cookie %.50q was sent back as the session cookie", bad)
		}
	}
	// Duplicated cookies: one of them is used, nothing panics, no 5xx.
	for _, header := range []string{"sessionid=garbage; sessionid=" + v, "sessionid=" + v + "; sessionid=garbage"} {
		if r := c.do(t, "GET", "/get", header); r.Status != http.StatusOK {
			t.Errorf("cookie header %.50q: %d %q", header, r.Status, r.Body)
		}
	}
	if !strings.Contains(e.logs(), "level=WARN") {
		t.Errorf("no slog warning for tampered cookies; log: %.300q", e.logs())
	}
}

func (e *Env) cookieTooLarge(t *testing.T) {
	r := e.client().get(t, "/big")
	if r.Status < 500 {
		t.Errorf("a session too large for a cookie answered %d %q; it must not look like a success", r.Status, r.Body)
	}
	if line := r.sessionCookie("sessionid"); line != "" {
		t.Errorf("a session too large for a cookie still set %.80q", line)
	}
}
