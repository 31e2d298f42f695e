package core

import (
	"context"
	"time"
)

// Record is one stored session: its key, its encoded data and the instant
// after which it must no longer be loaded.
type Record struct {
	// Key is the session key, already validated by [ValidKey].
	Key string
	// Data is the session's encoded values, opaque to the store.
	Data []byte
	// Expiry is the absolute time at which the record expires.
	Expiry time.Time
}

// SaveMode tells [Store.Save] whether the record must be new.
type SaveMode uint8

const (
	// Update overwrites an existing record. A store that can tell returns
	// [ErrSessionDeleted] when the record no longer exists (deleted by a
	// concurrent request, or expired and cleared).
	Update SaveMode = iota
	// Create stores the record only if no live record has its key; otherwise
	// Save returns [ErrKeyExists] and the manager retries with a new key.
	Create
)

// String returns "update" or "create".
func (m SaveMode) String() string {
	if m == Create {
		return "create"
	}
	return "update"
}

// Store persists session records on the server. Implementations must be safe
// for concurrent use. The manager validates every key with [ValidKey] before
// it calls a store, but stores should validate again where a bad key could do
// harm (file names, cache keys).
//
// Run the conformance suite in core/storetest against every implementation.
type Store interface {
	// Load returns the record stored under key. It returns an error wrapping
	// [ErrNotFound] when there is none or it has expired (Expiry is not after
	// the store's current time).
	Load(ctx context.Context, key string) (Record, error)
	// Save stores rec according to mode; see [Create] and [Update].
	Save(ctx context.Context, rec Record, mode SaveMode) error
	// Delete removes the record stored under key. Deleting a missing record
	// is not an error.
	Delete(ctx context.Context, key string) error
}

// ExpiredClearer is implemented by stores that can remove their expired
// records (Django's clear_expired). Stores whose backend expires records by
// itself, such as memcached, need not implement it.
type ExpiredClearer interface {
	// ClearExpired deletes every expired record and reports how many it
	// deleted.
	ClearExpired(ctx context.Context) (int64, error)
}

// CookieStore keeps the whole session inside the cookie value, as Django's
// signed_cookies backend does: nothing is stored on the server, so Flush and
// CycleKey cannot revoke a copy of an old cookie before it expires.
type CookieStore interface {
	// Seal encodes data and its expiry into a cookie value.
	Seal(ctx context.Context, data []byte, expiry time.Time) (string, error)
	// Open verifies and decodes a cookie value made by Seal. It returns an
	// error wrapping [ErrNotFound] for an expired value and [ErrTampered] for
	// one that is malformed, forged or signed with an unknown secret.
	Open(ctx context.Context, value string) (data []byte, expiry time.Time, err error)
}
