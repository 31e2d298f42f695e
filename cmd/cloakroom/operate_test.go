package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/djangocodec"
	"github.com/cloakroom/cloakroom/core/filestore"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/internal/redistest"
	"github.com/cloakroom/cloakroom/internal/testenv"
	"github.com/cloakroom/cloakroom/memcachestore"
	"github.com/cloakroom/cloakroom/redisstore"
)

// seeded is a store the application wrote, and the flags that reach it.
type seeded struct {
	flags []string
	st    core.Store
	index bool // the store keeps a user index the command can use
}

// seed saves sessions as the application would: two of alice's (linked to
// her when the store has a user index), one of bob's, one anonymous.
func seed(t *testing.T, s seeded) (alice []string, bob, anon string) {
	t.Helper()
	save := func(user string, life time.Duration) string {
		t.Helper()
		key, _ := core.NewKey()
		data := `{"cart":[1,2,3],"address":"12 Secret Lane"}`
		if user != "" {
			data = `{"_auth_user_id":"` + user + `","address":"12 Secret Lane","cart":[1,2,3]}`
		}
		rec := core.Record{Key: key, Data: []byte(data), Expiry: time.Now().Add(life).Truncate(time.Second)}
		if err := s.st.Save(context.Background(), rec, core.Create); err != nil {
			t.Fatal(err)
		}
		if idx, ok := s.st.(core.UserIndex); ok && user != "" && s.index {
			if err := idx.LinkUser(context.Background(), user, key, rec.Expiry); err != nil {
				t.Fatal(err)
			}
		}
		return key
	}
	later := save("alice", 3*time.Hour)
	sooner := save("alice", time.Hour)
	return []string{sooner, later}, save("bob", 2*time.Hour), save("", time.Hour)
}

