package memcachestore

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloakroom/cloakroom/core"
)

// KetamaVariant says how a [Ketama] selector builds its continuum and hashes
// keys. Each variant places keys on the server libmemcached, and so pylibmc,
// puts them on with the behaviours named below, so a Go application and a
// Python one (Django's PyLibMCCache) configured with the same server list,
// written the same way, find each other's keys. This was measured against
// pylibmc 1.6.3 over libmemcached 1.1.4 with real memcached servers; the
// code followed is libmemcached's update_continuum (hosts.cc). By its
// source (not measured here), libmemcached before 1.0 also switched to the
// MD5 hash when "ketama" was set, which is [KetamaMD5]'s placement.
//
// In every variant a server is named in the continuum as libmemcached names
// it: "host:port" with the host exactly as written in the server list (a
// name is not replaced by its address: "localhost:11211" and
// "127.0.0.1:11211" place keys differently), an IPv6 host without its
// brackets, and the port left out when it is memcached's default, 11211
// ("10.0.0.1:11211" is named "10.0.0.1"); a Unix socket is named by its
// path followed by ":0". Point i of a server hashes that name followed by
// "-i". The points of all servers are sorted (equal values by the server's
// position in the list) and a key belongs to the first point at or after its
// hash, the first point of all when its hash is past the last.
type KetamaVariant uint8

const (
	// KetamaWeighted is libmemcached's weighted ketama (pylibmc's behaviour
	// {"ketama_weighted": True}, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED), which
	// is also the continuum of the original libketama: 40 MD5 digests per
	// server, of "name-0" to "name-39", each giving 4 points (its bytes 0-3,
	// 4-7, 8-11 and 12-15 read as little-endian 32-bit numbers), so 160
	// points per server; a key's hash is the first 4 bytes of its MD5,
	// little-endian. All servers have the same weight (libmemcached's
	// points-per-server formula is followed, which gives 160 for equal
	// weights). It is the zero value and the default of [NewServers].
	KetamaWeighted KetamaVariant = iota
	// KetamaOneAtATime is libmemcached's plain ketama with its default hash
	// (pylibmc's behaviour {"ketama": True} alone, as in Django's
	// documentation for PyLibMCCache, with libmemcached 1.0 and later): 100
	// points per server, point i being Bob Jenkins' one-at-a-time hash of
	// "name-i", and the key hashed the same way.
	KetamaOneAtATime
	// KetamaMD5 is libmemcached's plain ketama with the MD5 hash (pylibmc's
	// behaviours {"ketama": True, "hash": "md5"}): 100 points per server,
	// point i being the first 4 bytes, little-endian, of the MD5 of
	// "name-i", and the key hashed the same way.
	KetamaMD5
)

// String returns the variant's name as pylibmc's behaviours say it.
func (v KetamaVariant) String() string {
	switch v {
	case KetamaWeighted:
		return "ketama_weighted"
	case KetamaOneAtATime:
		return "ketama"
	case KetamaMD5:
		return "ketama+md5"
	}
	return "KetamaVariant(" + strconv.Itoa(int(v)) + ")"
}

// Ketama is a consistent-hashing [memcache.ServerSelector] for gomemcache
// (pass it to [memcache.NewFromSelector]): each server owns many points on
// a circle of 32-bit hashes and a key goes to the owner of the next point.
// Adding a server to n moves only the keys the new server takes, about
// 1/(n+1) of them, and removing one moves only the keys it held; with
// gomemcache's default [memcache.ServerList] (hash modulo the number of
// servers) growing from 3 to 4 servers moves about 3 keys in 4, and so logs
// out most users of a session store.
//
// The placement is libmemcached's and pylibmc's, in the variant given to
// [NewKetama] (see [KetamaVariant]).
//
// A Ketama is safe for concurrent use: [Ketama.SetServers] builds the new
// continuum aside and swaps it in at once, so every PickServer sees either
// the old list or the new one. The zero Ketama has no servers (PickServer
// returns [memcache.ErrNoServers]) and uses [KetamaWeighted].
type Ketama struct {
	variant KetamaVariant
	cur     atomic.Pointer[continuum]
}

