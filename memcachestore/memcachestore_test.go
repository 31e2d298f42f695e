package memcachestore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/storetest"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/memcachestore"
)

func TestConformanceOneServer(t *testing.T) {
	srv := memcachedtest.Start(t)
	storetest.Run(t, func(t *testing.T) core.Store { return memcachedtest.Open(t, []string{srv.Addr()}) }, storetest.Options{})
}

func TestConformanceThreeServers(t *testing.T) {
	servers, addrs := memcachedtest.StartN(t, 3)
	storetest.Run(t, func(t *testing.T) core.Store { return memcachedtest.Open(t, addrs) }, storetest.Options{})
	// The keys really were spread: every server holds some items.
	for i, srv := range servers {
		st, err := srv.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := strconv.Atoi(st["total_items"]); n == 0 {
			t.Errorf("server %d of 3 received no items", i)
		}
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustKey(t *testing.T) string {
	k, err := core.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestLongTTL proves memcached's 30-day rule on the real server: a session
// expiring in 31 days survives, while the naive relative TTL of 31 days in
// seconds makes memcached drop the item at once.
func TestLongTTL(t *testing.T) {
	st, srv := memcachedtest.Store(t)
	rec := core.Record{Key: mustKey(t), Data: []byte(`{"remember_me":true}`), Expiry: time.Now().Add(31 * 24 * time.Hour)}
	if err := st.Save(ctx(t), rec, core.Create); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load(ctx(t), rec.Key)
	if err != nil {
		t.Fatalf("31-day session vanished: %v", err)
	}
	if !got.Expiry.Equal(rec.Expiry) {
		t.Errorf("expiry %v, want %v", got.Expiry, rec.Expiry)
	}
	// Update keeps the rule too.
	rec.Expiry = time.Now().Add(40 * 24 * time.Hour)
	if err := st.Save(ctx(t), rec, core.Update); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx(t), rec.Key); err != nil {
		t.Fatalf("40-day session vanished after update: %v", err)
	}

	raw := memcache.New(srv.Addr())
	defer raw.Close()
	if err := raw.Set(&memcache.Item{Key: "naive31", Value: []byte("x"), Expiration: 31 * 86400}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Get("naive31"); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Fatalf("an item set with a relative 31-day TTL is still there (err %v): the 30-day rule test proves nothing", err)
	}
	if err := raw.Set(&memcache.Item{Key: "naive30", Value: []byte("x"), Expiration: 30 * 86400}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Get("naive30"); err != nil {
		t.Fatalf("an item with a relative 30-day TTL vanished: %v", err)
	}
}

// TestTTLReachesServer checks that memcached itself drops an item at its
// expiry (not only our load-time check).
func TestTTLReachesServer(t *testing.T) {
	st, srv := memcachedtest.Store(t, memcachestore.WithPrefix("ttl:"))
	key := mustKey(t)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Second)}, core.Create); err != nil {
		t.Fatal(err)
	}
	raw := memcache.New(srv.Addr())
	defer raw.Close()
	if _, err := raw.Get("ttl:" + key); err != nil {
		t.Fatalf("item not on the server under prefix+key: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := raw.Get("ttl:" + key)
		if errors.Is(err, memcache.ErrCacheMiss) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("memcached still holds the item 4s after its expiry (err %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPastExpiryNeverStored(t *testing.T) {
	st, srv := memcachedtest.Store(t, memcachestore.WithPrefix("p:"))
	raw := memcache.New(srv.Addr())
	defer raw.Close()
	key := mustKey(t)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(-time.Minute)}, core.Create); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Get("p:" + key); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Fatalf("an already expired record reached memcached (err %v)", err)
	}
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	// An update to a past expiry removes the item.
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(-time.Minute)}, core.Update); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Get("p:" + key); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Fatalf("an update to a past expiry left the item (err %v)", err)
	}
	err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(-time.Minute)}, core.Update)
	if !errors.Is(err, core.ErrSessionDeleted) {
		t.Fatalf("expired update of a missing record = %v, want ErrSessionDeleted", err)
	}
}

func counters(t *testing.T, srv *memcachedtest.Server) int {
	t.Helper()
	st, err := srv.Stats()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, k := range []string{"cmd_get", "cmd_set", "delete_hits", "delete_misses", "cmd_touch"} {
		n, _ := strconv.Atoi(st[k])
		total += n
	}
	return total
}

// TestInvalidKeysNeverReachServer checks on the server's own counters that
// rejected keys produce no memcached command.
func TestInvalidKeysNeverReachServer(t *testing.T) {
	st, srv := memcachedtest.Store(t)
	if err := st.Delete(ctx(t), mustKey(t)); err != nil { // open the connection
		t.Fatal(err)
	}
	before := counters(t, srv)
	for _, key := range storetest.BadKeys {
		if _, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Load(%q) = %v", key, err)
		}
		if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Update); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Save(%q) = %v", key, err)
		}
		if err := st.Delete(ctx(t), key); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v", key, err)
		}
	}
	if after := counters(t, srv); after != before {
		t.Fatalf("server counters moved from %d to %d: an invalid key reached memcached", before, after)
	}
}

