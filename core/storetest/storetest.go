// Package storetest is the conformance suite every cloakroom store runs.
//
// A store package calls [Run] (or [RunCookieStore] for stores that keep the
// session in the cookie) from one of its tests. The suite checks the contract
// documented on [core.Store]: not-found and expiry, create-only conflicts,
// updates of deleted records, deletes, clearing expired records, key
// validation, data isolation and concurrent use (run it under -race), and
// each optional capability the store reports through [core.Supports]:
// versioning, the user index, clearing expired records and Ping. A wrapper
// store passes only if it forwards every capability correctly.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// Options adapts the suite to what a store can promise.
type Options struct {
	// ExpiryResolution is how far a loaded expiry may differ from the saved
	// one (for example one second for MySQL DATETIME or a store that keeps
	// Unix seconds). Zero means one millisecond.
	ExpiryResolution time.Duration
	// NoUpdateDetection states that Update cannot tell that a record was
	// deleted (a plain cache). The suite then skips that check, loudly.
	NoUpdateDetection bool
	// ExpiryNotLoaded states that Load may return the zero time for the
	// expiry: the store's value format does not carry it (such as
	// Django's cache format) and the backend expires records by itself. A
	// non-zero expiry must still be the saved one.
	ExpiryNotLoaded bool
}

// NewStore returns a store for one subtest. It should be empty; it may share
// a backend with other subtests (the suite uses fresh random keys), and it
// should register its own cleanup with t.Cleanup.
type NewStore func(t *testing.T) core.Store

// Run runs the conformance suite against the stores newStore returns: each
// rule of the contract is a subtest, and its failures end with the rule.
func Run(t *testing.T, newStore NewStore, opts Options) {
	t.Helper()
	if opts.ExpiryResolution == 0 {
		opts.ExpiryResolution = time.Millisecond
	}
	runChecks(t, suite{newStore: newStore, opts: opts}.checks())
}

// checks is the suite's table: one rule of core.Store's contract a row.
func (s suite) checks() []check {
	return []check{
		{"LoadMissing", "Load of a key never saved returns ErrNotFound", s.loadMissing},
		{"CreateLoad", "Load returns what Create saved, data and expiry, a year-away expiry included", s.createLoad},
		{"CreateConflict", "Create of a key that exists returns ErrKeyExists and leaves the record as it was", s.createConflict},
		{"CreateRace", "of concurrent Creates of one key exactly one succeeds; the others return ErrKeyExists", s.createRace},
		{"Update", "Update replaces the data and expiry, and shorter data leaves no tail of the longer", s.update},
		{"UpdateMissing", "Update of a key never created returns ErrSessionDeleted and creates nothing", s.updateMissing},
		{"UpdateAfterDelete", "Update of a deleted record returns ErrSessionDeleted and does not bring it back", s.updateAfterDelete},
		{"Delete", "Delete removes the named record and no other; Delete of a missing key is not an error", s.delete},
		{"Expired", "a record past its expiry loads as ErrNotFound; one expiring in two seconds still loads", s.expired},
		{"CreateOverExpired", "Create over an expired record replaces it or returns ErrKeyExists; the old record never loads", s.createOverExpired},
		{"ZeroExpiry", "a record expiring at the zero time or before 1678 is refused or expired, never far in the future", s.zeroExpiry},
		{"ClearExpired", "ClearExpired removes every expired record and no live one, and a second call finds nothing", s.clearExpired},
		{"InvalidKeys", "Load, Save and Delete of a malformed key (BadKeys) return ErrInvalidKey", s.invalidKeys},
		{"Text", "data with non-ASCII, quotes, SQL and backslashes round-trips byte for byte", s.text},
		{"Large", "64 KiB of data round-trips", s.large},
		{"Isolation", "the store keeps no reference to the caller's bytes, neither those saved nor those loaded", s.isolation},
		{"Concurrent", "concurrent Creates, Loads, Updates and Deletes all succeed and see their own data (run under -race)", s.concurrent},
		{"Versioned", "with versioning, SaveVersion succeeds only at the current version, every write changes it and one of racing writers wins; without, it returns ErrUnsupported", s.versioned},
		{"UserIndex", "with the user index, DeleteUserSessions deletes exactly the user's linked sessions, cached copies included, and UserSessionKeys (if offered) lists exactly them; without, it returns ErrUnsupported", s.userIndex},
		{"Ping", "Ping of a working store that reports the capability succeeds", s.ping},
	}
}

