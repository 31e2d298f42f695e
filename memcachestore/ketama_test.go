package memcachestore_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/internal/testenv"
	"github.com/cloakroom/cloakroom/memcachestore"
)

// goldenKey is the i-th key of the placement tables.
func goldenKey(i int) string { return "cloakroom:session:golden-" + strconv.Itoa(i) }

// ketamaGolden holds where pylibmc 1.6.3 over libmemcached 1.1.4 (Debian 12's
// python3-pylibmc and libmemcached11; pylibmc itself reports 1.0.18, the
// headers it was built with) put goldenKey(0) to goldenKey(59): digit i is the index
// in servers of the server that held key i. They were measured with real
// memcached processes on those addresses (three on port 11211 of different
// loopback addresses, for libmemcached's default-port naming; a host name;
// seven servers, for the weighted points-per-server formula; IPv6, named
// without brackets; Unix sockets),
// with the behaviours {"ketama_weighted": True}, {"ketama": True} and
// {"ketama": True, "hash": "md5"}. TestPylibmcPlacement checks the same
// against pylibmc live.
var ketamaGolden = []struct {
	variant memcachestore.KetamaVariant
	servers []string
	want    string
}{
	{memcachestore.KetamaWeighted, []string{"127.0.0.2:11211", "127.0.0.3:11211", "127.0.0.4:11211"}, "112020120002210100020221120122120210111211010202020202020222"},
	{memcachestore.KetamaOneAtATime, []string{"127.0.0.2:11211", "127.0.0.3:11211", "127.0.0.4:11211"}, "001122210101120110222011111102102102101201011012121010120121"},
	{memcachestore.KetamaMD5, []string{"127.0.0.2:11211", "127.0.0.3:11211", "127.0.0.4:11211"}, "011110212011212211221212110021220020111122022000122102000222"},
	{memcachestore.KetamaWeighted, []string{"localhost:21211", "127.0.0.1:21212", "127.0.0.1:21213"}, "202120210002211101200212021010111221011201020112012222020112"},
	{memcachestore.KetamaOneAtATime, []string{"localhost:21211", "127.0.0.1:21212", "127.0.0.1:21213"}, "010211101211122100002122102001001111112021000120120111121002"},
	{memcachestore.KetamaMD5, []string{"localhost:21211", "127.0.0.1:21212", "127.0.0.1:21213"}, "200101220101221102200201002112101210011112001211201222200001"},
	{memcachestore.KetamaWeighted, sevenServers, "014463614645444121263516051102130634311221124464352234432354"},
	{memcachestore.KetamaOneAtATime, sevenServers, "446056655214122446232524025530561111612061454664423415151606"},
	{memcachestore.KetamaMD5, sevenServers, "415154234651255402233405654510106664311130335266054234053651"},
	{memcachestore.KetamaWeighted, ipv6, "201112022202000211210001220211102120010101202002210002201200"},
	{memcachestore.KetamaOneAtATime, ipv6, "221101110020122002002110121122022121110101111202012120210011"},
	{memcachestore.KetamaWeighted, sockets, "220002122200110012210010010201222011122202022012122011021021"},
	{memcachestore.KetamaOneAtATime, sockets, "220210102100011010010112111010010202201202221201120212101220"},
	{memcachestore.KetamaMD5, sockets, "210001112002121012112111012200012022221100102022101210011100"},
}

var (
	sevenServers = []string{"127.0.0.1:21211", "127.0.0.1:21212", "127.0.0.1:21213", "127.0.0.1:21214", "127.0.0.1:21215", "127.0.0.1:21216", "127.0.0.1:21217"}
	ipv6         = []string{"[::1]:21231", "[::1]:21232", "[::1]:21233"}
	sockets      = []string{"/tmp/cloakroom-ketama-0.sock", "/tmp/cloakroom-ketama-1.sock", "/tmp/cloakroom-ketama-2.sock"}
)

