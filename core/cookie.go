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

// cookieValue finds the first cookie called name in the request's Cookie
// headers without allocating. present is true when the name occurs, even
// with an empty or malformed value (Django then deletes the cookie).
func cookieValue(h http.Header, name string) (value string, present bool) {
	for _, line := range h["Cookie"] {
		for len(line) > 0 {
			var part string
			if i := strings.IndexByte(line, ';'); i >= 0 {
				part, line = line[:i], line[i+1:]
			} else {
				part, line = line, ""
			}
			part = strings.TrimSpace(part)
			eq := strings.IndexByte(part, '=')
			if eq < 0 || strings.TrimSpace(part[:eq]) != name {
				continue
			}
			v := strings.TrimSpace(part[eq+1:])
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}

// cookieSafe reports whether v consists of RFC 6265 cookie-octets.
func cookieSafe(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
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
