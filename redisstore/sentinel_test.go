package redisstore_test

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/storetest"
	"github.com/cloakroom/cloakroom/internal/redistest"
)

// client returns the client an application would build for Sentinel: the
// documented redis.NewUniversalClient with MasterName, which is a failover
// client (a *redis.Client that asks the sentinels for the master's
// address). Its timeouts are short so that requests fail fast while the
// master is down: one dial attempt of 250 ms (DialerRetries 1; the default
// 5 retries a refused dial for 0.4 s), one retry of a failed command.
func sentinelClient(t testing.TB, sn *redistest.Sentinels) *redis.Client {
	t.Helper()
	uc := redis.NewUniversalClient(&redis.UniversalOptions{
		MasterName:            redistest.SentinelName,
		Addrs:                 sn.Addrs,
		ContextTimeoutEnabled: true,
		DialTimeout:           250 * time.Millisecond,
		DialerRetries:         1,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
		MaxRetries:            1,
	})
	t.Cleanup(func() { uc.Close() })
	c, ok := uc.(*redis.Client)
	if !ok {
		t.Fatalf("NewUniversalClient with MasterName returned a %T, want a failover *redis.Client", uc)
	}
	if addr := c.Options().Addr; addr != "FailoverClient" {
		t.Fatalf("NewUniversalClient with MasterName returned a client of %q, want go-redis's failover client", addr)
	}
	return c
}

// TestSentinel runs the conformance suite, the atomic mode and log out
// everywhere through a Sentinel failover client (redis.NewUniversalClient
// with MasterName) over a master, a replica and three sentinels.
func TestSentinel(t *testing.T) {
	sn := redistest.StartSentinels(t)
	c := sentinelClient(t, sn)
	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) core.Store { return newStore(t, c) }, storetest.Options{})
	})
	t.Run("Atomic", func(t *testing.T) { testAtomic(t, newStore(t, c)) })
	t.Run("LogoutEverywhere", func(t *testing.T) { testLogoutEverywhere(t, c, newStore(t, c)) })
	// The store really wrote to the master the sentinels name, and the
	// replica followed.
	t.Run("OnTheMaster", func(t *testing.T) {
		st := newStore(t, c)
		key := mustKey(t)
		if err := st.Save(ctx(t), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Minute)}, core.Create); err != nil {
			t.Fatal(err)
		}
		mc := redis.NewClient(&redis.Options{Addr: sn.Master.Addr()})
		defer mc.Close()
		if n := mc.Exists(ctx(t), st.Prefix()+key).Val(); n != 1 {
			t.Fatalf("the session is not on the master %s", sn.Master.Addr())
		}
		replicated(t, mc, st.Prefix())
		rc := redis.NewClient(&redis.Options{Addr: sn.Replica.Addr()})
		defer rc.Close()
		if n := rc.Exists(ctx(t), st.Prefix()+key).Val(); n != 1 {
			t.Fatalf("the session is not on the replica %s", sn.Replica.Addr())
		}
	})
}

// replicated waits (WAIT 1 1000) until the replica has every write the
// master took so far: WAIT waits for the writes of its own connection, so
// it follows a write of its own (a marker under prefix), which the
// replication stream carries after every earlier write of any connection.
func replicated(t testing.TB, master *redis.Client, prefix string) {
	t.Helper()
	conn := master.Conn()
	defer conn.Close()
	if err := conn.Set(ctx(t), prefix+"replicated", "1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := conn.Wait(ctx(t), 1, time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 1000 = %d, %v: the replica did not acknowledge the writes", n, err)
	}
}

// failoverShopper is one browser during the failover test.
type failoverShopper struct {
	cookie, user string
	last         int         // cart length in the last 200 answer
	unsure       int         // failed adds since then (one may have landed before the error)
	okAfter      atomic.Bool // a 200 to a request started after the promotion was seen
}

// outcome is one request of the failover test, its times since the kill.
type outcome struct {
	start, end time.Duration
	code       int
}

