package memcachestore_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/internal/testenv"
	"github.com/cloakroom/cloakroom/memcachestore"
)

// checkMsg asserts that err names the package once, at the front.
func checkMsg(t *testing.T, what string, err error) {
	t.Helper()
	testenv.ErrorNamesPackage(t, "memcachestore", what, err)
}

// checkErr asserts that err wraps want and names the package once.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	testenv.ErrorNamesPackage(t, "memcachestore", what, err, want)
}

// closedAddr returns the address of a TCP port nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestErrorMessagesNoServer: configuration errors and the checks made
// before any server is contacted.
func TestErrorMessagesNoServer(t *testing.T) {
	_, err := memcachestore.New(nil)
	checkErr(t, "nil client", err, core.ErrInvalidConfig)
	_, err = memcachestore.New(memcache.New("127.0.0.1:1"), memcachestore.WithTimeout(time.Second))
	checkErr(t, "WithTimeout given to New", err, core.ErrInvalidConfig)
	_, err = memcachestore.NewServers(nil)
	checkErr(t, "no servers", err, core.ErrInvalidConfig)
	addr := closedAddr(t)
	for name, opt := range map[string]memcachestore.Option{
		"zero timeout":        memcachestore.WithTimeout(0),
		"prefix with a space": memcachestore.WithPrefix("a b"),
		"long prefix":         memcachestore.WithPrefix(strings.Repeat("p", memcachestore.MaxPrefixLength+1)),
		"nil clock":           memcachestore.WithClock(nil),
	} {
		_, err := memcachestore.NewServers([]string{addr}, opt)
		checkErr(t, name, err, core.ErrInvalidConfig)
	}

	st, err := memcachestore.NewServers([]string{addr, closedAddr(t)}, memcachestore.WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.Load(context.Background(), "not a key!")
	checkErr(t, "load of an invalid key", err, core.ErrInvalidKey)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	err = st.Delete(done, mustKey(t))
	checkErr(t, "delete with a done context", err, context.Canceled)
	// Two servers down: one error naming both, and the package once.
	checkMsg(t, "ping of two dead servers", st.Ping(context.Background()))
}

func TestErrorMessages(t *testing.T) {
	st, srv := memcachedtest.Store(t)
	c := ctx(t)
	key := mustKey(t)
	rec := core.Record{Key: key, Data: []byte("{}"), Expiry: time.Now().Add(time.Hour)}

	_, err := st.Load(c, key)
	checkErr(t, "load of a missing key", err, core.ErrNotFound)
	err = st.Save(c, rec, core.Update)
	checkErr(t, "update of a missing item", err, core.ErrSessionDeleted)
	if err := st.Save(c, rec, core.Create); err != nil {
		t.Fatal(err)
	}
	err = st.Save(c, rec, core.Create)
	checkErr(t, "second create", err, core.ErrKeyExists)
	_, v, err := st.LoadVersion(c, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(c, rec, core.Update); err != nil {
		t.Fatal(err)
	}
	err = st.SaveVersion(c, rec, v)
	checkErr(t, "versioned update of another version", err, core.ErrVersionConflict)
	err = st.Save(c, core.Record{Key: mustKey(t), Data: make([]byte, 2<<20), Expiry: rec.Expiry}, core.Create)
	checkErr(t, "save of 2 MiB", err, core.ErrTooLarge)

	raw := memcache.New(srv.Addr())
	if err := raw.Set(&memcache.Item{Key: memcachestore.DefaultPrefix + key, Value: []byte("not ours")}); err != nil {
		t.Fatal(err)
	}
	_, err = st.Load(c, key)
	checkErr(t, "load of a foreign value", err, core.ErrTampered)
}
