package core

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxCookieBytes bounds a cookie value we hand to a cookie store: browsers
// keep at most 4096 bytes per cookie.
const maxCookieBytes = 4096

// MaxSessionCookies bounds how many values of the session cookie one
// request may have tried against the store. A browser sends several when a
// sibling domain planted its own (cookie tossing: "sessionid=planted;
// sessionid=real"): the manager tries the distinct acceptable values in the
// order they came, up to this many store lookups, and uses the first that
// loads (see [Manager.Begin]).
const MaxSessionCookies = 4

// cookieScanner walks the values of one cookie in a request's Cookie
// headers, in order, without allocating.
type cookieScanner struct {
	name  string
	lines []string // Cookie header lines not yet started
	line  string   // the rest of the current line
}

// next returns the cookie's next value; ok is false when none is left. The
// value may be empty or malformed: the name occurred.
func (c *cookieScanner) next() (value string, ok bool) {
	for {
		for len(c.line) > 0 {
			var part string
			if i := strings.IndexByte(c.line, ';'); i >= 0 {
				part, c.line = c.line[:i], c.line[i+1:]
			} else {
				part, c.line = c.line, ""
			}
			part = strings.TrimSpace(part)
			eq := strings.IndexByte(part, '=')
			if eq < 0 || strings.TrimSpace(part[:eq]) != c.name {
				continue
			}
			v := strings.TrimSpace(part[eq+1:])
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
		if len(c.lines) == 0 {
			return "", false
		}
		c.line, c.lines = c.lines[0], c.lines[1:]
	}
}

// firstCookie finds the first value of the cookie name in the Cookie
// header lines when that is cheap to tell: the first occurrence of name is
// a whole cookie name (at a line's start or after ";" or "; ") followed by
// "=" and a value without surrounding white space. It then returns what
// cookieScanner would return first, and whether the cookie occurs at all;
// ok is false when cookieScanner must decide. Later values are not looked
// at: a caller that needs them, because the first is not acceptable, scans.
func firstCookie(lines []string, name string) (value string, present, ok bool) {
	for _, line := range lines {
		i := 0
		if !strings.HasPrefix(line, name) { // the common first cookie needs no search
			if i = strings.Index(line, name); i < 0 {
				continue
			}
		}
		if i > 0 && line[i-1] != ';' && (line[i-1] != ' ' || i < 2 || line[i-2] != ';') {
			return "", false, false
		}
		rest := line[i+len(name):]
		if len(rest) == 0 || rest[0] != '=' {
			return "", false, false
		}
		rest = rest[1:]
		if j := strings.IndexByte(rest, ';'); j >= 0 {
			rest = rest[:j]
		}
		if len(rest) > 0 && (mayBeSpace(rest[0]) || mayBeSpace(rest[len(rest)-1])) {
			return "", false, false
		}
		if len(rest) >= 2 && rest[0] == '"' && rest[len(rest)-1] == '"' {
			rest = rest[1 : len(rest)-1]
		}
		return rest, true, true
	}
	return "", false, true
}

// mayBeSpace reports whether b is ASCII white space or part of a non-ASCII
// character (which strings.TrimSpace might trim).
func mayBeSpace(b byte) bool {
	return b == ' ' || (b >= '\t' && b <= '\r') || b >= 0x80
}

// sessionCookies puts the distinct values of the session cookie in h that
// may be handed to the store (the backend accepts it) into dst, in the order
// they came, without allocating. It returns how many it put (at most
// len(dst)), whether the cookie occurred at all (even with only bad
// values), and whether acceptable values beyond len(dst) were left out.
func (m *Manager) sessionCookies(h http.Header, dst []string) (n int, present, more bool) {
	c := cookieScanner{name: m.cfg.CookieName, lines: h["Cookie"]}
next:
	for {
		v, ok := c.next()
		if !ok {
			return n, present, false
		}
		present = true
		if v == "" || !m.b.accepts(v) {
			continue
		}
		for _, seen := range dst[:n] {
			if seen == v {
				continue next
			}
		}
		if n == len(dst) {
			return n, true, true
		}
		dst[n] = v
		n++
		if !c.mayHaveMore() {
			return n, true, false
		}
	}
}

// mayHaveMore reports whether the cookie's name occurs in what is left of
// the headers; when it does not, the scan ends without parsing the other
// cookies.
func (c *cookieScanner) mayHaveMore() bool {
	if strings.Contains(c.line, c.name) {
		return true
	}
	for _, l := range c.lines {
		if strings.Contains(l, c.name) {
			return true
		}
	}
	return false
}

// cookieSafe reports whether v consists of RFC 6265 cookie-octets.
func cookieSafe(v string) bool {
	i := 0
	for ; i+8 <= len(v); i += 8 {
		if !cookieWord(le64(v[i : i+8])) {
			return false
		}
	}
	for ; i < len(v); i++ {
		c := v[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}

// cookieWord reports whether each of the eight bytes in x is a cookie
// octet, eight at a time (see keyWord): in 0x21..0x7e and none of
// '"', ',', ';', '\\'.
func cookieWord(x uint64) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	if x&high != 0 || (x+(0x80-0x21)*ones)&high != high || (x+ones)&high != 0 {
		return false
	}
	return !hasByte(x, '"') && !hasByte(x, ',') && !hasByte(x, ';') && !hasByte(x, '\\')
}

// hasByte reports whether any byte of x is b (exact as an any-test: the
// borrow can mark a byte only after a true match).
func hasByte(x uint64, b byte) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	y := x ^ (uint64(b) * ones)
	return (y-ones)&^y&high != 0
}

// setCookie adds the session cookie to h. maxAge < 0 deletes the cookie;
// maxAge == 0 with browserSession makes a cookie without Max-Age/Expires.
func (m *Manager) setCookie(h http.Header, value string, maxAge int, browserSession bool, now time.Time) {
	c := &m.cfg
	b := make([]byte, 0, 96+len(c.CookieName)+len(value)+len(c.CookieDomain)+len(c.CookiePath))
	b = append(b, c.CookieName...)
	b = append(b, '=')
	b = append(b, value...)
	switch {
	case maxAge < 0:
		b = append(b, "; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0"...)
	case !browserSession:
		b = append(b, "; Expires="...)
		b = now.Add(time.Duration(maxAge)*time.Second).UTC().AppendFormat(b, http.TimeFormat)
		b = append(b, "; Max-Age="...)
		b = strconv.AppendInt(b, int64(maxAge), 10)
	}
	if c.CookieDomain != "" {
		b = append(b, "; Domain="...)
		b = append(b, c.CookieDomain...)
	}
	b = append(b, "; Path="...)
	b = append(b, c.CookiePath...)
	if c.Secure {
		b = append(b, "; Secure"...)
	}
	if c.HTTPOnly {
		b = append(b, "; HttpOnly"...)
	}
	switch c.SameSite {
	case http.SameSiteLaxMode:
		b = append(b, "; SameSite=Lax"...)
	case http.SameSiteStrictMode:
		b = append(b, "; SameSite=Strict"...)
	case http.SameSiteNoneMode:
		b = append(b, "; SameSite=None"...)
	}
	h.Add("Set-Cookie", string(b))
}

// addVaryCookie adds "Cookie" to the Vary header unless it is there.
func addVaryCookie(h http.Header) {
	for _, v := range h["Vary"] {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "*" || strings.EqualFold(f, "Cookie") {
				return
			}
		}
	}
	h.Add("Vary", "Cookie")
}
