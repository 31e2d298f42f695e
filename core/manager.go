package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Manager applies a [Config] to requests: it reads the session cookie,
// attaches a lazy [Session], and commits it before the response goes out.
// A Manager is safe for concurrent use and should live as long as the app.
type Manager struct {
	cfg       Config
	store     Store          // the store sessions call: given, or bounded by StoreTimeout; nil for cookies
	given     Store          // the store passed to New, for Store()
	cookies   CookieStore    // cookie-side store, or nil
	versioned VersionedStore // store, when Config.Optimistic is on
	users     UserIndex      // store, when it supports CapUserIndex
}

// New returns a manager that keeps sessions in store. It returns an error
// wrapping [ErrInvalidConfig] when cfg is invalid.
func New(store Store, cfg Config) (*Manager, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: store is nil", ErrInvalidConfig)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, store: store, given: store}
	if cfg.StoreTimeout > 0 {
		m.store = &boundedStore{inner: store, d: cfg.StoreTimeout}
	}
	if Supports(store, CapUserIndex) {
		m.users = m.store.(UserIndex)
	}
	if cfg.Optimistic {
		if !Supports(store, CapVersioning) {
			return nil, fmt.Errorf("%w: Optimistic needs a store that supports core.VersionedStore; %T does not (%w)", ErrInvalidConfig, store, ErrUnsupported)
		}
		m.versioned = m.store.(VersionedStore)
	}
	return m, nil
}