// TestSentinelFailover kills (SIGKILL) the master under an application
// that runs on a Sentinel failover client, and states what a user sees:
//
//   - from the kill until shortly after Sentinel has promoted the replica,
//     every request that touches the session answers 500: the client fails
//     fast (connection refused; 503 would come only if a call outlived
//     Config.StoreTimeout). Never a 200 that lost data, never an empty
//     session under a new cookie. Here (down-after-milliseconds 1000) the
//     sentinels named the replica master about 2.2 s after the kill and the
//     last 500 came about 3.1 s after it: once its dials have failed
//     PoolSize times in a row, go-redis's pool stops dialing and tries
//     again once a second, so the client follows the promotion up to 1 s
//     late;
//   - then the same client (no restart of the application) sends to the
//     promoted replica, and every session written before the kill is there,
//     readable and writable: the carts hold every item a 200 answered for.
//     The test makes sure the replica had the writes before the kill
//     (WAIT): with Redis's asynchronous replication, a write acknowledged
//     in the last moment before a master dies can be lost in a failover.
//
// Ping fails while the master is down.
func TestSentinelFailover(t *testing.T) {
	sn := redistest.StartSentinels(t)
	c := sentinelClient(t, sn)
	st := newStore(t, c)
	a := newApp(t, st, true)

	// Eight users with three items in their carts, logged in.
	var shoppers []*failoverShopper
	for i := range 8 {
		sh := &failoverShopper{user: "u" + strconv.Itoa(i), last: 3}
		_, sh.cookie = a.must("", "/add?item=a")
		_, sh.cookie = a.must(sh.cookie, "/login?user="+sh.user)
		a.must(sh.cookie, "/add?item=b")
		a.must(sh.cookie, "/add?item=c")
		if body, _ := a.must(sh.cookie, "/cart"); body != "3 "+sh.user {
			t.Fatalf("cart before the kill = %q", body)
		}
		shoppers = append(shoppers, sh)
	}
	if t.Failed() {
		t.FailNow()
	}
	// Every write has reached the replica, and no request is in flight:
	// what the sessions hold is on both servers.
	mc := redis.NewClient(&redis.Options{Addr: sn.Master.Addr()})
	replicated(t, mc, st.Prefix())
	mc.Close()
	oldMaster := sn.Master.Addr()

	killedAt := time.Now()
	sn.Master.Kill()
	if err := st.Ping(ctx(t)); err == nil {
		t.Error("Ping succeeded with the master dead")
	}

	var (
		promoted atomic.Int64 // time since the kill at which the new master was seen, 0 before
		mu       sync.Mutex
		outcomes []outcome
	)
	end := make(chan struct{})
	var wg sync.WaitGroup
	for _, sh := range shoppers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-end:
					return
				default:
				}
				path := "/cart"
				if i%2 == 1 {
					path = "/add?item=" + strconv.Itoa(i)
				}
				start := time.Since(killedAt)
				code, body, cookie := a.get(sh.cookie, path)
				mu.Lock()
				outcomes = append(outcomes, outcome{start, time.Since(killedAt), code})
				mu.Unlock()
				switch {
				case code == 200:
					if cookie != sh.cookie {
						t.Errorf("200 under a new cookie (%s %q): a new, empty session", path, body)
					}
					if path == "/cart" {
						n, user, _ := strings.Cut(body, " ")
						if got, _ := strconv.Atoi(n); got < sh.last || got > sh.last+sh.unsure || user != sh.user {
							t.Errorf("/cart = %q after a 200 said %d items for %s (then %d failed adds): data lost", body, sh.last, sh.user, sh.unsure)
						}
						break
					}
					n, _ := strconv.Atoi(body)
					if n <= sh.last || n > sh.last+1+sh.unsure {
						t.Errorf("200 with a cart of %d after %d (and %d failed adds): items lost", n, sh.last, sh.unsure)
					}
					sh.last, sh.unsure = n, 0
					if p := promoted.Load(); p != 0 && start > time.Duration(p) {
						sh.okAfter.Store(true)
					}
				case code >= 500:
					if path != "/cart" {
						sh.unsure++
					}
				default:
					t.Errorf("%s answered %d %q", path, code, body)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	stop := sync.OnceFunc(func() { close(end); wg.Wait() })
	defer stop()

	// Sentinel promotes the replica.
	// Sentinel promotes the replica: one sentinel names it first (the
	// leader of the failover), the others follow.
	var allNamed time.Duration
	for allNamed == 0 {
		named := 0
		for _, addr := range sn.MasterAddrs() {
			switch addr {
			case oldMaster, "":
			case sn.Replica.Addr():
				named++
			default:
				t.Fatalf("a sentinel names %s as the new master, want the replica %s", addr, sn.Replica.Addr())
			}
		}
		if named > 0 && promoted.Load() == 0 {
			promoted.Store(int64(time.Since(killedAt)))
		}
		if named == len(sn.Addrs) {
			allNamed = time.Since(killedAt)
		}
		if time.Since(killedAt) > 30*time.Second {
			t.Fatalf("%d of %d sentinels name the promoted replica 30 s after the kill", named, len(sn.Addrs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Every user gets a 200 again, through the same client and application.
	for deadline := time.Now().Add(10 * time.Second); ; {
		all := true
		for _, sh := range shoppers {
			all = all && sh.okAfter.Load()
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("some users still get errors 10 s after the promotion")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()

	// What the users saw.
	mu.Lock()
	sort.Slice(outcomes, func(i, j int) bool { return outcomes[i].start < outcomes[j].start })
	codes := map[int]int{}
	var lastFail, firstOK time.Duration
	for _, o := range outcomes {
		codes[o.code]++
		if o.code >= 500 {
			lastFail = max(lastFail, o.end)
		} else if o.code == 200 && (firstOK == 0 || o.end < firstOK) {
			firstOK = o.end
		}
	}
	mu.Unlock()
	if codes[500]+codes[503] == 0 {
		t.Error("no request failed while the master was down")
	}
	for _, o := range outcomes {
		// No sentinel can even call the master down before 1 s.
		if o.code == 200 && o.end < time.Second {
			t.Errorf("a request answered 200 %v after the kill of the master", o.end)
		}
	}
	t.Logf("master killed at 0; the first sentinel named the replica master at %v, all three at %v; requests failed until %v with %v (status: count); first 200 at %v",
		time.Duration(promoted.Load()).Round(time.Millisecond), allNamed.Round(time.Millisecond), lastFail.Round(time.Millisecond), codes, firstOK.Round(time.Millisecond))

	// The carts written before the kill are all there, with every item a
	// 200 answered for.
	if err := st.Ping(ctx(t)); err != nil {
		t.Errorf("Ping after the promotion: %v", err)
	}
	for _, sh := range shoppers {
		body, _ := a.must(sh.cookie, "/cart")
		n, user, _ := strings.Cut(body, " ")
		if got, _ := strconv.Atoi(n); got < sh.last || got > sh.last+sh.unsure || user != sh.user {
			t.Errorf("after the failover /cart = %q; the last 200 said %d items for %s (then %d failed adds)", body, sh.last, sh.user, sh.unsure)
		}
		body, _ = a.must(sh.cookie, "/add?item=z")
		if got, _ := strconv.Atoi(body); got < sh.last+1 || got > sh.last+1+sh.unsure {
			t.Errorf("add after the failover = %q; the last 200 said %d items (then %d failed adds)", body, sh.last, sh.unsure)
		}
	}
}
