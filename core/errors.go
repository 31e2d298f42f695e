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
	// ErrTooLarge means a session does not fit where it must go, such as a
	// cookie over 4096 bytes.
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
)