var _ memcache.ServerSelector = (*Ketama)(nil)

// continuum is one immutable server list and its sorted points.
type continuum struct {
	hashes []uint32   // sorted
	owners []uint32   // owners[i] is the index in addrs of the server of hashes[i]
	addrs  []net.Addr // in the order given
	names  []string   // the servers as given
	single net.Addr   // the only server when there is one, else nil
}

// NewKetama returns a selector over servers ("host:port", or the path of a
// Unix socket, which contains a slash) placing keys as variant says. An
// empty list, an invalid address (see [Ketama.SetServers]) or an unknown
// variant is an error wrapping [core.ErrInvalidConfig].
func NewKetama(variant KetamaVariant, servers ...string) (*Ketama, error) {
	if variant > KetamaMD5 {
		return nil, fmt.Errorf("memcachestore: ketama variant %v: unknown: %w", variant, core.ErrInvalidConfig)
	}
	k := &Ketama{variant: variant}
	if err := k.SetServers(servers...); err != nil {
		return nil, err
	}
	return k, nil
}

// Variant returns the variant the selector places keys with.
func (k *Ketama) Variant() KetamaVariant { return k.variant }

// SetServers replaces the server list. Each server is "host:port" with a
// non-empty host and a numeric port from 1 to 65535, or the path of a Unix
// socket (anything containing a slash). Host names are resolved here, once,
// as gomemcache's [memcache.ServerList] does; the continuum is built from
// the names as written (see [KetamaVariant]). The same server may not be
// listed twice, by name or by address (it would get twice the share).
//
// An empty list or an invalid, unresolvable or repeated server is an error
// wrapping [core.ErrInvalidConfig], and the list in use is left unchanged.
func (k *Ketama) SetServers(servers ...string) error {
	if len(servers) == 0 {
		return fmt.Errorf("memcachestore: ketama: no servers: %w", core.ErrInvalidConfig)
	}
	c := &continuum{addrs: make([]net.Addr, len(servers)), names: slices.Clone(servers)}
	ids := make([]string, len(servers))
	seen := make(map[string]string, 2*len(servers))
	for i, s := range servers {
		addr, id, err := parseServer(s)
		if err != nil {
			return err
		}
		for _, key := range []string{"name " + id, "addr " + addr.Network() + " " + addr.String()} {
			if prev, dup := seen[key]; dup {
				return fmt.Errorf("memcachestore: ketama: server %q: the same server as %q: %w", s, prev, core.ErrInvalidConfig)
			}
			seen[key] = s
		}
		c.addrs[i], ids[i] = addr, id
	}
	c.build(k.variant, ids)
	k.cur.Store(c)
	return nil
}

// parseServer checks and resolves one server and returns its address and
// its name in the continuum.
func parseServer(s string) (net.Addr, string, error) {
	if strings.Contains(s, "/") {
		ua, err := net.ResolveUnixAddr("unix", s)
		if err != nil {
			return nil, "", fmt.Errorf("memcachestore: ketama: server %q: %w: %w", s, core.ErrInvalidConfig, err)
		}
		return &staticAddr{network: ua.Network(), str: ua.String()}, s + ":0", nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return nil, "", fmt.Errorf("memcachestore: ketama: server %q: want host:port or a socket path: %w: %w", s, core.ErrInvalidConfig, err)
	}
	if host == "" {
		return nil, "", fmt.Errorf("memcachestore: ketama: server %q: no host: %w", s, core.ErrInvalidConfig)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return nil, "", fmt.Errorf("memcachestore: ketama: server %q: port %q: want a number from 1 to 65535: %w", s, port, core.ErrInvalidConfig)
	}
	ta, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		return nil, "", fmt.Errorf("memcachestore: ketama: server %q: %w: %w", s, core.ErrInvalidConfig, err)
	}
	id := host
	if p != 11211 {
		id = host + ":" + strconv.FormatUint(p, 10)
	}
	return &staticAddr{network: ta.Network(), str: ta.String()}, id, nil
}

