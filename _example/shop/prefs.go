package main

import (
	"net/http"
	"time"
)

// The theme is a display preference of this browser, not part of a visit
// or of an account, so it lives in a long-lived cookie of its own rather
// than in the session. Signing out flushes the session, and everything in
// it goes (user, cart, checkout, CSRF token), as it must; a preference
// kept there would go too, and the page would turn light at sign-out. In
// its own cookie it survives sign-out, as on real shops, and no page needs
// a store round trip to read it. It is no secret and is checked on every
// read (only "dark" counts), so a forged value changes nothing but the
// colours.
const (
	themeCookie = "theme"
	themeMaxAge = 365 * 24 * time.Hour
)

// theme is the request's theme: "dark" or "light".
func theme(r *http.Request) string {
	if r != nil {
		if c, err := r.Cookie(themeCookie); err == nil && c.Value == "dark" {
			return "dark"
		}
	}
	return "light"
}

// setTheme remembers the theme in this browser; light, the default,
// removes the cookie.
func setTheme(w http.ResponseWriter, r *http.Request, t string) {
	c := &http.Cookie{Name: themeCookie, Value: "dark", Path: "/", MaxAge: int(themeMaxAge.Seconds()),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode}
	if t != "dark" {
		c.Value, c.MaxAge = "", -1
	}
	http.SetCookie(w, c)
}
