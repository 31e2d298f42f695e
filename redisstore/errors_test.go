package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/internal/testenv"
	"github.com/cloakroom/cloakroom/redisstore"
)

// checkMsg asserts that err names the package once, at the front.
func checkMsg(t *testing.T, what string, err error) {
	t.Helper()
	testenv.ErrorNamesPackage(t, "redisstore", what, err)
}

// checkErr asserts that err wraps want and names the package once.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	testenv.ErrorNamesPackage(t, "redisstore", what, err, want)
}

// TestErrorMessagesNoServer: configuration errors, the checks made before
// Redis is contacted, and a server that is not there.
func TestErrorMessagesNoServer(t *testing.T) {
	_, err := redisstore.New(nil)
	checkErr(t, "nil client", err, core.ErrInvalidConfig)
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	for name, opt := range map[string]redisstore.Option{
		"prefix with a hash tag": redisstore.WithPrefix("a{b}:"),
		"prefix with a newline":  redisstore.WithPrefix("a\n"),
		"long prefix":            redisstore.WithPrefix(strings.Repeat("p", redisstore.MaxPrefixLength+1)),
		"nil clock":              redisstore.WithClock(nil),
	} {
		_, err := redisstore.New(c, opt)
		checkErr(t, name, err, core.ErrInvalidConfig)
	}
	st, err := redisstore.New(c)
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	_, err = st.Load(bg, "not a key!")
	checkErr(t, "load of an invalid key", err, core.ErrInvalidKey)
	err = st.LinkUser(bg, "u", "short", time.Now().Add(time.Hour))
	checkErr(t, "link of an invalid key", err, core.ErrInvalidKey)
	err = st.LinkUser(bg, "", mustKey(t), time.Now().Add(time.Hour))
	checkErr(t, "link to an empty user", err, core.ErrInvalidConfig)
	_, err = st.DeleteUserSessions(bg, "")
	checkErr(t, "logout of an empty user", err, core.ErrInvalidConfig)
	done, cancel := context.WithCancel(bg)
	cancel()
	err = st.Delete(done, mustKey(t))
	checkErr(t, "delete with a done context", err, context.Canceled)
	_, err = st.DeleteUserSessions(done, "u")
	checkErr(t, "logout with a done context", err, context.Canceled)
	checkErr(t, "ping with a done context", st.Ping(done), context.Canceled)

	// Nothing listens: every call fails with the network error, never as
	// not-found.
	key := mustKey(t)
	_, err = st.Load(bg, key)
	checkMsg(t, "load with no server", err)
	rec := core.Record{Key: key, Data: []byte("{}"), Expiry: time.Now().Add(time.Hour)}
	checkMsg(t, "create with no server", st.Save(bg, rec, core.Create))
	checkMsg(t, "update with no server", st.Save(bg, rec, core.Update))
	checkMsg(t, "delete with no server", st.Delete(bg, key))
	checkMsg(t, "link with no server", st.LinkUser(bg, "u", key, rec.Expiry))
	_, err = st.DeleteUserSessions(bg, "u")
	checkMsg(t, "logout with no server", err)
	checkMsg(t, "ping with no server", st.Ping(bg))
}

func TestErrorMessages(t *testing.T) {
	c := singleClient(t)
	st := newStore(t, c)
	cx := ctx(t)
	key := mustKey(t)
	rec := core.Record{Key: key, Data: []byte("{}"), Expiry: time.Now().Add(time.Hour)}

	_, err := st.Load(cx, key)
	checkErr(t, "load of a missing key", err, core.ErrNotFound)
	err = st.Save(cx, rec, core.Update)
	checkErr(t, "update of a missing session", err, core.ErrSessionDeleted)
	if err := st.Save(cx, rec, core.Create); err != nil {
		t.Fatal(err)
	}
	err = st.Save(cx, rec, core.Create)
	checkErr(t, "second create", err, core.ErrKeyExists)
	_, v, err := st.LoadVersion(cx, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(cx, rec, core.Update); err != nil {
		t.Fatal(err)
	}
	err = st.SaveVersion(cx, rec, v)
	checkErr(t, "versioned update of another version", err, core.ErrVersionConflict)
	err = st.SaveVersion(cx, core.Record{Key: mustKey(t), Data: []byte("{}"), Expiry: rec.Expiry}, v)
	checkErr(t, "versioned update of a missing session", err, core.ErrSessionDeleted)

	c.Set(cx, st.Prefix()+key, "not ours", time.Minute)
	_, err = st.Load(cx, key)
	checkErr(t, "load of a foreign value", err, core.ErrTampered)
	err = st.Save(cx, rec, core.Update)
	checkErr(t, "update of a foreign value", err, core.ErrTampered)
}
