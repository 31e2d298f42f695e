package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/core/storetest"
	"github.com/cloakroom/cloakroom/internal/outagetest"
	"github.com/cloakroom/cloakroom/internal/redistest"
	"github.com/cloakroom/cloakroom/redisstore"
)

func TestConformanceSingle(t *testing.T) {
	c := singleClient(t)
	storetest.Run(t, func(t *testing.T) core.Store { return newStore(t, c) }, storetest.Options{})
}

// cachedstore with core/memstore as the cache in front of Redis as the
// database.
func TestConformanceCachedSingle(t *testing.T) {
	c := singleClient(t)
	storetest.Run(t, func(t *testing.T) core.Store { return cached(t, newStore(t, c)) }, storetest.Options{})
}

func cached(t *testing.T, db core.Store) core.Store {
	st, err := cachedstore.New(memstore.New(0), db)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The cached_db fault test (internal/outagetest) with Redis as the
// database: memcached, in front, killed or frozen for a third of the run,
// loses no item of the cart.
func TestCartOutageMemcachedOverRedis(t *testing.T) {
	c := singleClient(t)
	for _, fault := range []outagetest.Fault{outagetest.Kill, outagetest.Pause} {
		t.Run(fault.String(), func(t *testing.T) { outagetest.Cart(t, newStore(t, c), fault) })
	}
}

// TestCluster runs everything the single server runs on a Redis Cluster of
// three masters: the conformance suite (directly and under cachedstore),
// the atomic mode and the user index.
func TestCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 5*time.Second)
	c := clusterClient(t, cl)
	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) core.Store { return newStore(t, c) }, storetest.Options{})
	})
	t.Run("ConformanceCached", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) core.Store { return cached(t, newStore(t, c)) }, storetest.Options{})
	})
	t.Run("Atomic", func(t *testing.T) { testAtomic(t, newStore(t, c)) })
	t.Run("AtomicCached", func(t *testing.T) { testAtomic(t, cached(t, newStore(t, c))) })
	t.Run("LogoutEverywhere", func(t *testing.T) { testLogoutEverywhere(t, c, newStore(t, c)) })
	t.Run("IndexFollowsExpiry", func(t *testing.T) { testIndexFollowsExpiry(t, c, newStore(t, c)) })
	// The sessions really are spread over the three masters.
	t.Run("Spread", func(t *testing.T) {
		st := newStore(t, c)
		masters := map[string]bool{}
		for range 30 {
			key := mustKey(t)
			if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Minute)}, core.Create); err != nil {
				t.Fatal(err)
			}
			m, err := c.MasterForKey(ctx(t), st.Prefix()+key)
			if err != nil {
				t.Fatal(err)
			}
			masters[m.Options().Addr] = true
		}
		if len(masters) != 3 {
			t.Fatalf("30 sessions landed on %d masters, want 3", len(masters))
		}
	})
}

func TestAtomicSingle(t *testing.T) {
	c := singleClient(t)
	testAtomic(t, newStore(t, c))
}

func TestLogoutEverywhereSingle(t *testing.T) {
	c := singleClient(t)
	testLogoutEverywhere(t, c, newStore(t, c))
}

func TestIndexFollowsExpirySingle(t *testing.T) {
	c := singleClient(t)
	testIndexFollowsExpiry(t, c, newStore(t, c))
}

