package gormstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/gormstore"
)

// core.Supports follows the options, and Config.Optimistic is accepted
// exactly when the store was made WithVersioning.
func TestCapabilitiesFollowOptions(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			for _, tc := range []struct{ versioning, userIndex bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
				t.Run(fmt.Sprintf("versioning=%t,userIndex=%t", tc.versioning, tc.userIndex), func(t *testing.T) {
					table := tableName(t, db)
					opts := []gormstore.Option{gormstore.WithTableName(table)}
					if tc.versioning {
						opts = append(opts, gormstore.WithVersioning())
					}
					if tc.userIndex {
						t.Cleanup(func() { _ = db.Migrator().DropTable(table + gormstore.UserTableSuffix) })
						opts = append(opts, gormstore.WithUserIndex())
					}
					st := newStore(t, db, opts...)
					want := map[core.Capability]bool{
						core.CapVersioning:   tc.versioning,
						core.CapUserIndex:    tc.userIndex,
						core.CapClearExpired: true,
						core.CapPing:         true,
					}
					for c, w := range want {
						if got := core.Supports(st, c); got != w {
							t.Errorf("core.Supports(store, %v) = %t, want %t", c, got, w)
						}
					}

					cfg := core.DefaultConfig()
					cfg.Optimistic = true
					m, err := core.New(st, cfg)
					switch {
					case tc.versioning && err != nil:
						t.Fatalf("core.New(Optimistic) WithVersioning: %v", err)
					case !tc.versioning && !errors.Is(err, core.ErrInvalidConfig):
						t.Fatalf("core.New(Optimistic) without WithVersioning = %v, want ErrInvalidConfig", err)
					}
					if m != nil && !m.Supports(core.CapVersioning) {
						t.Error("Manager.Supports(CapVersioning) = false for a versioned store")
					}
				})
			}
		})
	}
}

// UnlinkUser removes a session's link to its user: a later
// DeleteUserSessions of that user leaves the session alone.
func TestUnlinkUser(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			table := tableName(t, db)
			t.Cleanup(func() { _ = db.Migrator().DropTable(table + gormstore.UserTableSuffix) })
			st := newStore(t, db, gormstore.WithTableName(table), gormstore.WithUserIndex())
			expiry := time.Now().Add(time.Hour)
			kept, gone := newKey(t), newKey(t)
			for _, k := range []string{kept, gone} {
				if err := st.Save(ctx(t), core.Record{Key: k, Data: []byte(`{}`), Expiry: expiry}, core.Create); err != nil {
					t.Fatal(err)
				}
				if err := st.LinkUser(ctx(t), "alice", k, expiry); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.UnlinkUser(ctx(t), kept); err != nil {
				t.Fatalf("UnlinkUser: %v", err)
			}
			if err := st.UnlinkUser(ctx(t), kept); err != nil {
				t.Errorf("UnlinkUser of a session with no link: %v", err)
			}
			if err := st.UnlinkUser(ctx(t), "not a key"); !errors.Is(err, core.ErrInvalidKey) {
				t.Errorf("UnlinkUser of an invalid key = %v, want ErrInvalidKey", err)
			}
			n, err := st.DeleteUserSessions(ctx(t), "alice")
			if err != nil || n != 1 {
				t.Fatalf("DeleteUserSessions = %d, %v; want 1 (the unlinked session kept)", n, err)
			}
			if _, err := st.Load(ctx(t), kept); err != nil {
				t.Errorf("the unlinked session was deleted: %v", err)
			}
			if _, err := st.Load(ctx(t), gone); !errors.Is(err, core.ErrNotFound) {
				t.Errorf("the linked session survived: %v", err)
			}
		})
	}
}

// Without WithUserIndex, UnlinkUser does nothing and DeleteUserSessions is
// unsupported.
func TestUnlinkUserWithoutIndex(t *testing.T) {
	db := openSQLiteFile(t)
	st := newStore(t, db, gormstore.WithTableName(tableName(t, db)))
	if err := st.UnlinkUser(ctx(t), newKey(t)); err != nil {
		t.Errorf("UnlinkUser without the index = %v, want nil", err)
	}
	if _, err := st.DeleteUserSessions(ctx(t), "alice"); !errors.Is(err, core.ErrUnsupported) {
		t.Errorf("DeleteUserSessions without the index = %v, want ErrUnsupported", err)
	}
}

// Ping answers while the database does, and fails once its sql.DB is closed
// or the context is done, directly and through Manager.Ping.
func TestPing(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			keeper := b.open(t) // drops the table after the store's pool is closed
			table := tableName(t, keeper)
			db := b.open(t)
			st := newStore(t, db, gormstore.WithTableName(table))
			m, err := core.New(st, core.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Ping(ctx(t)); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			if err := m.Ping(ctx(t)); err != nil {
				t.Fatalf("Manager.Ping: %v", err)
			}
			cancelled, cancel := context.WithCancel(context.Background())
			cancel()
			if err := st.Ping(cancelled); !errors.Is(err, context.Canceled) {
				t.Errorf("Ping with a cancelled context = %v, want context.Canceled", err)
			}

			sqlDB, err := db.DB()
			if err != nil {
				t.Fatal(err)
			}
			if err := sqlDB.Close(); err != nil {
				t.Fatal(err)
			}
			if err := st.Ping(ctx(t)); err == nil {
				t.Error("Ping on a closed sql.DB succeeded")
			}
			if err := m.Ping(ctx(t)); err == nil {
				t.Error("Manager.Ping on a closed sql.DB succeeded")
			} else {
				t.Logf("closed sql.DB: %v", err)
			}
		})
	}
}
