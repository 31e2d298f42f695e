package memcachestore_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/storetest"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/memcachestore"
)

// growthSessions is how many sessions the pool tests write.
const growthSessions = 3000

// writeSessions saves n sessions through st and returns them.
func writeSessions(t *testing.T, st core.Store, n int) []core.Record {
	t.Helper()
	recs := make([]core.Record, n)
	exp := time.Now().Add(time.Hour)
	for i := range recs {
		recs[i] = core.Record{Key: mustKey(t), Data: fmt.Appendf(nil, `{"user":%d}`, i), Expiry: exp}
		if err := st.Save(ctx(t), recs[i], core.Create); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
	}
	return recs
}

// readable loads every record through st and returns how many came back
// intact; every other load must be a clean not-found.
func readable(t *testing.T, st core.Store, recs []core.Record) int {
	t.Helper()
	ok := 0
	for _, rec := range recs {
		got, err := st.Load(ctx(t), rec.Key)
		switch {
		case err == nil:
			if !bytes.Equal(got.Data, rec.Data) {
				t.Fatalf("session %s: data %s, want %s", rec.Key, got.Data, rec.Data)
			}
			ok++
		case !errors.Is(err, core.ErrNotFound):
			t.Fatalf("session %s: %v, want the session or ErrNotFound", rec.Key, err)
		}
	}
	return ok
}

// TestPoolGrowsThreeToFour writes sessions through a store over three real
// memcached servers, then reads them through a store over the same three
// and a fourth, as application instances restarted with the longer list
// would: with ketama (NewServers' default) about three quarters stay
// readable, exactly those whose server did not change; with gomemcache's
// modulo placement (WithModulo) only about a quarter do.
func TestPoolGrowsThreeToFour(t *testing.T) {
	_, addrs := memcachedtest.StartN(t, 4)
	for _, c := range []struct {
		name string
		opt  memcachestore.Option
		min  float64
		max  float64
	}{
		// The new server's share is 1/4 give or take about 2% (160 points
		// per server on random ports); 0.65 is five deviations below 0.75.
		{"ketama", memcachestore.WithKetama(memcachestore.KetamaWeighted), 0.65, 0.85},
		{"modulo", memcachestore.WithModulo(), 0, 0.40},
	} {
		t.Run(c.name, func(t *testing.T) {
			prefix := memcachestore.WithPrefix("grow-" + c.name + ":")
			three := memcachedtest.Open(t, addrs[:3], c.opt, prefix)
			recs := writeSessions(t, three, growthSessions)
			if got := readable(t, three, recs); got != len(recs) {
				t.Fatalf("before growing: %d of %d sessions readable", got, len(recs))
			}
			four := memcachedtest.Open(t, addrs, c.opt, prefix)
			got := readable(t, four, recs)
			frac := float64(got) / float64(len(recs))
			t.Logf("%s: growing 3 -> 4 servers, %d of %d sessions still readable (%.1f%%), %.1f%% lost",
				c.name, got, len(recs), 100*frac, 100*(1-frac))
			if frac < c.min || frac > c.max {
				t.Errorf("%s: %.1f%% readable after growing, want %.0f%%-%.0f%%", c.name, 100*frac, 100*c.min, 100*c.max)
			}
			if c.name != "ketama" {
				return
			}
			// Exactly the sessions whose server did not change are readable.
			k3 := mustKetama(t, memcachestore.KetamaWeighted, addrs[:3]...)
			k4 := mustKetama(t, memcachestore.KetamaWeighted, addrs...)
			stay := 0
			for _, rec := range recs {
				a3, _ := k3.PickServer("grow-ketama:" + rec.Key)
				a4, _ := k4.PickServer("grow-ketama:" + rec.Key)
				if a3.String() == a4.String() {
					stay++
				}
			}
			if stay != got {
				t.Errorf("%d sessions readable, but %d keep their server", got, stay)
			}
		})
	}
}

// TestPoolServerDown kills one of three memcached servers under a ketama
// store: the sessions on it fail to load with the connection error (never
// ErrNotFound, never a false success), saves to it fail, and the others stay
// readable. Once the dead server is taken out of the list
// (Ketama.SetServers), its sessions load as ErrNotFound (those users sign in
// again) and all the others are still readable.
func TestPoolServerDown(t *testing.T) {
	servers, addrs := memcachedtest.StartN(t, 3)
	k := mustKetama(t, memcachestore.KetamaWeighted, addrs...)
	client := memcache.NewFromSelector(k)
	client.Timeout = time.Second
	t.Cleanup(func() { _ = client.Close() })
	st, err := memcachestore.New(client)
	if err != nil {
		t.Fatal(err)
	}
	recs := writeSessions(t, st, growthSessions)

	dead := addrs[1]
	servers[1].Stop()
	onDead := func(rec core.Record) bool {
		a, _ := k.PickServer(memcachestore.DefaultPrefix + rec.Key)
		return a.String() == dead
	}
	lost, kept := 0, 0
	for _, rec := range recs {
		got, err := st.Load(ctx(t), rec.Key)
		if onDead(rec) {
			lost++
			if err == nil || errors.Is(err, core.ErrNotFound) {
				t.Fatalf("session %s on the dead server: %v, want a server error", rec.Key, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got.Data, rec.Data) {
			t.Fatalf("session %s on a live server: %q, %v", rec.Key, got.Data, err)
		}
		kept++
	}
	frac := float64(lost) / float64(len(recs))
	t.Logf("one of 3 servers down: %d of %d sessions (%.1f%%) fail with a server error, %d (%.1f%%) readable",
		lost, len(recs), 100*frac, kept, 100*float64(kept)/float64(len(recs)))
	if frac < 0.2 || frac > 0.45 {
		t.Errorf("one server of 3 down lost %.1f%% of the sessions, want about a third", 100*frac)
	}
	for _, rec := range recs {
		if onDead(rec) {
			rec.Data = []byte(`{"cart":1}`)
			err := st.Save(ctx(t), rec, core.Update)
			if err == nil || errors.Is(err, core.ErrSessionDeleted) {
				t.Fatalf("update of a session on the dead server: %v, want a server error", err)
			}
			_, lerr := st.Load(ctx(t), rec.Key)
			t.Logf("on the dead server, a load returns %q and an update %q", lerr, err)
			break
		}
	}

	// The operator takes the dead server out.
	if err := k.SetServers(addrs[0], addrs[2]); err != nil {
		t.Fatal(err)
	}
	got := readable(t, st, recs)
	if got != kept {
		t.Errorf("after removing the dead server: %d sessions readable, want the %d that were on live servers", got, kept)
	}
	if err := st.Ping(ctx(t)); err != nil {
		t.Errorf("Ping after removing the dead server: %v", err)
	}
}

// The conformance suite over a client built on a ketama selector (here
// libmemcached's plain variant) and passed to New; NewServers' default
// (ketama_weighted) runs it in TestConformanceThreeServers, and modulo here.
func TestConformanceKetamaOverNew(t *testing.T) {
	_, addrs := memcachedtest.StartN(t, 2)
	storetest.Run(t, func(t *testing.T) core.Store {
		client := memcache.NewFromSelector(mustKetama(t, memcachestore.KetamaOneAtATime, addrs...))
		t.Cleanup(func() { _ = client.Close() })
		st, err := memcachestore.New(client)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}, storetest.Options{})
}

func TestConformanceModulo(t *testing.T) {
	_, addrs := memcachedtest.StartN(t, 3)
	storetest.Run(t, func(t *testing.T) core.Store {
		return memcachedtest.Open(t, addrs, memcachestore.WithModulo())
	}, storetest.Options{})
}