// NewWithCookieStore returns a manager that keeps each session inside its
// cookie through cs (Django's signed_cookies backend).
func NewWithCookieStore(cs CookieStore, cfg Config) (*Manager, error) {
	if cs == nil {
		return nil, fmt.Errorf("%w: cookie store is nil", ErrInvalidConfig)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Optimistic {
		return nil, fmt.Errorf("%w: Optimistic does not apply to a cookie store", ErrInvalidConfig)
	}
	return &Manager{cfg: cfg, cookies: cs}, nil
}

// Config returns the manager's settings, with defaults filled in.
func (m *Manager) Config() Config { return m.cfg }

// Store returns the server-side store passed to [New], or nil for a
// cookie-store manager.
func (m *Manager) Store() Store { return m.given }

// Supports reports whether the manager's store offers c (see [Supports]);
// a cookie-store manager supports none.
func (m *Manager) Supports(c Capability) bool {
	return m.store != nil && Supports(m.store, c)
}

// Ping checks that the store's backend answers, for a health check: it
// returns nil for a store that cannot be pinged (a memory or cookie store)
// and the store's error, wrapped, when the backend does not answer.
func (m *Manager) Ping(ctx context.Context) error {
	if !m.Supports(CapPing) {
		return nil
	}
	if err := m.store.(Pinger).Ping(ctx); err != nil {
		return fmt.Errorf("cloakroom: store ping: %w", err)
	}
	return nil
}

// Start returns the lazy session for r: it reads the session cookie but does
// not touch the store. Middlewares call it once per request; handlers get
// the session from the middleware instead.
func (m *Manager) Start(r *http.Request) *Session {
	s := new(Session)
	m.Init(s, r)
	return s
}

// Init prepares s, which must be a zero Session, as Start does. Adapters use
// it to embed the Session in their own per-request struct and save an
// allocation.
//
// Init does not touch the store, and does not read the cookie either: the
// session cookie is examined the first time the session is used (or at the
// commit), so a request that never touches its session pays for nothing
// but Init and the commit. Then the first acceptable value of the session
// cookie is kept (a valid key, or for a cookie store a value of cookie
// characters that fits a cookie); values that are not are never handed to
// a store. When the request carried several acceptable values (a sibling
// domain planted its own: "sessionid=planted; sessionid=real"), the first
// load tries them in order, at most [MaxSessionCookies] of them, and uses
// the first that loads; the commit deletes the cookie only when none
// loaded, so a planted value never gets the real session deleted.
func (m *Manager) Init(s *Session, r *http.Request) {
	s.m = m
	s.req = r
	s.ctx = r.Context()
}

// lock locks s and reads the session cookie the first time.
func (s *Session) lock() {
	s.mu.Lock()
	if !s.scanned {
		s.scanCookieLocked()
	}
}

// scanCookieLocked keeps the request's first acceptable session cookie
// value as the key (see [Manager.Init]). The others are looked for only if
// it does not load (see Session.fetchLocked), so the common request pays no
// more than reading one cookie. s.mu must be held.
func (s *Session) scanCookieLocked() {
	s.scanned = true
	if s.req != nil {
		s.key, s.hadCookie = s.m.findCookie(s.req.Header["Cookie"], false)
	}
}

// findCookie returns the first non-empty value of the session cookie in the
// Cookie header lines that is acceptable, or only plausible when
// lengthOnly ("" when none is), and whether the cookie occurs at all.
func (m *Manager) findCookie(lines []string, lengthOnly bool) (value string, present bool) {
	want := func(v string) bool {
		if lengthOnly {
			return m.plausible(v)
		}
		return m.acceptable(v)
	}
	if v, present, ok := firstCookie(lines, m.cfg.CookieName); ok {
		if !present || (v != "" && want(v)) {
			return v, present
		}
		// Not wanted: a later value may be.
	}
	c := cookieScanner{name: m.cfg.CookieName, lines: lines}
	for {
		v, ok := c.next()
		if !ok {
			return "", present
		}
		present = true
		if v != "" && want(v) {
			return v, true
		}
	}
}

// acceptable reports whether a cookie value may be handed to the store: a
// valid key for a server store; for a cookie store, RFC 6265 cookie
// characters that fit a browser's cookie.
func (m *Manager) acceptable(v string) bool {
	if m.store != nil {
		return ValidKey(v)
	}
	return len(v) <= maxCookieBytes && cookieSafe(v)
}

// unusableCookie reports whether r carries the session cookie with no value
// that could name a session, for the commit of a session that was never
// used: only such a cookie is deleted then. As Django does for a session it
// did not use, it looks at the values' lengths alone (a key's length for a
// server store, a cookie's for a cookie store); their characters are
// checked when the session is used, before any value reaches the store.
func (m *Manager) unusableCookie(r *http.Request) bool {
	if r == nil {
		return false
	}
	v, present := m.findCookie(r.Header["Cookie"], true)
	return present && v == ""
}

// plausible reports whether v has the length of a value the store could
// accept (see unusableCookie).
func (m *Manager) plausible(v string) bool {
	if m.store != nil {
		return len(v) >= MinKeyLength && len(v) <= MaxKeyLength
	}
	return len(v) <= maxCookieBytes
}

// DefaultErrorHandler answers 400 Bad Request when the session was deleted
// by a concurrent request (Django's SessionInterrupted); 503 Service
// Unavailable with "Retry-After: 1" when the store did not answer within
// [Config.StoreTimeout] ([ErrStoreTimeout]), a passing condition the client
// may retry; and 500 Internal Server Error for any other failure, including
// a session over [Config.MaxSessionBytes] at save (the handler's fault, not
// the client's). It never shows err to the client.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	h := w.Header()
	h.Del("Content-Encoding")
	h.Del("Etag")
	h.Del("Last-Modified")
	switch {
	case errors.Is(err, ErrSessionDeleted):
		http.Error(w, "The request's session was deleted before the request completed. The user may have logged out in a concurrent request.", http.StatusBadRequest)
	case errors.Is(err, ErrStoreTimeout):
		h.Set("Retry-After", "1")
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
	default:
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
}

func (m *Manager) logError(ctx context.Context, msg string, err error) {
	m.cfg.Logger.LogAttrs(ctx, slog.LevelError, msg, slog.String("error", err.Error()))
}

func (m *Manager) warn(ctx context.Context, msg string, err error) {
	m.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("error", err.Error()))
}
