// Package unwrap finds a response writer of a known type inside writers that
// other middleware wrapped around it, so framework adapters can keep their
// per-request state in their writer instead of the framework's context map.
package unwrap

import (
	"net/http"
	"reflect"
)

// maxDepth bounds the search: real middleware stacks wrap a writer a few
// times, and a cycle must not loop forever.
const maxDepth = 16

// Find returns the first writer of type T in the chain that starts at rw:
// rw itself, then what an Unwrap() http.ResponseWriter method returns (the
// http.ResponseController convention), else the first non-nil exported
// field of interface type that holds an http.ResponseWriter (an embedded
// http.ResponseWriter or a framework's writer interface).
func Find[T http.ResponseWriter](rw http.ResponseWriter) (T, bool) {
	for range maxDepth {
		if rw == nil {
			break
		}
		if w, ok := rw.(T); ok {
			return w, true
		}
		if u, ok := rw.(interface{ Unwrap() http.ResponseWriter }); ok {
			rw = u.Unwrap()
			continue
		}
		rw = field(rw)
	}
	var zero T
	return zero, false
}

// field returns the writer held in an exported interface field of the
// struct rw points to, or nil.
func field(rw http.ResponseWriter) http.ResponseWriter {
	v := reflect.ValueOf(rw)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	t := v.Type()
	for i := range v.NumField() {
		f := v.Field(i)
		if !t.Field(i).IsExported() || f.Kind() != reflect.Interface || f.IsNil() {
			continue
		}
		if inner, ok := f.Interface().(http.ResponseWriter); ok {
			return inner
		}
	}
	return nil
}
