package gormstore_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/gormstore"
)

// Log out everywhere through the manager on every dialect, and the
// operator's Stats and ClearExpiredFunc.
func TestUserIndexStatsAndProgress(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			table := tableName(t, db)
			t.Cleanup(func() { _ = db.Migrator().DropTable(table + gormstore.UserTableSuffix) })
			st := newStore(t, db, gormstore.WithTableName(table), gormstore.WithUserIndex(), gormstore.WithBatchSize(2))
			m, err := core.New(st, core.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, _ := core.FromContext(r.Context())
				if u := r.URL.Query().Get("login"); u != "" {
					if err := s.Login(u); err != nil {
						http.Error(w, err.Error(), 500)
						return
					}
				}
				id, _ := s.UserID()
				_, _ = w.Write([]byte(id))
			}))
			login := func(user string) string {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", "/?login="+user, nil))
				if w.Code != 200 {
					t.Fatalf("login: %d %s", w.Code, w.Body)
				}
				return strings.SplitN(w.Header().Get("Set-Cookie"), ";", 2)[0]
			}
			who := func(cookie string) string {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("Cookie", cookie)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w.Body.String()
			}
			a1, a2, bob := login("alice"), login("alice"), login("bob")
			n, err := m.LogoutEverywhere(ctx(t), "alice")
			if err != nil || n != 2 {
				t.Fatalf("LogoutEverywhere = %d, %v; want 2", n, err)
			}
			if who(a1) != "" || who(a2) != "" || who(bob) != "bob" {
				t.Errorf("after logging alice out everywhere: %q %q %q", who(a1), who(a2), who(bob))
			}

			// Stats and a batched clear with progress.
			for i := 0; i < 5; i++ {
				k := newKey(t)
				if err := st.Save(ctx(t), core.Record{Key: k, Data: []byte(`{"x":"` + strings.Repeat("y", 300) + `"}`), Expiry: time.Now().Add(-time.Hour)}, core.Create); err != nil {
					t.Fatal(err)
				}
			}
			stats, err := st.Stats(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if stats.Live != 1 || stats.Expired != 5 || stats.Sizes[0] != 1 || stats.Bytes <= 0 {
				t.Errorf("Stats = %+v; want 1 live (small), 5 expired", stats)
			}
			var calls []int64
			total, err := st.ClearExpiredFunc(ctx(t), func(n int64) { calls = append(calls, n) })
			if err != nil || total != 5 {
				t.Fatalf("ClearExpiredFunc = %d, %v", total, err)
			}
			if len(calls) < 3 || calls[len(calls)-1] != 5 {
				t.Errorf("progress calls %v, want running totals ending at 5 in batches of 2", calls)
			}
		})
	}
}

// UserSessionKeys lists a user's live sessions, soonest expiry first,
// leaves out expired ones, and needs WithUserIndex.
func TestUserSessionKeys(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			table := tableName(t, db)
			t.Cleanup(func() { _ = db.Migrator().DropTable(table + gormstore.UserTableSuffix) })
			st := newStore(t, db, gormstore.WithTableName(table), gormstore.WithUserIndex())
			now := time.Now()
			var want []string
			for i, d := range []time.Duration{3 * time.Hour, -time.Hour, time.Hour, 2 * time.Hour} {
				key, _ := core.NewKey()
				rec := core.Record{Key: key, Data: []byte(`{}`), Expiry: now.Add(d)}
				if err := st.Save(ctx(t), rec, core.Create); err != nil {
					t.Fatal(err)
				}
				if err := st.LinkUser(ctx(t), "carol", key, rec.Expiry); err != nil {
					t.Fatal(err)
				}
				if i != 1 {
					want = append(want, key)
				}
			}
			want = []string{want[1], want[2], want[0]} // by expiry: 1h, 2h, 3h
			got, err := st.UserSessionKeys(ctx(t), "carol")
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("UserSessionKeys = %q, %v; want %q", got, err, want)
			}
			plain := newStore(t, db, gormstore.WithTableName(table))
			if _, err := plain.UserSessionKeys(ctx(t), "carol"); !errors.Is(err, core.ErrUnsupported) {
				t.Errorf("without WithUserIndex: %v, want ErrUnsupported", err)
			}
		})
	}
}