func mustKetama(t testing.TB, v memcachestore.KetamaVariant, servers ...string) *memcachestore.Ketama {
	t.Helper()
	k, err := memcachestore.NewKetama(v, servers...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// indexOf returns the position of each server's address in k's list.
func indexOf(t testing.TB, k *memcachestore.Ketama) map[string]int {
	t.Helper()
	idx := make(map[string]int)
	_ = k.Each(func(a net.Addr) error { idx[a.String()] = len(idx); return nil })
	return idx
}

// pick returns the index of the server k picks for key.
func pick(t testing.TB, k *memcachestore.Ketama, idx map[string]int, key string) int {
	t.Helper()
	a, err := k.PickServer(key)
	if err != nil {
		t.Fatal(err)
	}
	i, ok := idx[a.String()]
	if !ok {
		t.Fatalf("PickServer(%q) = %v, not in the list", key, a)
	}
	return i
}

func TestKetamaMatchesPylibmc(t *testing.T) {
	for _, g := range ketamaGolden {
		t.Run(fmt.Sprintf("%v/%d-servers/%s", g.variant, len(g.servers), g.servers[0]), func(t *testing.T) {
			k := mustKetama(t, g.variant, g.servers...)
			idx := indexOf(t, k)
			got := make([]byte, len(g.want))
			for i := range got {
				got[i] = byte('0' + pick(t, k, idx, goldenKey(i)))
			}
			if string(got) != g.want {
				t.Errorf("placement\n got %s\nwant %s (pylibmc)", got, g.want)
			}
		})
	}
}

var variants = []memcachestore.KetamaVariant{memcachestore.KetamaWeighted, memcachestore.KetamaOneAtATime, memcachestore.KetamaMD5}

// sessionKeys returns n session-like memcached keys, the same every run.
func sessionKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%sk%031d", memcachestore.DefaultPrefix, i*7919)
	}
	return keys
}

func TestKetamaDistribution(t *testing.T) {
	servers := []string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211", "10.0.0.4:11211"}
	keys := sessionKeys(10000)
	for _, v := range variants {
		k := mustKetama(t, v, servers...)
		idx := indexOf(t, k)
		count := make([]int, len(servers))
		for _, key := range keys {
			count[pick(t, k, idx, key)]++
		}
		for i, n := range count {
			share := float64(n) / float64(len(keys))
			if share < 0.15 || share > 0.35 {
				t.Errorf("%v: server %d has %.1f%% of the keys, want 15-35%% (counts %v)", v, i, 100*share, count)
			}
		}
		t.Logf("%v: keys per server of 4: %v", v, count)
	}
}

func TestKetamaDeterministic(t *testing.T) {
	servers := []string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211", "10.0.0.4:11211"}
	reversed := slices.Clone(servers)
	slices.Reverse(reversed)
	keys := sessionKeys(2000)
	for _, v := range variants {
		a, b, c := mustKetama(t, v, servers...), mustKetama(t, v, servers...), mustKetama(t, v, reversed...)
		for _, key := range keys {
			pa, _ := a.PickServer(key)
			pb, _ := b.PickServer(key)
			pc, _ := c.PickServer(key)
			if pa.String() != pb.String() || pa.String() != pc.String() {
				t.Fatalf("%v: key %q: %v, %v, and %v with the list reversed", v, key, pa, pb, pc)
			}
		}
	}
}

// TestKetamaGrowAndShrink: adding a server moves keys only to it, about
// its share; removing one moves only its keys.
func TestKetamaGrowAndShrink(t *testing.T) {
	three := []string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"}
	four := append(slices.Clone(three), "10.0.0.4:11211")
	keys := sessionKeys(10000)
	for _, v := range variants {
		k := mustKetama(t, v, three...)
		before := make([]string, len(keys))
		for i, key := range keys {
			a, _ := k.PickServer(key)
			before[i] = a.String()
		}
		if err := k.SetServers(four...); err != nil {
			t.Fatal(err)
		}
		moved := 0
		for i, key := range keys {
			a, _ := k.PickServer(key)
			if a.String() != before[i] {
				moved++
				if a.String() != "10.0.0.4:11211" {
					t.Fatalf("%v: key %q moved from %s to %s, not to the new server", v, key, before[i], a)
				}
			}
		}
		share := float64(moved) / float64(len(keys))
		if share < 0.15 || share > 0.35 {
			t.Errorf("%v: 3 -> 4 servers moved %.1f%% of the keys, want about 25%%", v, 100*share)
		}
		// Remove the second server: only its keys move.
		onFour := make([]string, len(keys))
		for i, key := range keys {
			a, _ := k.PickServer(key)
			onFour[i] = a.String()
		}
		if err := k.SetServers(four[0], four[2], four[3]); err != nil {
			t.Fatal(err)
		}
		for i, key := range keys {
			a, _ := k.PickServer(key)
			if a.String() != onFour[i] && onFour[i] != "10.0.0.2:11211" {
				t.Fatalf("%v: key %q moved from %s to %s when 10.0.0.2 was removed", v, key, onFour[i], a)
			}
		}
		t.Logf("%v: 3 -> 4 servers moved %.1f%% of %d keys", v, 100*share, len(keys))
	}
}