type suite struct {
	newStore NewStore
	opts     Options
}

// ctx returns a context for one subtest, bounded so that a hung backend
// fails the test instead of hanging it.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func newKey(t testing.TB) string {
	t.Helper()
	k, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func hour() time.Time { return time.Now().Add(time.Hour) }

func mustSave(t testing.TB, st core.Store, rec core.Record, mode core.SaveMode) {
	t.Helper()
	if err := st.Save(ctx(t), rec, mode); err != nil {
		t.Fatalf("Save(%s, %s): %v", rec.Key, mode, err)
	}
}

func (s suite) mustLoad(t testing.TB, st core.Store, want core.Record) {
	t.Helper()
	got, err := st.Load(ctx(t), want.Key)
	if err != nil {
		t.Fatalf("Load(%s): %v", want.Key, err)
	}
	if got.Key != want.Key {
		t.Errorf("Load(%s).Key = %q", want.Key, got.Key)
	}
	if !bytes.Equal(got.Data, want.Data) {
		t.Errorf("Load(%s).Data = %.80q, want %.80q", want.Key, got.Data, want.Data)
	}
	if s.opts.ExpiryNotLoaded && got.Expiry.IsZero() {
		return
	}
	if d := got.Expiry.Sub(want.Expiry); d > s.opts.ExpiryResolution || d < -s.opts.ExpiryResolution {
		t.Errorf("Load(%s).Expiry = %v, want %v (within %v)", want.Key, got.Expiry, want.Expiry, s.opts.ExpiryResolution)
	}
}

func mustNotFound(t testing.TB, st core.Store, key string) {
	t.Helper()
	rec, err := st.Load(ctx(t), key)
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Load(%s) = %.80q, %v; want ErrNotFound", key, rec.Data, err)
	}
}

func (s suite) loadMissing(t ruled) {
	mustNotFound(t, s.newStore(t.T), newKey(t))
}

func (s suite) createLoad(t ruled) {
	st := s.newStore(t.T)
	rec := core.Record{Key: newKey(t), Data: []byte(`{"cart":[1,2,3]}`), Expiry: hour()}
	mustSave(t, st, rec, core.Create)
	s.mustLoad(t, st, rec)
	// A far expiry (a year) must survive too: memcached's 30-day rule.
	far := core.Record{Key: newKey(t), Data: []byte(`{"far":true}`), Expiry: time.Now().Add(365 * 24 * time.Hour)}
	mustSave(t, st, far, core.Create)
	s.mustLoad(t, st, far)
}

func (s suite) createConflict(t ruled) {
	st := s.newStore(t.T)
	rec := core.Record{Key: newKey(t), Data: []byte(`{"a":1}`), Expiry: hour()}
	mustSave(t, st, rec, core.Create)
	err := st.Save(ctx(t), core.Record{Key: rec.Key, Data: []byte(`{"b":2}`), Expiry: hour()}, core.Create)
	if !errors.Is(err, core.ErrKeyExists) {
		t.Fatalf("second Create = %v, want ErrKeyExists", err)
	}
	s.mustLoad(t, st, rec) // the first record is untouched
}

func (s suite) createRace(t ruled) {
	st := s.newStore(t.T)
	key := newKey(t)
	const n = 8
	var wins atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(fmt.Sprintf(`{"w":%d}`, i)), Expiry: hour()}, core.Create)
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, core.ErrKeyExists):
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Create: %v", err)
	}
	if w := wins.Load(); w != 1 {
		t.Fatalf("%d of %d concurrent Creates of one key succeeded, want exactly 1", w, n)
	}
}

func (s suite) update(t ruled) {
	st := s.newStore(t.T)
	rec := core.Record{Key: newKey(t), Data: []byte(`{"n":1}`), Expiry: hour()}
	mustSave(t, st, rec, core.Create)
	rec.Data = []byte(`{"n":2,"more":"data"}`)
	rec.Expiry = time.Now().Add(2 * time.Hour)
	mustSave(t, st, rec, core.Update)
	s.mustLoad(t, st, rec)
	rec.Data = []byte(`{}`) // shorter data must not leave a tail behind
	mustSave(t, st, rec, core.Update)
	s.mustLoad(t, st, rec)
}

func (s suite) skipNoDetect(t testing.TB) {
	if s.opts.NoUpdateDetection {
		t.Skip("LOUD SKIP: this store cannot detect an update of a deleted record (Options.NoUpdateDetection)")
	}
}

