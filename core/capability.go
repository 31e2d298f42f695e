package core

import (
	"context"
	"strconv"
)

// Capability names an optional store behaviour beyond [Store]: each has an
// interface a store implements to offer it.
type Capability uint8

// The optional capabilities of a store.
const (
	// CapVersioning is [VersionedStore]: optimistic concurrency for
	// [Config.Optimistic].
	CapVersioning Capability = iota + 1
	// CapUserIndex is [UserIndex]: log out everywhere.
	CapUserIndex
	// CapClearExpired is [ExpiredClearer]: removing expired records.
	CapClearExpired
	// CapPing is [Pinger]: a health check of the backend.
	CapPing
)

// String returns the capability's interface name.
func (c Capability) String() string {
	switch c {
	case CapVersioning:
		return "VersionedStore"
	case CapUserIndex:
		return "UserIndex"
	case CapClearExpired:
		return "ExpiredClearer"
	case CapPing:
		return "Pinger"
	}
	return "Capability(" + strconv.Itoa(int(c)) + ")"
}

// CapabilityReporter is implemented by stores whose optional methods do not
// always work: a store whose capability is an option (gormstore's
// versioning), and every wrapper, which has all the optional methods and
// offers each only when the store it wraps does. [Supports] consults it.
type CapabilityReporter interface {
	// Supports reports whether the store's methods for c work.
	Supports(c Capability) bool
}

// Pinger is implemented by stores that can check that their backend
// answers, for health checks (see [Manager.Ping]).
type Pinger interface {
	// Ping returns nil when the backend answered within ctx.
	Ping(ctx context.Context) error
}

// Supports reports whether store offers c: it implements c's interface and,
// if it is a [CapabilityReporter], reports c as supported. A store that
// implements the interface and is no CapabilityReporter supports it.
//
// Wrappers use it to forward exactly what the wrapped store can do.
func Supports(store Store, c Capability) bool {
	var ok bool
	switch c {
	case CapVersioning:
		_, ok = store.(VersionedStore)
	case CapUserIndex:
		_, ok = store.(UserIndex)
	case CapClearExpired:
		_, ok = store.(ExpiredClearer)
	case CapPing:
		_, ok = store.(Pinger)
	}
	if !ok {
		return false
	}
	if r, isReporter := store.(CapabilityReporter); isReporter {
		return r.Supports(c)
	}
	return true
}