// TestKetamaSetServersConcurrent swaps the list under concurrent
// PickServer and Each (run with -race): every answer comes from one list.
func TestKetamaSetServersConcurrent(t *testing.T) {
	a := []string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"}
	b := []string{"10.0.1.1:11211", "10.0.1.2:11211"}
	valid := map[string]bool{}
	for _, s := range append(slices.Clone(a), b...) {
		valid[s] = true
	}
	k := mustKetama(t, memcachestore.KetamaWeighted, a...)
	keys := sessionKeys(500)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				addr, err := k.PickServer(keys[n%len(keys)])
				if err != nil || !valid[addr.String()] {
					t.Errorf("PickServer = %v, %v", addr, err)
					return
				}
				count := 0
				_ = k.Each(func(net.Addr) error { count++; return nil })
				if count != len(a) && count != len(b) {
					t.Errorf("Each saw %d servers, want %d or %d", count, len(a), len(b))
					return
				}
			}
		})
	}
	for i := 0; i < 200; i++ {
		list := a
		if i%2 == 0 {
			list = b
		}
		if err := k.SetServers(list...); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
}

func TestKetamaErrors(t *testing.T) {
	_, err := memcachestore.NewKetama(memcachestore.KetamaWeighted)
	checkErr(t, "no servers", err, core.ErrInvalidConfig)
	_, err = memcachestore.NewKetama(memcachestore.KetamaVariant(9), "127.0.0.1:11211")
	checkErr(t, "unknown variant", err, core.ErrInvalidConfig)
	for name, list := range map[string][]string{
		"empty address":         {""},
		"no port":               {"127.0.0.1"},
		"no host":               {":11211"},
		"port 0":                {"127.0.0.1:0"},
		"port too large":        {"127.0.0.1:65536"},
		"port by name":          {"127.0.0.1:memcache"},
		"same server twice":     {"127.0.0.1:11211", "127.0.0.1:11211"},
		"same address twice":    {"[::1]:11211", "[0:0:0:0:0:0:0:1]:11211"},
		"a bad one among good":  {"127.0.0.1:11211", "127.0.0.1:x"},
		"same socket twice":     {"/tmp/m.sock", "/tmp/m.sock"},
		"IPv6 without brackets": {"::1:11211"},
	} {
		_, err := memcachestore.NewKetama(memcachestore.KetamaWeighted, list...)
		checkErr(t, name, err, core.ErrInvalidConfig)
		_, err = memcachestore.NewServers(list)
		checkErr(t, "NewServers: "+name, err, core.ErrInvalidConfig)
	}

	// A failed SetServers leaves the list in use.
	k := mustKetama(t, memcachestore.KetamaWeighted, "127.0.0.1:11211", "127.0.0.1:11212")
	checkErr(t, "SetServers()", k.SetServers(), core.ErrInvalidConfig)
	checkErr(t, "SetServers(bad)", k.SetServers("127.0.0.1:11213", "nope"), core.ErrInvalidConfig)
	if got := k.Servers(); !slices.Equal(got, []string{"127.0.0.1:11211", "127.0.0.1:11212"}) {
		t.Errorf("after failed SetServers: Servers() = %q", got)
	}

	// The zero Ketama has no servers.
	var zero memcachestore.Ketama
	if _, err := zero.PickServer("k"); !errors.Is(err, memcache.ErrNoServers) {
		t.Errorf("zero Ketama: PickServer err = %v, want memcache.ErrNoServers", err)
	}
	if err := zero.Each(func(net.Addr) error { t.Error("zero Ketama: Each called f"); return nil }); err != nil {
		t.Error(err)
	}
	if zero.Servers() != nil || zero.Variant() != memcachestore.KetamaWeighted {
		t.Errorf("zero Ketama: Servers() = %q, Variant() = %v", zero.Servers(), zero.Variant())
	}
	if err := zero.SetServers("127.0.0.1:11211"); err != nil {
		t.Fatal(err)
	}
	if a, err := zero.PickServer("k"); err != nil || a.String() != "127.0.0.1:11211" {
		t.Errorf("zero Ketama after SetServers: PickServer = %v, %v", a, err)
	}
	// Each stops at f's first error and returns it.
	stop := errors.New("stop")
	calls := 0
	if err := k.Each(func(net.Addr) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("Each: err %v after %d calls, want stop after 1", err, calls)
	}
}