func (s suite) updateMissing(t ruled) {
	s.skipNoDetect(t)
	st := s.newStore(t.T)
	key := newKey(t)
	err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: hour()}, core.Update)
	if !errors.Is(err, core.ErrSessionDeleted) {
		t.Fatalf("Update of a never-created key = %v, want ErrSessionDeleted", err)
	}
	mustNotFound(t, st, key)
}

func (s suite) updateAfterDelete(t ruled) {
	s.skipNoDetect(t)
	st := s.newStore(t.T)
	rec := core.Record{Key: newKey(t), Data: []byte(`{"a":1}`), Expiry: hour()}
	mustSave(t, st, rec, core.Create)
	if err := st.Delete(ctx(t), rec.Key); err != nil {
		t.Fatal(err)
	}
	err := st.Save(ctx(t), rec, core.Update)
	if !errors.Is(err, core.ErrSessionDeleted) {
		t.Fatalf("Update after Delete = %v, want ErrSessionDeleted", err)
	}
	mustNotFound(t, st, rec.Key) // the failed update must not resurrect it
}

func (s suite) delete(t ruled) {
	st := s.newStore(t.T)
	a := core.Record{Key: newKey(t), Data: []byte(`{"a":1}`), Expiry: hour()}
	b := core.Record{Key: newKey(t), Data: []byte(`{"b":1}`), Expiry: hour()}
	mustSave(t, st, a, core.Create)
	mustSave(t, st, b, core.Create)
	if err := st.Delete(ctx(t), a.Key); err != nil {
		t.Fatal(err)
	}
	mustNotFound(t, st, a.Key)
	s.mustLoad(t, st, b) // only the named record goes
	if err := st.Delete(ctx(t), a.Key); err != nil {
		t.Fatalf("Delete of a missing key = %v, want nil", err)
	}
}

func (s suite) expired(t ruled) {
	st := s.newStore(t.T)
	key := newKey(t)
	mustSave(t, st, core.Record{Key: key, Data: []byte(`{"old":1}`), Expiry: time.Now().Add(-time.Hour)}, core.Create)
	mustNotFound(t, st, key)
	// Seconds-precision stores must not treat a just-saved record as expired.
	fresh := core.Record{Key: newKey(t), Data: []byte(`{"fresh":1}`), Expiry: time.Now().Add(2 * time.Second)}
	mustSave(t, st, fresh, core.Create)
	s.mustLoad(t, st, fresh)
}

func (s suite) createOverExpired(t ruled) {
	st := s.newStore(t.T)
	key := newKey(t)
	mustSave(t, st, core.Record{Key: key, Data: []byte(`{"old":1}`), Expiry: time.Now().Add(-time.Hour)}, core.Create)
	rec := core.Record{Key: key, Data: []byte(`{"new":1}`), Expiry: hour()}
	if err := st.Save(ctx(t), rec, core.Create); err != nil && !errors.Is(err, core.ErrKeyExists) {
		t.Fatalf("Create over an expired record: %v", err)
	} else if err == nil {
		s.mustLoad(t, st, rec)
	} else {
		mustNotFound(t, st, key) // refusing is allowed; resurrecting is not
	}
}

// zeroExpiry checks that a record whose Expiry is the zero time (or any time
// before 1678, out of range for Unix nanoseconds) is expired, never mistaken
// for a far-future one by an overflowing conversion. Refusing to save it is
// allowed.
func (s suite) zeroExpiry(t ruled) {
	st := s.newStore(t.T)
	for _, exp := range []time.Time{{}, time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)} {
		key := newKey(t)
		if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"z":1}`), Expiry: exp}, core.Create); err != nil {
			continue
		}
		mustNotFound(t, st, key)
	}
}

func (s suite) clearExpired(t ruled) {
	st := s.newStore(t.T)
	c, ok := st.(core.ExpiredClearer)
	requireCapability(t, st, core.CapClearExpired, ok, "ClearExpired", func() error {
		_, err := c.ClearExpired(ctx(t))
		return err
	})
	var live []core.Record
	for i := 0; i < 3; i++ {
		rec := core.Record{Key: newKey(t), Data: []byte(fmt.Sprintf(`{"live":%d}`, i)), Expiry: hour()}
		mustSave(t, st, rec, core.Create)
		live = append(live, rec)
		mustSave(t, st, core.Record{Key: newKey(t), Data: []byte(`{"dead":1}`), Expiry: time.Now().Add(-time.Minute)}, core.Create)
	}
	n, err := c.ClearExpired(ctx(t))
	if err != nil {
		t.Fatalf("ClearExpired: %v", err)
	}
	if n < 3 {
		t.Errorf("ClearExpired removed %d records, want at least the 3 expired ones", n)
	}
	for _, rec := range live {
		s.mustLoad(t, st, rec)
	}
	if n, err = c.ClearExpired(ctx(t)); err != nil || n != 0 {
		t.Errorf("second ClearExpired = %d, %v; want 0, nil", n, err)
	}
}

// BadKeys are keys that must never reach a backend. Stores may use it in
// their own tests.
var BadKeys = []string{
	"", "short", "../../../../etc/passwd", "..", "a/b/c/d/e/f/g/h", `a\b\c\d\e\f\g`,
	"abcdefgh\x00ijkl", "abcd efgh ijkl", "abcdefgh\r\nset x 0 0 1", "ABCDEFGHIJKL",
	"abc'; DROP TABLE django_session; --", `abcdefgh"ijkl`, "abcdefgh%00ijkl",
	"abcdéfghijkl", strings.Repeat("a", 41), strings.Repeat("a", 251),
}