// staticAddr is a resolved address whose strings are computed once, as in
// gomemcache's ServerList (the client uses String as its pool key).
type staticAddr struct{ network, str string }

func (a *staticAddr) Network() string { return a.network }
func (a *staticAddr) String() string  { return a.str }

// build fills the sorted points of the servers named ids.
func (c *continuum) build(v KetamaVariant, ids []string) {
	type point struct{ hash, owner uint32 }
	var pts []point
	n := len(ids)
	for owner, id := range ids {
		switch v {
		case KetamaWeighted:
			// libmemcached's formula (hosts.cc, update_continuum) in
			// single-precision arithmetic, each server of weight 1; the
			// conversions keep every step rounded to float32, as in C.
			pct := float32(1) / float32(n)
			x := float32(float32(float32(pct*160)/4)*float32(n)) + 1e-10
			perServer := int(math.Floor(float64(x))) * 4
			for i := 0; i < perServer/4; i++ {
				sum := md5.Sum([]byte(id + "-" + strconv.Itoa(i)))
				for j := 0; j < 4; j++ {
					pts = append(pts, point{binary.LittleEndian.Uint32(sum[4*j:]), uint32(owner)})
				}
			}
		default:
			for i := 0; i < 100; i++ {
				pts = append(pts, point{hashKey(v, id+"-"+strconv.Itoa(i)), uint32(owner)})
			}
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		if a.hash != b.hash {
			if a.hash < b.hash {
				return -1
			}
			return 1
		}
		return int(a.owner) - int(b.owner)
	})
	c.hashes = make([]uint32, len(pts))
	c.owners = make([]uint32, len(pts))
	for i, p := range pts {
		c.hashes[i], c.owners[i] = p.hash, p.owner
	}
	if n == 1 {
		c.single = c.addrs[0]
	}
}

// hashKey is libmemcached's hash of a key for variant v.
func hashKey(v KetamaVariant, key string) uint32 {
	if v == KetamaOneAtATime {
		return oneAtATime(key)
	}
	var buf [250]byte // memcached's longest key: no allocation
	var sum [md5.Size]byte
	if len(key) <= len(buf) {
		n := copy(buf[:], key)
		sum = md5.Sum(buf[:n])
	} else {
		sum = md5.Sum([]byte(key))
	}
	return binary.LittleEndian.Uint32(sum[:4])
}

// oneAtATime is Bob Jenkins' one-at-a-time hash, libmemcached's default.
func oneAtATime(s string) uint32 {
	var h uint32
	for i := 0; i < len(s); i++ {
		h += uint32(s[i])
		h += h << 10
		h ^= h >> 6
	}
	h += h << 3
	h ^= h >> 11
	h += h << 15
	return h
}

// PickServer implements [memcache.ServerSelector]: it returns the server
// that owns key, or [memcache.ErrNoServers] when the selector has none.
func (k *Ketama) PickServer(key string) (net.Addr, error) {
	c := k.cur.Load()
	if c == nil {
		return nil, memcache.ErrNoServers
	}
	if c.single != nil {
		return c.single, nil
	}
	h := hashKey(k.variant, key)
	i, _ := slices.BinarySearch(c.hashes, h) // the first point >= h
	if i == len(c.hashes) {
		i = 0
	}
	return c.addrs[c.owners[i]], nil
}

// Each implements [memcache.ServerSelector]: it calls f with every server,
// in the order given, and stops at the first error, which it returns.
func (k *Ketama) Each(f func(net.Addr) error) error {
	c := k.cur.Load()
	if c == nil {
		return nil
	}
	for _, a := range c.addrs {
		if err := f(a); err != nil {
			return err
		}
	}
	return nil
}

// Servers returns the server list in use, as given to [NewKetama] or
// [Ketama.SetServers].
func (k *Ketama) Servers() []string {
	c := k.cur.Load()
	if c == nil {
		return nil
	}
	return slices.Clone(c.names)
}