// TestNativeTTL: Redis itself carries the record's expiry and drops the
// session at that instant.
func TestNativeTTL(t *testing.T) {
	c := singleClient(t)
	st := newStore(t, c)
	key := mustKey(t)
	rk := st.Prefix() + key
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(10 * time.Second)}, core.Create); err != nil {
		t.Fatal(err)
	}
	if ttl := c.PTTL(ctx(t), rk).Val(); ttl <= 9*time.Second || ttl > 10*time.Second {
		t.Fatalf("PTTL after a 10 s save = %v", ttl)
	}
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"a":1}`), Expiry: time.Now().Add(30 * 24 * time.Hour)}, core.Update); err != nil {
		t.Fatal(err)
	}
	if ttl := c.PTTL(ctx(t), rk).Val(); ttl <= 30*24*time.Hour-time.Minute {
		t.Fatalf("PTTL after a 30-day update = %v", ttl)
	}
	// Redis drops the session at its expiry by itself.
	short := mustKey(t)
	if err := st.Save(ctx(t), core.Record{Key: short, Data: []byte(`{}`), Expiry: time.Now().Add(300 * time.Millisecond)}, core.Create); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for c.Exists(ctx(t), st.Prefix()+short).Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("Redis still holds the session 2.7 s after its expiry")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDjangoExpiryForms: each of Django's set_expiry forms, set through
// the manager, becomes the Redis expiry of the session's key.
func TestDjangoExpiryForms(t *testing.T) {
	c := singleClient(t)
	st := newStore(t, c)
	a := newApp(t, st, false)
	age := core.DefaultConfig().CookieAge
	for _, tc := range []struct {
		form string
		want time.Duration // 0: not stored
	}{
		{"seconds", 5 * time.Minute},
		{"datetime", 2 * time.Hour},
		{"browser", age}, // stored for SESSION_COOKIE_AGE, as Django does
		{"none", age},
		{"past", 0},
	} {
		_, cookie := a.must("", "/expiry?form="+tc.form)
		key := cookie[strings.IndexByte(cookie, '=')+1:]
		ttl := c.PTTL(ctx(t), st.Prefix()+key).Val()
		if tc.want == 0 {
			if ttl != -2*time.Nanosecond && ttl >= 0 {
				t.Errorf("%s: the session is stored with a TTL of %v", tc.form, ttl)
			}
			continue
		}
		if ttl <= tc.want-5*time.Second || ttl > tc.want {
			t.Errorf("%s: Redis TTL %v, want about %v", tc.form, ttl, tc.want)
		}
	}
}

func TestPastExpiryNeverStored(t *testing.T) {
	c := singleClient(t)
	st := newStore(t, c)
	key := mustKey(t)
	past := time.Now().Add(-time.Minute)
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: past}, core.Create); err != nil {
		t.Fatal(err)
	}
	if c.Exists(ctx(t), st.Prefix()+key).Val() != 0 {
		t.Fatal("an already expired record reached Redis")
	}
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: past}, core.Update); err != nil {
		t.Fatal(err)
	}
	if c.Exists(ctx(t), st.Prefix()+key).Val() != 0 {
		t.Fatal("an update to a past expiry left the session")
	}
	if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: past}, core.Update); !errors.Is(err, core.ErrSessionDeleted) {
		t.Fatalf("expired update of a missing session = %v, want ErrSessionDeleted", err)
	}
}

// countHook counts the commands a client sends.
type countHook struct{ n *int }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(c2 context.Context, cmd redis.Cmder) error { *h.n++; return next(c2, cmd) }
}
func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(c2 context.Context, cmds []redis.Cmder) error { *h.n += len(cmds); return next(c2, cmds) }
}

// TestInvalidKeysNeverReachServer: rejected keys produce no command.
func TestInvalidKeysNeverReachServer(t *testing.T) {
	c := singleClient(t)
	n := 0
	c.AddHook(countHook{&n})
	st := newStore(t, c)
	for _, key := range storetest.BadKeys {
		if _, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Load(%q) = %v", key, err)
		}
		for _, mode := range []core.SaveMode{core.Create, core.Update} {
			if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, mode); !errors.Is(err, core.ErrInvalidKey) {
				t.Errorf("Save(%q, %v) = %v", key, mode, err)
			}
		}
		if err := st.Delete(ctx(t), key); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v", key, err)
		}
		if err := st.LinkUser(ctx(t), "u", key, time.Now().Add(time.Hour)); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("LinkUser(%q) = %v", key, err)
		}
		if err := st.UnlinkUser(ctx(t), key); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("UnlinkUser(%q) = %v", key, err)
		}
	}
	if n != 0 {
		t.Fatalf("%d commands reached Redis for invalid keys", n)
	}
}

func TestForeignValues(t *testing.T) {
	c := singleClient(t)
	st := newStore(t, c)
	str, hash := mustKey(t), mustKey(t)
	c.Set(ctx(t), st.Prefix()+str, "a Django pickle", time.Minute)
	c.HSet(ctx(t), st.Prefix()+hash, "d", "{}", "e", "soon")
	for _, key := range []string{str, hash} {
		if _, err := st.Load(ctx(t), key); !errors.Is(err, core.ErrTampered) {
			t.Errorf("Load of a foreign value = %v, want ErrTampered", err)
		}
	}
	// Deleting one works; so does logging out a user whose set names it.
	if err := st.Delete(ctx(t), str); err != nil {
		t.Fatal(err)
	}
	c.Set(ctx(t), st.Prefix()+str, "x", time.Minute)
	c.ZAdd(ctx(t), st.Prefix()+"user:mallory", redis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: str})
	if n, err := st.DeleteUserSessions(ctx(t), "mallory"); err != nil || n != 0 {
		t.Fatalf("DeleteUserSessions over a foreign value = %d, %v", n, err)
	}
}

func TestPrefixIsolation(t *testing.T) {
	c := singleClient(t)
	a, b := newStore(t, c), newStore(t, c)
	key := mustKey(t)
	if err := a.Save(ctx(t), core.Record{Key: key, Data: []byte(`{"app":"a"}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(ctx(t), key); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("store with another prefix sees the session: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	if _, err := redisstore.New(nil); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf("New(nil) = %v", err)
	}
	for _, p := range []string{"a{b}:", "{tag}", "x}", "ctl\n", strings.Repeat("p", redisstore.MaxPrefixLength+1)} {
		if _, err := redisstore.New(c, redisstore.WithPrefix(p)); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("prefix %.20q accepted: %v", p, err)
		}
	}
	if _, err := redisstore.New(c, redisstore.WithClock(nil)); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf("nil clock accepted: %v", err)
	}
	st, err := redisstore.New(c, redisstore.WithPrefix(""))
	if err != nil || st.Prefix() != "" {
		t.Errorf("empty prefix: %v", err)
	}
	st, err = redisstore.New(c)
	if err != nil || st.Prefix() != redisstore.DefaultPrefix {
		t.Errorf("default prefix %q, %v", st.Prefix(), err)
	}
	for _, cp := range []core.Capability{core.CapVersioning, core.CapUserIndex, core.CapPing} {
		if !core.Supports(st, cp) {
			t.Errorf("%v not supported", cp)
		}
	}
	if core.Supports(st, core.CapClearExpired) {
		t.Error("ClearExpired reported: Redis expires sessions itself")
	}
}

