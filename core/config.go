package core

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Config holds the session settings. Start from [DefaultConfig], which has
// Django's defaults, and change what you need; [New] validates the result.
type Config struct {
	// CookieName is the session cookie's name (SESSION_COOKIE_NAME).
	CookieName string
	// CookieAge is the session lifetime (SESSION_COOKIE_AGE), used for the
	// cookie's Max-Age and the stored expiry unless a session sets its own.
	CookieAge time.Duration
	// CookieDomain is the cookie's Domain attribute; empty means host-only.
	CookieDomain string
	// CookiePath is the cookie's Path attribute.
	CookiePath string
	// Secure sets the cookie's Secure attribute. Turn it on behind HTTPS.
	Secure bool
	// HTTPOnly sets the cookie's HttpOnly attribute, hiding it from scripts.
	HTTPOnly bool
	// SameSite sets the cookie's SameSite attribute.
	SameSite http.SameSite
	// ExpireAtBrowserClose makes cookies browser-session cookies (no
	// Max-Age or Expires) unless a session sets its own expiry.
	ExpireAtBrowserClose bool
	// SaveEveryRequest saves the session, and refreshes its cookie and
	// expiry, on every request that has a non-empty session.
	SaveEveryRequest bool
	// IdleTimeout, when positive, ends a session that has not been accessed
	// for that long, even if its absolute expiry is later. Zero turns it off.
	// Activity is recorded in the session (key [LastActivityKey]) and the
	// stored expiry never passes the idle deadline; see IdleTouchInterval
	// for the write policy.
	IdleTimeout time.Duration
	// IdleTouchInterval is how stale the recorded activity may get before an
	// access that changes nothing still saves the session to move the idle
	// deadline: at most one extra store write per session per interval,
	// never one per request. Zero means IdleTimeout/10 (at least a second).
	IdleTouchInterval time.Duration
	// Optimistic turns on optimistic concurrency: two requests of one
	// session that change it at once no longer lose the first writer's
	// changes (Django's rule is last writer wins). It needs a store that
	// implements [VersionedStore]; use [Modify] for read-modify-writes.
	Optimistic bool
	// MaxSessionBytes bounds a session's size, counted as the JSON object
	// of its values (the codec's input: every key and value as JSON, with
	// the quotes, colons, commas and braces). A change that would leave a
	// session over it and larger than before (Set, SetDefault, Update,
	// Modify, the expiry setters, and the replay of changes on a version
	// conflict) returns an error wrapping [ErrTooLarge] and leaves the
	// session as it was; changes that shrink a session always work. A save
	// of a session over it (one loaded that way, from a larger limit or
	// another app) stores nothing and fails with [ErrTooLarge]: the error
	// handler answers 500. With IdleTimeout on, the activity timestamp a
	// save adds counts too. Zero means [DefaultMaxSessionBytes]; a negative
	// value means no limit.
	MaxSessionBytes int
	// StoreTimeout bounds every store call a session makes (load, save,
	// delete, versioned load and save, linking and unlinking its user): the
	// call gets the request's context with this timeout, and a call that
	// fails once its deadline passed returns an error wrapping
	// [ErrStoreTimeout] (and [context.DeadlineExceeded]), which
	// [DefaultErrorHandler] answers with 503. Requests that never touch the
	// store pay nothing. Zero means [DefaultStoreTimeout]; a negative value
	// means no bound beyond the request's context. Manager calls made with
	// a context of their own (Ping, LogoutEverywhere) are not bounded.
	StoreTimeout time.Duration
	// Codec encodes values for the store; nil means [JSONCodec].
	Codec Codec
	// Now is the clock; nil means time.Now. Inject one in tests.
	Now func() time.Time
	// Logger receives warnings (tampered data) and errors (failed saves);
	// nil means slog.Default().
	Logger *slog.Logger
	// ErrorHandler writes the response when a session cannot be committed.
	// Nil means [DefaultErrorHandler].
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// DefaultCookieAge is Django's SESSION_COOKIE_AGE: two weeks.
const DefaultCookieAge = 14 * 24 * time.Hour

// DefaultMaxSessionBytes is the default [Config.MaxSessionBytes]: 64 KiB of
// JSON, far more than carts, checkout forms and flash messages need, and
// little enough that a visitor cannot fill the store.
const DefaultMaxSessionBytes = 64 << 10

// DefaultStoreTimeout is the default [Config.StoreTimeout]: a store that
// has not answered in five seconds is treated as unavailable rather than
// holding the request.
const DefaultStoreTimeout = 5 * time.Second

// DefaultConfig returns Django's default settings: cookie "sessionid", two
// weeks, path "/", HttpOnly, SameSite=Lax, not Secure, JSON values; and
// cloakroom's bounds: [DefaultMaxSessionBytes] and [DefaultStoreTimeout].
func DefaultConfig() Config {
	return Config{
		CookieName:      "sessionid",
		CookieAge:       DefaultCookieAge,
		CookiePath:      "/",
		HTTPOnly:        true,
		SameSite:        http.SameSiteLaxMode,
		MaxSessionBytes: DefaultMaxSessionBytes,
		StoreTimeout:    DefaultStoreTimeout,
	}
}

// validate checks c, listing every problem in one error that wraps
// [ErrInvalidConfig], and then fills in the defaults of the zero fields.
func (c *Config) validate() error {
	var problems []string
	problems = c.cookieProblems(problems)
	problems = c.sameSiteProblems(problems)
	problems = c.idleProblems(problems)
	if len(problems) > 0 {
		return fmt.Errorf("%s%w: %s", errPrefix, ErrInvalidConfig, strings.Join(problems, "; "))
	}
	c.setDefaults()
	return nil
}

// cookieProblems appends the problems of the cookie's name, age, path and
// domain to problems.
func (c *Config) cookieProblems(problems []string) []string {
	if !isToken(c.CookieName) {
		problems = append(problems, fmt.Sprintf("CookieName %q is not a valid cookie name (start from DefaultConfig)", c.CookieName))
	}
	if c.CookieAge < time.Second {
		problems = append(problems, fmt.Sprintf("CookieAge %v is under one second", c.CookieAge))
	}
	if !strings.HasPrefix(c.CookiePath, "/") || strings.ContainsAny(c.CookiePath, ";\x7f") || hasControl(c.CookiePath) {
		problems = append(problems, fmt.Sprintf("CookiePath %q must start with / and hold no ';' or control characters", c.CookiePath))
	}
	if c.CookieDomain != "" && !validDomain(c.CookieDomain) {
		problems = append(problems, fmt.Sprintf("CookieDomain %q is not a valid domain", c.CookieDomain))
	}
	return problems
}

// sameSiteProblems appends the problem of the cookie's SameSite mode, if
// any, to problems.
func (c *Config) sameSiteProblems(problems []string) []string {
	switch c.SameSite {
	case http.SameSiteDefaultMode, http.SameSiteLaxMode, http.SameSiteStrictMode:
	case http.SameSiteNoneMode:
		if !c.Secure {
			problems = append(problems, "SameSite=None requires Secure (browsers reject it otherwise)")
		}
	default:
		problems = append(problems, fmt.Sprintf("SameSite %d is not a known mode", c.SameSite))
	}
	return problems
}

// idleProblems appends the problems of IdleTimeout and IdleTouchInterval
// to problems.
func (c *Config) idleProblems(problems []string) []string {
	if c.IdleTimeout < 0 || (c.IdleTimeout > 0 && c.IdleTimeout < time.Second) {
		problems = append(problems, fmt.Sprintf("IdleTimeout %v must be zero (off) or at least a second", c.IdleTimeout))
	}
	if c.IdleTouchInterval < 0 || (c.IdleTimeout > 0 && c.IdleTouchInterval >= c.IdleTimeout) {
		problems = append(problems, fmt.Sprintf("IdleTouchInterval %v must be shorter than IdleTimeout %v", c.IdleTouchInterval, c.IdleTimeout))
	}
	return problems
}

// setDefaults fills in the defaults of a valid c: the idle touch interval,
// the size and store time bounds, and the codec, clock, logger and error
// handler.
func (c *Config) setDefaults() {
	if c.IdleTimeout > 0 && c.IdleTouchInterval == 0 {
		c.IdleTouchInterval = max(c.IdleTimeout/10, time.Second)
	}
	if c.MaxSessionBytes == 0 {
		c.MaxSessionBytes = DefaultMaxSessionBytes
	}
	if c.StoreTimeout == 0 {
		c.StoreTimeout = DefaultStoreTimeout
	}
	if c.Codec == nil {
		c.Codec = JSONCodec{}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ErrorHandler == nil {
		c.ErrorHandler = DefaultErrorHandler
	}
}

// isToken reports whether s is an RFC 7230 token, the syntax of cookie names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' {
			return true
		}
	}
	return false
}

func validDomain(d string) bool {
	d = strings.TrimPrefix(d, ".")
	if d == "" || len(d) > 253 {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return !strings.Contains(d, "..")
}
