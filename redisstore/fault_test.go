package redisstore_test

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/internal/redistest"
)

// shopper is one browser adding items to its cart, one request after the
// other, during the fault test.
type shopper struct {
	cookie, key string
	onVictim    bool
	last        int // cart length in the last 200 answer
	unsure      int // 5xx answers since then (a write may have landed before the error)
	after5xx    int // 5xx answers to requests started after the kill
	after200    int // 200 answers to requests started after the kill
}

// TestClusterMasterKilled kills (SIGKILL) one of three Cluster masters
// while shoppers add to their carts through core's middleware, in the
// atomic mode, and states what a user sees:
//
//   - a session whose slot is on the dead master: every request answers
//     5xx (500, or 503 when the store timeout passes) from the moment the
//     master is gone: never 200, never an empty cart under a new cookie;
//   - any other session: 200 while the cluster is still up, then 5xx too
//     once the surviving masters mark the cluster down
//     (cluster-require-full-coverage, the default), after about
//     cluster-node-timeout;
//   - every 200 was true: after the master is back, each surviving cart
//     holds every item a 200 answered for (and at most the items of the 5xx
//     answers since, whose write may have landed before the error);
//   - the dead master ran without persistence and without a replica, so
//     it comes back empty: its users then get a fresh, empty session, as
//     after a memcached restart. Run replicas (or AOF) to keep them.
//
// Ping fails while the master is down.
func TestClusterMasterKilled(t *testing.T) {
	cl := redistest.StartCluster(t, 1500*time.Millisecond)
	c := clusterClient(t, cl)
	st := newStore(t, c)
	a := newApp(t, st, true)
	victim := cl.Servers[0]

	var shoppers []*shopper
	onVictim := 0
	for len(shoppers) < 24 || onVictim < 3 || len(shoppers)-onVictim < 3 {
		_, cookie := a.must("", "/add?item=0")
		key := cookie[strings.IndexByte(cookie, '=')+1:]
		m, err := c.MasterForKey(ctx(t), st.Prefix()+key)
		if err != nil {
			t.Fatal(err)
		}
		sh := &shopper{cookie: cookie, key: key, onVictim: m.Options().Addr == victim.Addr(), last: 1}
		if sh.onVictim {
			onVictim++
		}
		shoppers = append(shoppers, sh)
	}

	var killed atomic.Bool
	end := make(chan struct{})
	var wg sync.WaitGroup
	for _, sh := range shoppers {
		wg.Go(func() {
			for i := 2; ; i++ {
				select {
				case <-end:
					return
				default:
				}
				after := killed.Load()
				code, body, cookie := a.get(sh.cookie, "/add?item="+strconv.Itoa(i))
				switch {
				case code == 200:
					n, _ := strconv.Atoi(body)
					if cookie != sh.cookie {
						t.Errorf("200 under a new cookie: a new, empty session (cart %d, had %d)", n, sh.last)
					}
					if n <= sh.last || n > sh.last+1+sh.unsure {
						t.Errorf("200 with a cart of %d after %d (and %d unsure): items lost", n, sh.last, sh.unsure)
					}
					sh.last, sh.unsure = n, 0
					if after {
						sh.after200++
						if sh.onVictim {
							t.Errorf("200 for a session on the killed master: %s", body)
						}
					}
				case code >= 500:
					sh.unsure++
					if after {
						sh.after5xx++
					}
				default:
					t.Errorf("answer %d %q", code, body)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	victim.Kill()
	killed.Store(true)
	time.Sleep(3500 * time.Millisecond) // past cluster-node-timeout: the cluster goes down
	if err := a.m.Ping(ctx(t)); err == nil {
		t.Error("Ping succeeded with a master dead")
	}
	close(end)
	wg.Wait()

	var live200, victim5xx, live5xx int
	for _, sh := range shoppers {
		if sh.onVictim {
			victim5xx += sh.after5xx
			if sh.after5xx == 0 {
				t.Errorf("a session on the killed master saw no error")
			}
		} else {
			live200 += sh.after200
			live5xx += sh.after5xx
			if sh.after5xx == 0 {
				t.Errorf("a session on a surviving master saw no error once the cluster was down")
			}
		}
	}
	t.Logf("after the kill: sessions on the dead master %d errors, 0 successes; on the others %d successes (cluster still up), then %d errors (cluster down)",
		victim5xx, live200, live5xx)

	// The master comes back (empty: no persistence) and the cluster heals.
	victim.Restart()
	cl.WaitOK(t)
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(ctx(t)).Err() != nil || st.Ping(ctx(t)) != nil {
		if time.Now().After(deadline) {
			t.Fatal("cluster client not working again 10 s after the master came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, sh := range shoppers {
		body := cartEventually(t, a, sh.cookie)
		if sh.onVictim {
			if body != "0" {
				t.Errorf("the user of a session of the emptied master sees %q, want a fresh empty session", body)
			}
			continue
		}
		n, _ := strconv.Atoi(body)
		if n < sh.last || n > sh.last+sh.unsure {
			t.Errorf("surviving cart holds %q items; the last 200 said %d (then %d errors)", body, sh.last, sh.unsure)
		}
	}
}

// cartEventually answers /cart for the cookie, retrying 5xx answers for a
// few seconds while the client learns the healed cluster.
func cartEventually(t *testing.T, a *app, cookie string) string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body, _ := a.get(cookie, "/cart")
		if code == 200 {
			return body
		}
		if time.Now().After(deadline) {
			t.Errorf("/cart still answers %d %q 5 s after the cluster healed", code, body)
			return body
		}
		time.Sleep(50 * time.Millisecond)
	}
}
