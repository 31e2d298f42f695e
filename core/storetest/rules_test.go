package storetest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cookiestore"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/core/storetest"
)

// resurrecting loads every valid key, saved or not, as an empty record.
type resurrecting struct{ core.Store }

func (r resurrecting) Load(ctx context.Context, key string) (core.Record, error) {
	rec, err := r.Store.Load(ctx, key)
	if err != nil && core.ValidKey(key) {
		return core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, nil
	}
	return rec, err
}

// credulous opens every value it cannot verify as an empty session.
type credulous struct{ core.CookieStore }

func (c credulous) Open(ctx context.Context, v string) ([]byte, time.Time, error) {
	data, exp, err := c.CookieStore.Open(ctx, v)
	if err != nil {
		return []byte(`{}`), time.Now().Add(time.Hour), nil
	}
	return data, exp, nil
}

// A store that breaks a rule fails the subtest named after it, and the
// failure states the rule. The suites run on broken stores in a child
// process, whose failure is observed from outside.
func TestFailuresStateTheRule(t *testing.T) {
	switch os.Getenv("STORETEST_CHILD") {
	case "store":
		storetest.Run(t, func(*testing.T) core.Store { return resurrecting{memstore.New(0)} }, storetest.Options{})
		return
	case "cookie":
		storetest.RunCookieStore(t, func(t *testing.T) core.CookieStore {
			st, err := cookiestore.New(make([]byte, 32))
			if err != nil {
				t.Fatal(err)
			}
			return credulous{st}
		}, storetest.CookieOptions{})
		return
	}
	for _, tc := range []struct{ child, fails, rule string }{
		{"store", "LoadMissing", "(rule: Load of a key never saved returns ErrNotFound)"},
		{"store", "UpdateAfterDelete", "(rule: Update of a deleted record returns ErrSessionDeleted and does not bring it back)"},
		{"cookie", "Tampered", "(rule: every one-character edit, truncation or garbage value opens as ErrTampered or ErrNotFound, never as data)"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFailuresStateTheRule$/^"+tc.fails+"$", "-test.v")
		cmd.Env = append(os.Environ(), "STORETEST_CHILD="+tc.child)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--- FAIL: TestFailuresStateTheRule/"+tc.fails+" ") || !strings.Contains(string(out), tc.rule) {
			t.Errorf("%s suite on a broken store: err %v, output:\n%.2000s\nwant %s to fail with %q", tc.child, err, out, tc.fails, tc.rule)
		}
	}
}
