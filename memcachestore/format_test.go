package memcachestore_test

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/djangocodec"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/core/storetest"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/memcachestore"
)

// djangoStore is a store in the format of Django's cache session backend.
func djangoStore(t *testing.T, addr string, opts ...djangocodec.Option) *memcachestore.Store {
	t.Helper()
	cf, err := djangocodec.NewCacheFormat(nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return memcachedtest.Open(t, []string{addr},
		memcachestore.WithPrefix(djangocodec.CacheKeyPrefix("", 1, djangocodec.CacheBackend)),
		memcachestore.WithValueFormat(cf))
}

// TestConformanceDjangoFormat: with Django's cache format the store keeps
// the contract, except that a loaded record's expiry may be unknown.
func TestConformanceDjangoFormat(t *testing.T) {
	srv := memcachedtest.Start(t)
	storetest.Run(t, func(t *testing.T) core.Store { return djangoStore(t, srv.Addr()) }, storetest.Options{ExpiryNotLoaded: true})
}

// TestDjangoFormatItems: the items are what Django's pylibmc and
// pymemcache clients write (a pickle under flags 1, at Django's key), and
// anything else under those keys loads as tampered.
func TestDjangoFormatItems(t *testing.T) {
	srv := memcachedtest.Start(t)
	st := djangoStore(t, srv.Addr(), djangocodec.WithVersion(djangocodec.Django32))
	raw := memcache.New(srv.Addr())
	key := mustKey(t)
	at := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	iso := "2006-01-02T15:04:05.000000-07:00" // Python's isoformat: six digits, or none for 0 µs
	if at.Nanosecond() == 0 {
		iso = "2006-01-02T15:04:05-07:00"
	}
	data := []byte(`{"_session_expiry":"` + at.UTC().Format(iso) + `","cart":[1,2]}`)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: data, Expiry: at}, core.Create); err != nil {
		t.Fatal(err)
	}
	it, err := raw.Get(":1:django.contrib.sessions.cache" + key)
	if err != nil {
		t.Fatal(err)
	}
	if it.Flags != 1 || len(it.Value) < 2 || it.Value[0] != 0x80 {
		t.Fatalf("item flags %d value %q: not a pickle under flags 1", it.Flags, it.Value)
	}
	rec, err := st.Load(ctx(t), key)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Expiry.Equal(at) {
		t.Errorf("absolute expiry loaded as %v, want %v", rec.Expiry, at)
	}
	if string(rec.Data) != string(data) {
		t.Errorf("loaded %s, want %s", rec.Data, data)
	}
	for name, it := range map[string]*memcache.Item{
		"own header":   {Value: []byte("cR\x01xxxxxxxxxxxxxxxx{}"), Flags: 0},
		"plain string": {Value: []byte("hello"), Flags: 16},
		"bad pickle":   {Value: []byte("\x80\x02cos\nsystem\nq\x00."), Flags: 1},
	} {
		it.Key = ":1:django.contrib.sessions.cache" + key
		if err := raw.Set(it); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrTampered) {
			t.Errorf("%s: Load = %v, want ErrTampered", name, err)
		}
	}
}

// TestConformanceDjangoCachedDB: Django's cached_db arrangement (a
// database behind memcached entries in Django's format, unstamped) keeps
// the store contract, the capability cases included.
func TestConformanceDjangoCachedDB(t *testing.T) {
	srv := memcachedtest.Start(t)
	storetest.Run(t, func(t *testing.T) core.Store {
		st, err := cachedstore.New(djangoStore(t, srv.Addr()), memstore.New(0), cachedstore.WithUnstampedEntries())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}, storetest.Options{ExpiryNotLoaded: true})
}

// TestDjangoCachedDBFrozenCache: with the real memcached frozen, a write
// and a log-out through the unstamped cached store are errors (the cache
// keeps the old entry, so a success would be a lie); once it answers, the
// log-out goes through and the session is gone.
func TestDjangoCachedDBFrozenCache(t *testing.T) {
	srv := memcachedtest.Start(t)
	st, err := cachedstore.New(djangoStore(t, srv.Addr()), memstore.New(0), cachedstore.WithUnstampedEntries(),
		cachedstore.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	key := mustKey(t)
	exp := time.Now().Add(time.Hour)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"_auth_user_id":"7"}`), Expiry: exp}, core.Create); err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	err = st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"_auth_user_id":"8"}`), Expiry: exp}, core.Update)
	if err == nil {
		t.Error("a write the frozen cache missed reported success")
	}
	if err := st.Delete(ctx(t), key); err == nil {
		t.Error("a log-out the frozen cache missed reported success")
	}
	srv.Resume()
	if err := st.Delete(ctx(t), key); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("the logged-out session still loads: %v", err)
	}
}
