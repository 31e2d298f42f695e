package unwrap

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

type target struct{ http.ResponseWriter }

type embedding struct {
	http.ResponseWriter
}

type unwrapping struct{ w http.ResponseWriter }

func (u *unwrapping) Header() http.Header         { return u.w.Header() }
func (u *unwrapping) Write(p []byte) (int, error) { return u.w.Write(p) }
func (u *unwrapping) WriteHeader(code int)        { u.w.WriteHeader(code) }
func (u *unwrapping) Unwrap() http.ResponseWriter { return u.w }

// hidden keeps its writer in an unexported field and has no Unwrap.
type hidden struct{ w http.ResponseWriter }

func (h *hidden) Header() http.Header         { return h.w.Header() }
func (h *hidden) Write(p []byte) (int, error) { return h.w.Write(p) }
func (h *hidden) WriteHeader(code int)        { h.w.WriteHeader(code) }

// loop unwraps to itself.
type loop struct{ http.ResponseWriter }

func (l *loop) Unwrap() http.ResponseWriter { return l }

func TestFind(t *testing.T) {
	want := &target{httptest.NewRecorder()}
	for name, tc := range map[string]struct {
		rw    http.ResponseWriter
		found bool
	}{
		"itself":             {want, true},
		"embedded":           {&embedding{ResponseWriter: want}, true},
		"embedded by value":  {embedding{ResponseWriter: want}, true},
		"unwrap":             {&unwrapping{want}, true},
		"mixed chain":        {&unwrapping{&embedding{ResponseWriter: &unwrapping{want}}}, true},
		"unexported field":   {&hidden{want}, false},
		"not there":          {&embedding{ResponseWriter: httptest.NewRecorder()}, false},
		"nil field":          {&embedding{}, false},
		"nil":                {nil, false},
		"cycle":              {&loop{}, false},
		"nil pointer inside": {&embedding{ResponseWriter: (*embedding)(nil)}, false},
	} {
		got, ok := Find[*target](tc.rw)
		if ok != tc.found || (ok && got != want) {
			t.Errorf("%s: Find = %p, %v; want found=%v", name, got, ok, tc.found)
		}
	}
}