func TestCorruptValues(t *testing.T) {
	st, srv := memcachedtest.Store(t, memcachestore.WithPrefix("c:"))
	raw := memcache.New(srv.Addr())
	defer raw.Close()
	good := mustKey(t)
	if err := st.Save(ctx(t), core.Record{Key: good, Data: []byte(`{"a":"bcdefgh"}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	it, err := raw.Get("c:" + good)
	if err != nil {
		t.Fatal(err)
	}
	v := it.Value
	flipped := append([]byte(nil), v...)
	flipped[len(flipped)-3] ^= 1
	for name, value := range map[string][]byte{
		"django-pickle": []byte("\x80\x04\x95\x0b\x00\x00"),
		"empty":         {},
		"truncated":     v[:len(v)-2],
		"header-only":   v[:10],
		"bit-flip":      flipped,
	} {
		key := mustKey(t)
		if err := raw.Set(&memcache.Item{Key: "c:" + key, Value: value}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrTampered) {
			t.Errorf("%s: Load = %v, want ErrTampered", name, err)
		}
	}
}

func TestServerDownIsAnError(t *testing.T) {
	st, srv := memcachedtest.Store(t)
	key := mustKey(t)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	_, err := st.Load(ctx(t), key)
	if err == nil || errors.Is(err, core.ErrNotFound) {
		t.Errorf("Load with the server down = %v, want a server error (not ErrNotFound)", err)
	}
	for _, mode := range []core.SaveMode{core.Create, core.Update} {
		err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, mode)
		if err == nil || errors.Is(err, core.ErrKeyExists) || errors.Is(err, core.ErrSessionDeleted) {
			t.Errorf("Save(%s) with the server down = %v, want a server error", mode, err)
		}
	}
	if err := st.Delete(ctx(t), key); err == nil {
		t.Error("Delete with the server down succeeded")
	}
	srv.Restart()
	if _, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Load after restart (empty server) = %v, want ErrNotFound", err)
	}
}

func TestCanceledContext(t *testing.T) {
	st, srv := memcachedtest.Store(t)
	if err := st.Delete(ctx(t), mustKey(t)); err != nil {
		t.Fatal(err)
	}
	before := counters(t, srv)
	c, cancel := context.WithCancel(context.Background())
	cancel()
	key := mustKey(t)
	if _, err := st.Load(c, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Load = %v, want context.Canceled", err)
	}
	if err := st.Save(c, core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); !errors.Is(err, context.Canceled) {
		t.Errorf("Save = %v, want context.Canceled", err)
	}
	if err := st.Delete(c, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete = %v, want context.Canceled", err)
	}
	if after := counters(t, srv); after != before {
		t.Errorf("a call with a canceled context reached memcached")
	}
}

func TestTooLarge(t *testing.T) {
	st, _ := memcachedtest.Store(t)
	rec := core.Record{Key: mustKey(t), Data: []byte(`{"b":"` + strings.Repeat("x", 2<<20) + `"}`), Expiry: time.Now().Add(time.Hour)}
	if err := st.Save(ctx(t), rec, core.Create); !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("Save of 2 MiB = %v, want ErrTooLarge", err)
	}
	// The connection is still usable afterwards.
	small := core.Record{Key: mustKey(t), Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}
	if err := st.Save(ctx(t), small, core.Create); err != nil {
		t.Fatal(err)
	}
}

func TestPrefixIsolation(t *testing.T) {
	srv := memcachedtest.Start(t)
	a := memcachedtest.Open(t, []string{srv.Addr()}, memcachestore.WithPrefix("app-a:"))
	b := memcachedtest.Open(t, []string{srv.Addr()}, memcachestore.WithPrefix("app-b:"))
	key := mustKey(t)
	if err := a.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"app":"a"}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(ctx(t), key); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("store with another prefix sees the record: %v", err)
	}
	if err := b.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"app":"b"}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatalf("same key under another prefix: %v", err)
	}
	if got, err := a.Load(ctx(t), key); err != nil || string(got.Data) != `{"app":"a"}` {
		t.Fatalf("a.Load = %q, %v", got.Data, err)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := memcachestore.New(nil); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf("New(nil) = %v", err)
	}
	if _, err := memcachestore.NewServers(nil); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf("NewServers(nil) = %v", err)
	}
	if _, err := memcachestore.NewServers([]string{"no-port-here"}); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf("NewServers(bad address) = %v", err)
	}
	for _, p := range []string{"has space:", "ctl\n", "é:", strings.Repeat("p", memcachestore.MaxPrefixLength+1)} {
		if _, err := memcachestore.New(memcache.New("127.0.0.1:1"), memcachestore.WithPrefix(p)); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("prefix %.20q accepted: %v", p, err)
		}
	}
	if _, err := memcachestore.New(memcache.New("127.0.0.1:1"), memcachestore.WithPrefix(strings.Repeat("p", memcachestore.MaxPrefixLength))); err != nil {
		t.Errorf("longest prefix refused: %v", err)
	}
}
