package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// versioned checks core.VersionedStore when the store implements it.
func (s suite) versioned(t ruled) {
	st := s.newStore(t.T)
	vs, ok := st.(core.VersionedStore)
	requireCapability(t, st, core.CapVersioning, ok, "LoadVersion", func() error {
		_, _, err := vs.LoadVersion(ctx(t), newKey(t))
		return err
	})
	rec := core.Record{Key: newKey(t), Data: []byte(`{"v":1}`), Expiry: hour()}
	mustSave(t, st, rec, core.Create)
	_, v1, err := vs.LoadVersion(ctx(t), rec.Key)
	if err != nil {
		t.Fatalf("LoadVersion after Create: %v", err)
	}
	rec.Data = []byte(`{"v":2}`)
	if err := vs.SaveVersion(ctx(t), rec, v1); err != nil {
		t.Fatalf("SaveVersion at the current version: %v", err)
	}
	if err := vs.SaveVersion(ctx(t), core.Record{Key: rec.Key, Data: []byte(`{"stale":1}`), Expiry: hour()}, v1); !errors.Is(err, core.ErrVersionConflict) {
		t.Fatalf("SaveVersion at a stale version = %v, want ErrVersionConflict", err)
	}
	s.mustLoad(t, st, rec)
	_, v2, _ := vs.LoadVersion(ctx(t), rec.Key)
	mustSave(t, st, core.Record{Key: rec.Key, Data: []byte(`{"v":3}`), Expiry: hour()}, core.Update)
	_, v3, _ := vs.LoadVersion(ctx(t), rec.Key)
	if v2 == v1 || v3 == v2 {
		t.Errorf("versions %d, %d, %d: every write must change the version", v1, v2, v3)
	}
	if err := vs.SaveVersion(ctx(t), core.Record{Key: rec.Key, Data: []byte(`{}`), Expiry: hour()}, v2); !errors.Is(err, core.ErrVersionConflict) {
		t.Errorf("SaveVersion at the version before a plain Update = %v, want ErrVersionConflict", err)
	}
	if err := vs.SaveVersion(ctx(t), core.Record{Key: newKey(t), Data: []byte(`{}`), Expiry: hour()}, v1); !errors.Is(err, core.ErrSessionDeleted) {
		t.Errorf("SaveVersion of a missing record = %v, want ErrSessionDeleted", err)
	}
	// Racing writers at one version: exactly one wins.
	const n = 8
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := vs.SaveVersion(ctx(t), core.Record{Key: rec.Key, Data: []byte(fmt.Sprintf(`{"w":%d}`, i)), Expiry: time.Now().Add(time.Hour)}, v3)
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, core.ErrVersionConflict) {
				t.Errorf("racing SaveVersion: %v", err)
			}
		}(i)
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d racing SaveVersions at one version succeeded, want 1", wins.Load())
	}
}
