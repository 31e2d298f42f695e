// Package core is the framework-agnostic heart of cloakroom: Django-style
// server-side sessions for Go web applications.
//
// A visitor holds only an opaque ticket, the session cookie; the data stays in
// a [Store] on the server (or, with a [CookieStore], travels signed in the
// cookie). A [Manager] carries the configuration (Django's SESSION_* settings),
// [Manager.Handler] is a plain net/http middleware, and [Session] is the
// dictionary-like API a handler uses.
//
// Package core and its sub-packages import only the standard library. The
// Gin and Echo adapters live in the sibling packages ginsession and
// echosession. Stores live in sub-packages (memstore, filestore,
// cookiestore, cachedstore, and the djangocodec cookie store) and in the
// packages gormstore and memcachestore of the same module; hashkeys,
// encrypt and observe wrap any store or codec; flash and csrf build on the
// session. Every store runs the conformance suite in core/storetest.
package core