// testOperate runs sessions, show and revoke against a seeded store.
func testOperate(t *testing.T, s seeded) {
	alice, bob, anon := seed(t, s)
	args := func(a ...string) []string {
		return append(slices.Clone(a[:1]), append(slices.Clone(s.flags), a[1:]...)...)
	}

	// sessions: alice's two, soonest expiry first; JSON the same.
	code, out, errOut := runCmd(t, args("sessions", "-user", "alice")...)
	if !s.index {
		if code != exitFailed || !strings.Contains(errOut, "user index") {
			t.Errorf("sessions without a user index: exit %d, %q; want 1 and a reason", code, errOut)
		}
	} else {
		if code != exitOK || !strings.Contains(out, `user "alice": 2 live sessions`) ||
			!strings.Contains(out, alice[0]) || strings.Index(out, alice[0]) > strings.Index(out, alice[1]) || strings.Contains(out, bob) {
			t.Errorf("sessions -user alice: exit %d\n%s%s", code, out, errOut)
		}
		code, out, _ = runCmd(t, args("sessions", "-user", "alice", "-json")...)
		var got struct {
			User     string
			Sessions []sessionInfo
			More     int
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitOK || len(got.Sessions) != 2 ||
			got.Sessions[0].Key != alice[0] || got.Sessions[1].Key != alice[1] || got.Sessions[0].Bytes == 0 ||
			time.Until(got.Sessions[0].Expires) < 50*time.Minute || time.Until(got.Sessions[0].Expires) > time.Hour {
			t.Errorf("sessions -json: exit %d, %v\n%s", code, err, out)
		}
		if code, out, _ = runCmd(t, args("sessions", "-user", "alice", "-limit", "1")...); code != exitOK ||
			!strings.Contains(out, "2 live sessions") || !strings.Contains(out, "and 1 more") || strings.Contains(out, alice[1]) {
			t.Errorf("sessions -limit 1: exit %d\n%s", code, out)
		}
		if code, _, errOut = runCmd(t, args("sessions", "-user", "nobody")...); code != exitNothing {
			t.Errorf("sessions of a user without sessions: exit %d, %q; want 3", code, errOut)
		}
	}

	// show: keys and sizes, the user, no values unless asked.
	code, out, errOut = runCmd(t, args("show", alice[0])...)
	if code != exitOK || !strings.Contains(out, "user     alice") || !strings.Contains(out, "3 keys") ||
		!strings.Contains(out, "address") || !strings.Contains(out, "16 B") || strings.Contains(out, "Secret") {
		t.Errorf("show: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCmd(t, args("show", "-values", alice[0])...)
	if code != exitOK || !strings.Contains(out, `"12 Secret Lane"`) || !strings.Contains(out, "[1,2,3]") {
		t.Errorf("show -values: exit %d\n%s", code, out)
	}
	code, out, _ = runStdin(t, anon+"\n", args("show", "-json", "-")...)
	var shown sessionInfo
	if err := json.Unmarshal([]byte(out), &shown); err != nil || code != exitOK || shown.Key != anon || shown.User != "" ||
		len(shown.Keys) != 2 || shown.Keys[0].Name != "address" || shown.Keys[0].Value != nil || shown.Keys[1].Bytes != len("[1,2,3]") {
		t.Errorf("show -json of stdin's key: exit %d, %v\n%s", code, err, out)
	}
	missing, _ := core.NewKey()
	if code, _, errOut = runCmd(t, args("show", missing)...); code != exitNothing || !strings.Contains(errOut, "no live session") {
		t.Errorf("show of a missing key: exit %d, %q; want 3", code, errOut)
	}

	// revoke one key, then the same key again, then keys from stdin.
	if code, out, _ = runCmd(t, args("revoke", alice[1])...); code != exitOK || !strings.Contains(out, "revoked session "+alice[1]+" (user alice)") {
		t.Errorf("revoke: exit %d %q", code, out)
	}
	if _, err := s.st.Load(context.Background(), alice[1]); err == nil {
		t.Errorf("revoked session %s still loads", alice[1])
	}
	if code, out, _ = runCmd(t, args("revoke", alice[1])...); code != exitNothing || !strings.Contains(out, "no live session") {
		t.Errorf("revoke of a revoked session: exit %d %q; want 3", code, out)
	}
	if code, out, errOut = runStdin(t, anon+"\n\n"+missing+"\n", args("revoke", "-")...); code != exitNothing ||
		!strings.Contains(out, "revoked session "+anon+"\n") || !strings.Contains(errOut, "1 of 2 keys named no live session") {
		t.Errorf("revoke - with one missing key: exit %d\n%s%s", code, out, errOut)
	}

	// revoke -user: alice's remaining session goes, bob's stays.
	code, out, errOut = runCmd(t, args("revoke", "-user", "alice")...)
	if !s.index {
		if code != exitFailed {
			t.Errorf("revoke -user without a user index: exit %d, %q; want 1", code, errOut)
		}
		return
	}
	if code != exitOK || !strings.Contains(out, "revoked 1 session of user \"alice\"") || !strings.Contains(out, alice[0]) {
		t.Errorf("revoke -user alice: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := s.st.Load(context.Background(), alice[0]); err == nil {
		t.Errorf("alice's session %s still loads", alice[0])
	}
	if _, err := s.st.Load(context.Background(), bob); err != nil {
		t.Errorf("bob's session: %v", err)
	}
	if code, _, _ = runCmd(t, args("revoke", "-user", "alice")...); code != exitNothing {
		t.Errorf("second revoke -user alice: exit %d, want 3", code)
	}
	if code, _, _ = runCmd(t, args("sessions", "-user", "alice")...); code != exitNothing {
		t.Errorf("sessions of alice after revoke -user: exit %d, want 3", code)
	}
}

func openSQLite(t *testing.T, opts ...gormstore.Option) (string, *gormstore.Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlitedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := gormstore.New(context.Background(), db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return path, st
}

func TestOperateGorm(t *testing.T) {
	t.Run("user index", func(t *testing.T) {
		path, st := openSQLite(t, gormstore.WithUserIndex())
		testOperate(t, seeded{flags: []string{"-dsn", path}, st: st, index: true})
	})
	// Without the application's user index, sessions and revoke -user say
	// so, and the command creates no table.
	t.Run("no user index", func(t *testing.T) {
		path, st := openSQLite(t)
		testOperate(t, seeded{flags: []string{"-dsn", path}, st: st})
		db, err := sqlitedb.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if db.Migrator().HasTable(gormstore.DefaultTableName + gormstore.UserTableSuffix) {
			t.Error("the command created the user table")
		}
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
}

func TestOperateFile(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := runCmd(t, "stats", "-store", "file", "-dir", dir)
	if code != exitOK {
		t.Fatal(errOut)
	}
	st := fileStore(t, dir)
	testOperate(t, seeded{flags: []string{"-store", "file", "-dir", dir}, st: st})
}

// TestOperateMemcached: show and revoke find sessions only with the
// application's placement (-distribution) over three servers.
func TestOperateMemcached(t *testing.T) {
	testenv.Short(t, "memcached")
	_, addrs := memcachedtest.StartN(t, 3)
	servers := strings.Join(addrs, ",")
	st := memcachedtest.Open(t, addrs, memcachestore.WithDistribution("ketama"))
	testOperate(t, seeded{flags: []string{"-store", "memcached", "-servers", servers, "-distribution", "ketama"}, st: st})

	found := 0
	const n = 30
	for range n {
		key, _ := core.NewKey()
		if err := st.Save(context.Background(), core.Record{Key: key, Data: []byte(`{}`), Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
			t.Fatal(err)
		}
		if code, _, _ := runCmd(t, "show", "-store", "memcached", "-servers", servers, key); code == exitOK {
			found++
		}
	}
	if found == n {
		t.Errorf("with the default distribution the command found all %d sessions the application placed with ketama", n)
	}
}

func TestOperateRedis(t *testing.T) {
	addr := redistest.Addr(t)
	const db = redistest.DB
	client := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	t.Cleanup(func() { client.Close() })
	st, prefix := redisStore(t, client)
	flags := []string{"-store", "redis", "-redis", addr, "-redis-db", strconv.Itoa(db), "-prefix", prefix}
	testOperate(t, seeded{flags: flags, st: st, index: true})

	code, out, errOut := runCmd(t, append([]string{"stats"}, flags...)...)
	if code != exitOK || !strings.Contains(out, "eviction policy") || !strings.Contains(out, fmt.Sprintf("db%d", db)) {
		t.Errorf("stats: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ = runCmd(t, append([]string{"clearsessions"}, flags...)...); code != exitOK || !strings.Contains(out, "Redis expires sessions by itself") {
		t.Errorf("clearsessions: exit %d %q", code, out)
	}
	// A server that is not there: exit 1, quickly.
	port, _ := testenv.FreePort()
	start := time.Now()
	code, _, errOut = runCmd(t, "show", "-store", "redis", "-redis", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "abcdefgh12")
	if code != exitFailed || time.Since(start) > 5*time.Second {
		t.Errorf("show on a dead server: exit %d after %v, %q; want 1 within seconds", code, time.Since(start), errOut)
	}
}

// TestOperateRedisCluster: the same commands on a three-master Cluster,
// reached through one node (-redis-cluster) or all three; stats reports
// every master.
func TestOperateRedisCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 5*time.Second)
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs})
	t.Cleanup(func() { client.Close() })
	st, prefix := redisStore(t, client)
	testOperate(t, seeded{flags: []string{"-store", "redis", "-redis", cl.Addrs[0], "-redis-cluster", "-prefix", prefix}, st: st, index: true})
	code, out, errOut := runCmd(t, "stats", "-store", "redis", "-redis", strings.Join(cl.Addrs, ","))
	if code != exitOK || strings.Count(out, "eviction policy") != 3 {
		t.Errorf("stats on the Cluster: exit %d, want a report per master\n%s%s", code, out, errOut)
	}
}

// TestOperateRedisSentinel: the same commands through three Sentinels
// (-redis-master).
func TestOperateRedisSentinel(t *testing.T) {
	sn := redistest.StartSentinels(t)
	client := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: redistest.SentinelName, SentinelAddrs: sn.Addrs})
	t.Cleanup(func() { client.Close() })
	st, prefix := redisStore(t, client)
	flags := []string{"-store", "redis", "-redis", strings.Join(sn.Addrs, ","), "-redis-master", redistest.SentinelName, "-prefix", prefix}
	testOperate(t, seeded{flags: flags, st: st, index: true})
	code, out, errOut := runCmd(t, append([]string{"stats"}, flags...)...)
	if code != exitOK || !strings.Contains(out, "redis "+sn.Master.Addr()) {
		t.Errorf("stats through Sentinel: exit %d, want the master's report\n%s%s", code, out, errOut)
	}
}

// TestOperateCached: with memcached in front of the database (the
// application's cachedstore), revoke through -store cached removes the
// application's cached copy too: the application's own store, whose cache
// held the session, no longer loads it.
func TestOperateCached(t *testing.T) {
	testenv.Short(t, "memcached")
	mc := memcachedtest.Start(t)
	path, db := openSQLite(t, gormstore.WithUserIndex())
	cache := memcachedtest.Open(t, []string{mc.Addr()}, memcachestore.WithPrefix("cmdtest:"))
	app, err := cachedstore.New(cache, db)
	if err != nil {
		t.Fatal(err)
	}
	flags := []string{"-store", "cached", "-dsn", path, "-servers", mc.Addr(), "-prefix", "cmdtest:"}
	testOperate(t, seeded{flags: flags, st: app, index: true})

	code, out, errOut := runCmd(t, append([]string{"stats"}, flags...)...)
	if code != exitOK || !strings.Contains(out, "live sessions") {
		t.Errorf("stats through the cache: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut = runCmd(t, append([]string{"clearsessions"}, flags...)...); code != exitOK || !strings.Contains(out, "deleted 0 expired sessions") {
		t.Errorf("clearsessions through the cache: exit %d\n%s%s", code, out, errOut)
	}
}

// redisStore returns a store over c under a prefix of the test's own,
// whose keys are deleted when the test ends.
func redisStore(t *testing.T, c redis.UniversalClient) (*redisstore.Store, string) {
	t.Helper()
	prefix := fmt.Sprintf("cloakroom-cmd-test-%d:", time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		drop := func(ctx context.Context, n redis.UniversalClient) error {
			keys, err := n.Keys(ctx, prefix+"*").Result()
			if err == nil && len(keys) > 0 {
				err = n.Del(ctx, keys...).Err()
			}
			return err
		}
		if cc, ok := c.(*redis.ClusterClient); ok {
			_ = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return drop(ctx, n) })
		} else {
			_ = drop(ctx, c)
		}
	})
	st, err := redisstore.New(c, redisstore.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return st, prefix
}

// TestShowDjangoCodec: sessions in Django's signed format show with
// -codec django and the SECRET_KEY from the environment.
func TestShowDjangoCodec(t *testing.T) {
	const secret = "django-insecure-operator-test-secret-key-0123456789"
	path, st := openSQLite(t)
	codec, err := djangocodec.New(secret)
	if err != nil {
		t.Fatal(err)
	}
	data, err := codec.Encode(map[string]json.RawMessage{"_auth_user_id": json.RawMessage(`"7"`), "theme": json.RawMessage(`"dark"`)})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := core.NewKey()
	if err := st.Save(context.Background(), core.Record{Key: key, Data: data, Expiry: time.Now().Add(time.Hour)}, core.Create); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCmd(t, "show", "-dsn", path, key); code != exitFailed || !strings.Contains(errOut, "does not decode with -codec json") || !strings.Contains(out, "stored") {
		t.Errorf("show -codec json of a Django session: exit %d\n%s%s", code, out, errOut)
	}
	t.Setenv(djangoSecretEnv, "")
	if code, _, errOut := runCmd(t, "show", "-codec", "django", "-dsn", path, key); code != exitUsage || !strings.Contains(errOut, djangoSecretEnv) {
		t.Errorf("show -codec django without the secret: exit %d %q; want 2", code, errOut)
	}
	t.Setenv(djangoSecretEnv, secret)
	if code, out, errOut := runCmd(t, "show", "-codec", "django", "-values", "-dsn", path, key); code != exitOK ||
		!strings.Contains(out, "user     7") || !strings.Contains(out, `"dark"`) {
		t.Errorf("show -codec django: exit %d\n%s%s", code, out, errOut)
	}
}

func TestUntil(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                "expired",
		90 * time.Second:            "1m30s",
		2*time.Hour + 5*time.Minute: "2h5m",
		50 * time.Hour:              "2d2h",
	} {
		if got := until(d); got != want {
			t.Errorf("until(%v) = %q, want %q", d, got, want)
		}
	}
}

func fileStore(t *testing.T, dir string) core.Store {
	t.Helper()
	st, err := filestore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestRedisPassword: the password comes from $REDIS_PASSWORD, not a flag.
func TestRedisPassword(t *testing.T) {
	srv := redistest.Start(t, func(int, string) []string { return []string{"--requirepass", "s3cret-for-test"} })
	args := []string{"stats", "-store", "redis", "-redis", srv.Addr()}
	t.Setenv(redisPasswordEnv, "")
	if code, _, errOut := runCmd(t, args...); code != exitFailed || !strings.Contains(errOut, "NOAUTH") {
		t.Errorf("without the password: exit %d %q; want 1 and NOAUTH", code, errOut)
	}
	t.Setenv(redisPasswordEnv, "s3cret-for-test")
	if code, out, errOut := runCmd(t, args...); code != exitOK || !strings.Contains(out, "eviction policy") {
		t.Errorf("with $%s: exit %d\n%s%s", redisPasswordEnv, code, out, errOut)
	}
}

// TestRedisTLS: -redis-tls verifies the server's certificate, against
// -redis-ca's authorities when given: a Redis with a certificate of a
// private authority is refused without -redis-ca and reached with it.
func TestRedisTLS(t *testing.T) {
	dir := t.TempDir()
	caPEM, certPEM, keyPEM := testCertificates(t)
	for name, b := range map[string][]byte{"ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tlsPort, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	redistest.Start(t, func(int, string) []string {
		return []string{"--tls-port", strconv.Itoa(tlsPort), "--tls-cert-file", filepath.Join(dir, "cert.pem"),
			"--tls-key-file", filepath.Join(dir, "key.pem"), "--tls-ca-cert-file", filepath.Join(dir, "ca.pem"), "--tls-auth-clients", "no"}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort))
	if code, _, errOut := runCmd(t, "stats", "-store", "redis", "-redis", addr, "-redis-tls"); code != exitFailed || !strings.Contains(errOut, "certificate") {
		t.Errorf("-redis-tls without the private authority: exit %d %q; want 1, a certificate error", code, errOut)
	}
	if code, out, errOut := runCmd(t, "stats", "-store", "redis", "-redis", addr, "-redis-ca", filepath.Join(dir, "ca.pem")); code != exitOK || !strings.Contains(out, "eviction policy") {
		t.Errorf("-redis-ca: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCmd(t, "stats", "-store", "redis", "-redis", addr, "-redis-ca", filepath.Join(dir, "key.pem")); code != exitUsage {
		t.Errorf("-redis-ca of a file without certificates: exit %d %q; want 2", code, errOut)
	}
}

// testCertificates makes a certificate authority and a certificate it
// signs for 127.0.0.1, in PEM.
func testCertificates(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cloakroom test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