func TestKetamaAcceptedAddresses(t *testing.T) {
	k := mustKetama(t, memcachestore.KetamaWeighted, "[::1]:11211", "localhost:11212", "/tmp/x.sock", "127.0.0.1:11213")
	var got []string
	_ = k.Each(func(a net.Addr) error { got = append(got, a.Network()+" "+a.String()); return nil })
	if len(got) != 4 || got[0] != "tcp [::1]:11211" || got[2] != "unix /tmp/x.sock" || got[3] != "tcp 127.0.0.1:11213" {
		t.Errorf("Each: %q", got)
	}
}

func TestKetamaVariantString(t *testing.T) {
	for v, want := range map[memcachestore.KetamaVariant]string{
		memcachestore.KetamaWeighted:   "ketama_weighted",
		memcachestore.KetamaOneAtATime: "ketama",
		memcachestore.KetamaMD5:        "ketama+md5",
		9:                              "KetamaVariant(9)",
	} {
		if got := v.String(); got != want {
			t.Errorf("%d: %q, want %q", uint8(v), got, want)
		}
	}
}

// TestWithSelectorOptions: WithKetama and WithModulo are for NewServers.
func TestWithSelectorOptions(t *testing.T) {
	for name, opt := range map[string]memcachestore.Option{
		"WithKetama": memcachestore.WithKetama(memcachestore.KetamaMD5),
		"WithModulo": memcachestore.WithModulo(),
	} {
		_, err := memcachestore.New(memcache.New("127.0.0.1:1"), opt)
		checkErr(t, name+" given to New", err, core.ErrInvalidConfig)
		st, err := memcachestore.NewServers([]string{"127.0.0.1:1", "127.0.0.1:2"}, opt)
		if err != nil {
			t.Fatalf("NewServers with %s: %v", name, err)
		}
		st.Close()
	}
	_, err := memcachestore.NewServers([]string{"127.0.0.1:1"}, memcachestore.WithKetama(9))
	checkErr(t, "WithKetama(unknown variant)", err, core.ErrInvalidConfig)
}

func BenchmarkKetamaPickServer(b *testing.B) {
	for _, v := range variants {
		b.Run(v.String(), func(b *testing.B) {
			k := mustKetama(b, v, "10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211", "10.0.0.4:11211")
			key := memcachestore.DefaultPrefix + "0123456789abcdef0123456789abcdef"
			b.ReportAllocs()
			for b.Loop() {
				_, _ = k.PickServer(key)
			}
		})
	}
}

