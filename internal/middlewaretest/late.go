package middlewaretest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// lateOps are the session changes that must be refused once the response's
// headers were sent, by name. Each changes the /set route's session.
var lateOps = []struct {
	name string
	do   func(s *core.Session) error
}{
	{"Set", func(s *core.Session) error { return s.Set("n", 7) }},
	{"SetDefault", func(s *core.Session) error { _, err := s.SetDefault("fresh", 1); return err }},
	{"Update", func(s *core.Session) error { return s.Update(map[string]any{"n": 7, "fresh": 1}) }},
	{"Delete", func(s *core.Session) error { return s.Delete("n") }},
	{"Pop", func(s *core.Session) error { _, err := s.Pop("n", new(int)); return err }},
	{"Clear", func(s *core.Session) error { return s.Clear() }},
	{"Flush", func(s *core.Session) error { return s.Flush() }},
	{"CycleKey", func(s *core.Session) error { return s.CycleKey() }},
	{"Login", func(s *core.Session) error { return s.Login("ann") }},
	{"Modify", func(s *core.Session) error {
		return core.Modify(s, "n", func(n int, _ bool) (int, error) { return n + 1, nil })
	}},
	{"SetExpiry", func(s *core.Session) error { return s.SetExpiry(time.Minute) }},
	{"SetExpiryAt", func(s *core.Session) error { return s.SetExpiryAt(time.Now().Add(time.Hour)) }},
	{"SetExpireAtBrowserClose", func(s *core.Session) error { return s.SetExpireAtBrowserClose() }},
	{"ResetExpiry", func(s *core.Session) error { return s.ResetExpiry() }},
}

// lateResult is what the /late route's change after the response started
// returned, and a second change of the same request.
type lateResult struct{ first, second error }

// lateRoute writes and flushes a first chunk, which sends the headers and
// commits the session, then makes the change named by ?op= and a Set, and
// reports both errors on e.late.
func (e *Env) lateRoute(s *core.Session, r *http.Request) Response {
	name := r.URL.Query().Get("op")
	return Response{Status: http.StatusOK, Stream: []string{"written\n", "end\n"}, Between: func() {
		res := lateResult{first: fmt.Errorf("no change named %q", name)}
		for _, op := range lateOps {
			if op.name == name {
				res.first = op.do(s)
			}
		}
		res.second = s.Set("again", 1)
		e.late <- res
	}}
}

// saveThenSetRoute saves the session early, changes it again, and only then
// writes: Session.Save is not a commit.
func saveThenSetRoute(s *core.Session, r *http.Request) Response {
	err := s.Set("a", 1)
	if err == nil {
		err = s.Save(r.Context())
	}
	if err == nil {
		err = s.Set("b", 2)
	}
	if err != nil {
		return Response{Status: http.StatusInternalServerError, Body: err.Error()}
	}
	return Response{Status: http.StatusOK, Body: "saved"}
}

const lateLog = "session changed after the response headers were sent"

// lateChanges: a handler that wrote its response and then changes the
// session gets an error wrapping core.ErrResponseStarted from every
// changing method, one log line per request, and the stored session is left
// as it was (Flush still deletes it server-side).
func (x suite) lateChanges(t *testing.T) {
	e := x.newEnv(t, nil)
	for _, op := range lateOps {
		c := e.client()
		key := cookieKey(c.get(t, "/set").sessionCookie("sessionid"))
		r := c.get(t, "/late?op="+op.name)
		var res lateResult
		select {
		case res = <-e.late:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the route did not report", op.name)
		}
		if !errors.Is(res.first, core.ErrResponseStarted) {
			t.Errorf("%s after the response started: %v, want an error wrapping ErrResponseStarted", op.name, res.first)
		}
		if !errors.Is(res.second, core.ErrResponseStarted) {
			t.Errorf("Set after %s after the response started: %v, want ErrResponseStarted", op.name, res.second)
		}
		if r.Status != http.StatusOK || r.Body != "written\nend\n" || len(r.Cookies) != 0 {
			t.Errorf("%s: %d %q cookies %q, want the handler's response and no cookie", op.name, r.Status, r.Body, r.Cookies)
		}
		_, err := e.Store.Store.Load(context.Background(), key)
		if op.name == "Flush" {
			if err == nil {
				t.Error("Flush after the response started left the session in the store")
			}
			continue
		}
		want := fmt.Sprintf("n=42 t=%s item=%+v big=%d keys=[big item n t]", fixedTime.Format(time.RFC3339Nano), fixedItem, int64(1)<<60)
		if got := c.get(t, "/get"); err != nil || got.Body != want {
			t.Errorf("after %s after the response started: %q (%v), want the session as it was: %q", op.name, got.Body, err, want)
		}
	}
	logs := e.logs()
	if n := strings.Count(logs, lateLog); n != len(lateOps) {
		t.Errorf("%d log lines about late changes for %d requests, want one per request; log:\n%s", n, len(lateOps), logs)
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, lateLog) && !strings.Contains(line, "level=WARN") {
			t.Errorf("late change logged as %q, want a warning", line)
		}
	}
}

// saveIsNotCommit: changes after an explicit Session.Save, before the
// response is written, are saved and answered with the cookie.
func (x suite) saveIsNotCommit(t *testing.T) {
	e := x.newEnv(t, nil)
	c := e.client()
	r := c.get(t, "/save-then-set")
	if r.Status != http.StatusOK || r.Body != "saved" || r.sessionCookie("sessionid") == "" {
		t.Fatalf("/save-then-set: %d %q cookies %q", r.Status, r.Body, r.Cookies)
	}
	if got := c.get(t, "/get"); !strings.HasSuffix(got.Body, "keys=[a b]") {
		t.Errorf("after Save and a later Set: %q, want both values", got.Body)
	}
	if strings.Contains(e.logs(), lateLog) {
		t.Errorf("a change after Session.Save was logged as late: %s", e.logs())
	}
}