// UserSessionKeys lists the sessions whose hash names the user, soonest
// expiry first: not one moved to another user, nor a deleted one.
func TestUserSessionKeys(t *testing.T) {
	c := singleClient(t)
	st := newStore(t, c)
	now := time.Now()
	var keys []string
	for _, d := range []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour, time.Hour, time.Hour} {
		key := mustKey(t)
		rec := core.Record{Key: key, Data: []byte(`{}`), Expiry: now.Add(d)}
		if err := st.Save(ctx(t), rec, core.Create); err != nil {
			t.Fatal(err)
		}
		if err := st.LinkUser(ctx(t), "dave", key, rec.Expiry); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	if err := st.LinkUser(ctx(t), "erin", keys[3], now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx(t), keys[4]); err != nil {
		t.Fatal(err)
	}
	want := []string{keys[1], keys[2], keys[0]}
	if got, err := st.UserSessionKeys(ctx(t), "dave"); err != nil || !slices.Equal(got, want) {
		t.Errorf("UserSessionKeys = %q, %v; want %q", got, err, want)
	}
	if got, err := st.UserSessionKeys(ctx(t), "nobody"); err != nil || len(got) != 0 {
		t.Errorf("UserSessionKeys(nobody) = %q, %v", got, err)
	}
	if _, err := st.UserSessionKeys(ctx(t), ""); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf("UserSessionKeys(\"\") = %v, want ErrInvalidConfig", err)
	}
}
