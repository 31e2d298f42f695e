package core

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Stores and codecs wrap them with context; test for them
// with [errors.Is]. Their texts name no package: whoever wraps one says
// where it happened ("gormstore: loading session: session not found").
var (
	// ErrNotFound means no live session is stored under the key.
	ErrNotFound = errors.New("session not found")
	// ErrKeyExists means a Create save found a live record with the same key.
	ErrKeyExists = errors.New("session key already exists")
	// ErrSessionDeleted means an Update save found its record gone: a
	// concurrent request deleted it (a logout elsewhere) or it expired.
	// Django calls this SessionInterrupted; the middleware answers 400.
	ErrSessionDeleted = errors.New("session was deleted during the request")
	// ErrInvalidKey means a key does not satisfy [ValidKey].
	ErrInvalidKey = errors.New("invalid session key")
	// ErrTampered means stored or transported session data failed
	// verification or decoding.
	ErrTampered = errors.New("session data tampered or corrupt")
	// ErrTooLarge means a session does not fit where it must go: over
	// [Config.MaxSessionBytes], or a cookie over 4096 bytes. A change that
	// returns it left the session as it was; a save that returns it stored
	// nothing.
	ErrTooLarge = errors.New("session too large")
	// ErrInvalidConfig means a [Config] was rejected by [New].
	ErrInvalidConfig = errors.New("invalid configuration")
	// ErrNoSession means no session is attached to the request or context.
	ErrNoSession = errors.New("no session in context (is the middleware installed?)")
	// ErrUnsupported means the store lacks an optional capability (see
	// [Supports]). It wraps [errors.ErrUnsupported], so either matches.
	ErrUnsupported = fmt.Errorf("the store does not support this: %w", errors.ErrUnsupported)
	// ErrVersionConflict means a versioned save found the record changed
	// since it was loaded: another request of the same session saved first.
	ErrVersionConflict = errors.New("session changed by a concurrent request")
	// ErrResponseStarted means a session change came after the session was
	// committed, when the response's headers went out: it cannot be saved
	// and no cookie can carry it, so the change is refused (the session is
	// left as it was; Flush still deletes the stored session). Change the
	// session before writing the response. The first such change of a
	// request is also logged.
	ErrResponseStarted = errors.New("session changed after the response headers were sent")
	// ErrStoreTimeout means a store call did not finish within
	// [Config.StoreTimeout] (or the request's own deadline). Errors that
	// wrap it also wrap [context.DeadlineExceeded] and the store's error.
	// [DefaultErrorHandler] answers 503 Service Unavailable.
	ErrStoreTimeout = errors.New("session store did not answer in time")
	// ErrResponseReplaced is returned by writes after a session commit
	// failed and the error handler wrote the response instead of the
	// handler.
	ErrResponseReplaced = errors.New("response replaced by the session error handler")
)

// errPrefix begins every error message that core makes.
const errPrefix = "cloakroom: "

// wrapErr returns err with what was being done when it happened, as
// "cloakroom: what: <err>". When err is itself one of core's wrapped
// errors its own "cloakroom: " is dropped from the text, so that a message
// names the package once however deep the wrapping; [errors.Is] and
// [errors.As] still see err.
func wrapErr(what string, err error) error { return &wrapped{what: what, err: err} }

type wrapped struct {
	what string
	err  error
}

func (e *wrapped) Error() string {
	return errPrefix + e.what + ": " + strings.TrimPrefix(e.err.Error(), errPrefix)
}

func (e *wrapped) Unwrap() error { return e.err }
