package observe_test

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/core/observe"
	"github.com/cloakroom/cloakroom/core/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store { return observe.Wrap(memstore.New(0), &observe.Counters{}) }, storetest.Options{})
}

type failing struct{ core.Store }

func (failing) Save(context.Context, core.Record, core.SaveMode) error {
	return errors.New("disk on fire")
}

func TestCountsThroughTheMiddleware(t *testing.T) {
	var c observe.Counters
	m, _ := core.New(observe.Wrap(memstore.New(0), &c), core.DefaultConfig())
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		if r.URL.Path == "/write" {
			_ = s.Set("n", 1)
		} else if r.URL.Path == "/read" {
			s.Has("n")
		}
	}))
	cookie := ""
	for _, p := range []string{"/write", "/read", "/read", "/none", "/write"} {
		req := httptest.NewRequest("GET", p, nil)
		req.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if set := w.Header().Get("Set-Cookie"); set != "" {
			cookie = strings.SplitN(set, ";", 2)[0]
		}
	}
	snap := c.Snapshot()
	if snap[observe.Create].Calls != 1 || snap[observe.Update].Calls != 1 || snap[observe.Load].Calls != 3 || snap[observe.Load].Misses != 0 {
		t.Errorf("counts: %+v", snap)
	}
	if snap[observe.Create].Bytes == 0 || snap[observe.Load].Total <= 0 {
		t.Errorf("sizes/latency not recorded: %+v", snap)
	}
	var f observe.Counters
	st := observe.Wrap(failing{memstore.New(0)}, &f)
	k, _ := core.NewKey()
	_ = st.Save(context.Background(), core.Record{Key: k}, core.Create)
	if f.Snapshot()[observe.Create].Errors != 1 {
		t.Error("error not counted")
	}
}

// Export store metrics through expvar (served at /debug/vars).
func Example() {
	var counters observe.Counters
	store := observe.Wrap(memstore.New(0), &counters)
	expvar.Publish("cloakroom_store", expvar.Func(func() any { return counters.Snapshot() }))

	m, _ := core.New(store, core.DefaultConfig())
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		_ = s.Set("visited", true)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))

	var snap map[string]observe.OpStats
	_ = json.Unmarshal([]byte(expvar.Get("cloakroom_store").String()), &snap)
	fmt.Println("creates:", snap["create"].Calls, "errors:", snap["create"].Errors)
	// Output: creates: 1 errors: 0
}