func (s suite) invalidKeys(t ruled) {
	st := s.newStore(t.T)
	for _, key := range BadKeys {
		if _, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Load(%q) = %v, want ErrInvalidKey", key, err)
		}
		if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: hour()}, core.Create); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Save(%q) = %v, want ErrInvalidKey", key, err)
		}
		if err := st.Delete(ctx(t), key); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
}

func (s suite) text(t ruled) {
	st := s.newStore(t.T)
	rec := core.Record{Key: newKey(t), Expiry: hour(),
		Data: []byte(`{"k":"héllo ✓ 'single' \"double\" ; DROP TABLE x; -- \\ \u2028 𝄞","e":""}`)}
	mustSave(t, st, rec, core.Create)
	s.mustLoad(t, st, rec)
}

func (s suite) large(t ruled) {
	st := s.newStore(t.T)
	data := []byte(`{"blob":"` + strings.Repeat("0123456789abcdef", 4096) + `"}`) // 64 KiB
	rec := core.Record{Key: newKey(t), Data: data, Expiry: hour()}
	mustSave(t, st, rec, core.Create)
	s.mustLoad(t, st, rec)
}

func (s suite) isolation(t ruled) {
	st := s.newStore(t.T)
	data := []byte(`{"a":"original"}`)
	rec := core.Record{Key: newKey(t), Data: data, Expiry: hour()}
	mustSave(t, st, rec, core.Create)
	want := core.Record{Key: rec.Key, Data: append([]byte(nil), data...), Expiry: rec.Expiry}
	copy(data, `{"a":"CHANGED!"}`) // the caller reuses its buffer
	s.mustLoad(t, st, want)
	got, err := st.Load(ctx(t), rec.Key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got.Data {
		got.Data[i] = 'x' // the caller scribbles on what it loaded
	}
	s.mustLoad(t, st, want)
}

func (s suite) concurrent(t ruled) {
	st := s.newStore(t.T)
	const workers, rounds = 8, 25
	shared := core.Record{Key: newKey(t), Data: []byte(`{"n":0}`), Expiry: hour()}
	mustSave(t, st, shared, core.Create)
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*4)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := ctx(t)
			for i := 0; i < rounds; i++ {
				key, err := core.NewKey()
				if err != nil {
					errs <- err
					return
				}
				data := []byte(fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))
				if err := st.Save(c, core.Record{Key: key, Data: data, Expiry: hour()}, core.Create); err != nil {
					errs <- fmt.Errorf("create: %w", err)
					continue
				}
				if got, err := st.Load(c, key); err != nil || !bytes.Equal(got.Data, data) {
					errs <- fmt.Errorf("load own record: %q, %v", got.Data, err)
				}
				if err := st.Save(c, core.Record{Key: shared.Key, Data: []byte(fmt.Sprintf(`{"n":%d}`, w)), Expiry: hour()}, core.Update); err != nil {
					errs <- fmt.Errorf("update shared: %w", err)
				}
				if _, err := st.Load(c, shared.Key); err != nil {
					errs <- fmt.Errorf("load shared: %w", err)
				}
				if err := st.Delete(c, key); err != nil {
					errs <- fmt.Errorf("delete: %w", err)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 10 {
			t.Error(err)
		}
	}
	if n > 10 {
		t.Errorf("... and %d more errors", n-10)
	}
}
