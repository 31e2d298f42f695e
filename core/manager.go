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
	cfg    Config
	b      backend         // where sessions live, chosen once (see backend)
	store  Store           // the server store sessions call: given, or bounded by StoreTimeout; nil for cookies
	given  Store           // the store passed to New, for Store()
	users  UserIndex       // store, when it supports CapUserIndex
	replay bool            // changes are kept for replay (Config.Optimistic)
	checks []ExpiryChecker // the codec and cookie store, when they restrict expiries
}

// New returns a manager that keeps sessions in store. It returns an error
// wrapping [ErrInvalidConfig] when cfg is invalid, or when
// [Config.Optimistic] is on and store does not support
// [CapVersioning] (the error then also wraps [ErrUnsupported]).
func New(store Store, cfg Config) (*Manager, error) {
	if store == nil {
		return nil, fmt.Errorf("%s%w: store is nil", errPrefix, ErrInvalidConfig)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	bounded := store
	if cfg.StoreTimeout > 0 {
		bounded = &boundedStore{inner: store, d: cfg.StoreTimeout}
	}
	var b backend = serverBackend{store: bounded}
	if cfg.Optimistic {
		if !Supports(store, CapVersioning) {
			return nil, fmt.Errorf("%s%w: Optimistic needs a store that supports core.VersionedStore; %T does not (%w)", errPrefix, ErrInvalidConfig, store, ErrUnsupported)
		}
		b = versionedBackend{serverBackend: serverBackend{store: bounded}, vs: bounded.(VersionedStore)}
	}
	m := newManager(cfg, b)
	m.store, m.given = bounded, store
	if Supports(store, CapUserIndex) {
		m.users = bounded.(UserIndex)
	}
	m.addExpiryChecks(cfg.Codec)
	return m, nil
}

// newManager returns a manager with settings cfg, already validated, whose
// sessions live in b.
func newManager(cfg Config, b backend) *Manager {
	m := &Manager{cfg: cfg, b: b}
	_, m.replay = b.(versionedBackend)
	return m
}

// NewWithCookieStore returns a manager that keeps each session inside its
// cookie through cs (Django's signed_cookies backend).
func NewWithCookieStore(cs CookieStore, cfg Config) (*Manager, error) {
	if cs == nil {
		return nil, fmt.Errorf("%s%w: cookie store is nil", errPrefix, ErrInvalidConfig)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Optimistic {
		return nil, fmt.Errorf("%s%w: Optimistic does not apply to a cookie store", errPrefix, ErrInvalidConfig)
	}
	m := newManager(cfg, cookieBackend{cs: cs})
	m.addExpiryChecks(cfg.Codec, cs)
	return m, nil
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
		return wrapErr("store ping", err)
	}
	return nil
}

// lock locks s and reads the session cookie the first time.
func (s *Session) lock() {
	s.mu.Lock()
	if !s.scanned {
		s.scanCookieLocked()
	}
}

// scanCookieLocked keeps the request's first acceptable session cookie
// value as the key: a valid key, or for a cookie store a value of cookie
// characters that fits a cookie; values that are not are never handed to a
// store. The others are looked for only if it does not load (see
// Session.fetchLocked), so the common request pays no more than reading
// one cookie. It runs at the session's first use, or at the commit, never
// before. s.mu must be held.
func (s *Session) scanCookieLocked() {
	s.scanned = true
	if s.req != nil {
		s.key, s.hadCookie = s.m.findCookie(s.req.Header["Cookie"])
	}
}

// findCookie returns the first non-empty value of the session cookie in the
// Cookie header lines that the backend accepts ("" when none is), and
// whether the cookie occurs at all.
func (m *Manager) findCookie(lines []string) (value string, present bool) {
	if v, present, ok := firstCookie(lines, m.cfg.CookieName); ok {
		if !present || (v != "" && m.b.accepts(v)) {
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
		if v != "" && m.b.accepts(v) {
			return v, true
		}
	}
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