// TestPylibmcPlacement asks pylibmc itself (Debian's python3-pylibmc under
// /usr/bin/python3) where keys go: it sets keys through pylibmc with each
// variant's behaviours over three real memcached servers, and the test
// finds each key on the server Ketama picks, and on no other.
func TestPylibmcPlacement(t *testing.T) {
	testenv.Short(t, "memcached and pylibmc")
	if exec.Command("/usr/bin/python3", "-c", "import pylibmc").Run() != nil {
		testenv.Missing(t, "pylibmc is not installed for /usr/bin/python3; apt-get install python3-pylibmc (scripts/install-deps.sh)")
	}
	_, addrs := memcachedtest.StartN(t, 3)
	raw := make([]*memcache.Client, len(addrs))
	for i, a := range addrs {
		raw[i] = memcache.New(a)
		t.Cleanup(func() { _ = raw[i].Close() })
	}
	for v, behaviours := range map[memcachestore.KetamaVariant]string{
		memcachestore.KetamaWeighted:   `{"ketama_weighted": true}`,
		memcachestore.KetamaOneAtATime: `{"ketama": true}`,
		memcachestore.KetamaMD5:        `{"ketama": true, "hash": "md5"}`,
	} {
		t.Run(v.String(), func(t *testing.T) {
			keys := make([]string, 300)
			for i := range keys {
				keys[i] = fmt.Sprintf("pylibmc-%v:%s", v, mustKey(t))
			}
			cmd := exec.Command("/usr/bin/python3", append([]string{"testdata/pylibmc_set.py", behaviours}, addrs...)...)
			cmd.Stdin = strings.NewReader(strings.Join(keys, "\n"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("pylibmc: %v\n%s", err, out)
			}
			t.Logf("pylibmc with %s: %s", behaviours, bytes.TrimSpace(out))
			k := mustKetama(t, v, addrs...)
			idx := indexOf(t, k)
			for _, key := range keys {
				var on []int
				for i, c := range raw {
					if _, err := c.Get(key); err == nil {
						on = append(on, i)
					} else if !errors.Is(err, memcache.ErrCacheMiss) {
						t.Fatal(err)
					}
				}
				if want := pick(t, k, idx, key); len(on) != 1 || on[0] != want {
					t.Fatalf("key %q: pylibmc put it on servers %v, Ketama picks %d", key, on, want)
				}
			}
		})
	}
}

// TestWithDistribution: each name of Distributions places keys as the
// option it names does (sessions written through one are all found
// through the other over three real servers, and not all through another
// distribution); an unknown name, or the option given to New, is refused.
func TestWithDistribution(t *testing.T) {
	testenv.Short(t, "three memcached servers")
	_, addrs := memcachedtest.StartN(t, 3)
	explicit := map[string]memcachestore.Option{
		"ketama_weighted": memcachestore.WithKetama(memcachestore.KetamaWeighted),
		"ketama":          memcachestore.WithKetama(memcachestore.KetamaOneAtATime),
		"ketama+md5":      memcachestore.WithKetama(memcachestore.KetamaMD5),
		"modulo":          memcachestore.WithModulo(),
	}
	if len(explicit) != len(memcachestore.Distributions()) {
		t.Fatalf("Distributions = %q: the test knows %d", memcachestore.Distributions(), len(explicit))
	}
	ctx := t.Context()
	for i, name := range memcachestore.Distributions() {
		prefix := fmt.Sprintf("dist%d:", i)
		byName := memcachedtest.Open(t, addrs, memcachestore.WithPrefix(prefix), memcachestore.WithDistribution(name))
		same := memcachedtest.Open(t, addrs, memcachestore.WithPrefix(prefix), explicit[name])
		other := memcachedtest.Open(t, addrs, memcachestore.WithPrefix(prefix),
			memcachestore.WithDistribution(memcachestore.Distributions()[(i+1)%len(memcachestore.Distributions())]))
		const n = 200
		foundSame, foundOther := 0, 0
		for range n {
			key, _ := core.NewKey()
			if err := byName.Save(ctx, core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
				t.Fatal(err)
			}
			if _, err := same.Load(ctx, key); err == nil {
				foundSame++
			}
			if _, err := other.Load(ctx, key); err == nil {
				foundOther++
			}
		}
		if foundSame != n || foundOther == n {
			t.Errorf("%s: %d of %d found through its option (want all), %d through another distribution (want fewer)", name, foundSame, n, foundOther)
		}
	}
	_, err := memcachestore.NewServers(addrs, memcachestore.WithDistribution("consistent"))
	checkErr(t, `WithDistribution("consistent")`, err, core.ErrInvalidConfig)
	_, err = memcachestore.New(memcache.New(addrs[0]), memcachestore.WithDistribution("ketama"))
	checkErr(t, "WithDistribution given to New", err, core.ErrInvalidConfig)
}
