package core

import (
	"errors"
	"fmt"
)

// Sentinel errors. Stores and codecs wrap them with context; test for them
// with [errors.Is].
var (
	// ErrNotFound means no live session is stored under the key.
	ErrNotFound = errors.New("cloakroom: session not found")
	// ErrKeyExists means a Create save found a live record with the same key.
	ErrKeyExists = errors.New("cloakroom: session key already exists")
	// ErrSessionDeleted means an Update save found its record gone: a
	// concurrent request deleted it (a logout elsewhere) or it expired.
	// Django calls this SessionInterrupted; the middleware answers 400.
	ErrSessionDeleted = errors.New("cloakroom: session was deleted during the request")
	// ErrInvalidKey means a key does not satisfy [ValidKey].
	ErrInvalidKey = errors.New("cloakroom: invalid session key")
	// ErrTampered means stored or transported session data failed
	// verification or decoding.
	ErrTampered = errors.New("cloakroom: session data tampered or corrupt")
	// ErrTooLarge means a session does not fit where it must go: over
	// [Config.MaxSessionBytes], or a cookie over 4096 bytes. A change that
	// returns it left the session as it was; a save that returns it stored
	// nothing.
	ErrTooLarge = errors.New("cloakroom: session too large")
	// ErrInvalidConfig means a [Config] was rejected by [New].
	ErrInvalidConfig = errors.New("cloakroom: invalid configuration")
	// ErrNoSession means no session is attached to the request or context.
	ErrNoSession = errors.New("cloakroom: no session in context (is the middleware installed?)")
	// ErrUnsupported means the store lacks an optional capability (see
	// [Supports]). It wraps [errors.ErrUnsupported], so either matches.
	ErrUnsupported = fmt.Errorf("cloakroom: the store does not support this: %w", errors.ErrUnsupported)
	// ErrVersionConflict means a versioned save found the record changed
	// since it was loaded: another request of the same session saved first.
	ErrVersionConflict = errors.New("cloakroom: session changed by a concurrent request")
	// ErrResponseStarted means a session change came after the session was
	// committed, when the response's headers went out: it cannot be saved
	// and no cookie can carry it, so the change is refused (the session is
	// left as it was; Flush still deletes the stored session). Change the
	// session before writing the response. The first such change of a
	// request is also logged.
	ErrResponseStarted = errors.New("cloakroom: session changed after the response headers were sent")
	// ErrStoreTimeout means a store call did not finish within
	// [Config.StoreTimeout] (or the request's own deadline). Errors that
	// wrap it also wrap [context.DeadlineExceeded] and the store's error.
	// [DefaultErrorHandler] answers 503 Service Unavailable.
	ErrStoreTimeout = errors.New("cloakroom: session store did not answer in time")
)
