package djangotest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"gorm.io/gorm"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/djangocodec"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/internal/testenv"
	"github.com/cloakroom/cloakroom/memcachestore"
)

// cookieAge is SESSION_COOKIE_AGE on both sides: not Django's default, so a
// side that falls back to its own default shows.
const cookieAge = 2 * time.Hour

// The user the matrix logs in, created through Django.
const (
	username = "alice"
	password = "pw"
)

// backendSpec is one SESSION_ENGINE and the Go store that shares it.
type backendSpec struct {
	name   string
	engine string                      // DJ_ENGINE
	db     func(t *testing.T) database // Django's database (users live there for every engine)
	cache  bool                        // Django's default cache is a fresh memcached
	prefix string                      // the cache's KEY_PREFIX
	ver    int                         // the cache's VERSION (0: Django's default, 1)
	server bool                        // sessions live on the server: a cycled, flushed or logged-out key is gone for good
	goMgr  func(r *rig, cfg core.Config) (*core.Manager, error)
	tamper func(t *testing.T, r *rig, cookie string) string // corrupts the stored session; returns the cookie to send
	// datetimeExpiry: Django 3.2 stores set_expiry(datetime) (it pickles the
	// cache entry); with its JSON serializer it raises TypeError instead.
	datetimeExpiry bool
}

// rig is one backend's pair of running apps.
type rig struct {
	t        *testing.T // the backend's test, for cleanups
	spec     backendSpec
	django   string   // Django's base URL
	goURL    string   // the Go app's base URL
	db       *gorm.DB // Django's database
	mc       *memcache.Client
	mcAddr   string
	mcPrefix string // what Django puts before a session key in memcached
	userID   string
	pwHash   string // auth_user.password
}

func backends() []backendSpec {
	dbMgr := func(r *rig, cfg core.Config) (*core.Manager, error) {
		codec, err := djangocodec.New(secret, djangocodec.WithVersion(djangocodec.Django32))
		if err != nil {
			return nil, err
		}
		st, err := gormstore.New(context.Background(), r.db, gormstore.WithoutMigration())
		if err != nil {
			return nil, err
		}
		r.t.Cleanup(func() { _ = st.Close() })
		cfg.Codec = codec
		return core.New(st, cfg)
	}
	return []backendSpec{
		{name: "db-sqlite", engine: "db", db: sqliteDB, server: true, goMgr: dbMgr, tamper: tamperRow},
		{name: "db-postgres", engine: "db", db: postgresDB, server: true, goMgr: dbMgr, tamper: tamperRow},
		{name: "db-mysql", engine: "db", db: mysqlDB, server: true, goMgr: dbMgr, tamper: tamperRow},
		{name: "signed_cookies", engine: "signed_cookies", db: sqliteDB, tamper: tamperCookie,
			goMgr: func(r *rig, cfg core.Config) (*core.Manager, error) {
				cs, err := djangocodec.NewCookieStore(secret, cfg.CookieAge, djangocodec.WithVersion(djangocodec.Django32))
				if err != nil {
					return nil, err
				}
				return core.NewWithCookieStore(cs, cfg)
			}},
		{name: "cached_db", engine: "cached_db", db: sqliteDB, cache: true, prefix: "shop", ver: 3, server: true, tamper: tamperCachedDB,
			goMgr: func(r *rig, cfg core.Config) (*core.Manager, error) {
				codec, err := djangocodec.New(secret, djangocodec.WithVersion(djangocodec.Django32))
				if err != nil {
					return nil, err
				}
				db, err := gormstore.New(context.Background(), r.db, gormstore.WithoutMigration())
				if err != nil {
					return nil, err
				}
				r.t.Cleanup(func() { _ = db.Close() })
				cf, err := djangocodec.NewCacheFormat(codec)
				if err != nil {
					return nil, err
				}
				st, err := cachedstore.New(r.djangoCache(cf, djangocodec.CachedDBBackend), db, cachedstore.WithUnstampedEntries(), cachedstore.WithLogger(cfg.Logger))
				if err != nil {
					return nil, err
				}
				cfg.Codec = codec
				return core.New(st, cfg)
			}},
		{name: "cache", engine: "cache", db: sqliteDB, cache: true, server: true, tamper: tamperCache, datetimeExpiry: true,
			goMgr: func(r *rig, cfg core.Config) (*core.Manager, error) {
				cf, err := djangocodec.NewCacheFormat(nil, djangocodec.WithVersion(djangocodec.Django32))
				if err != nil {
					return nil, err
				}
				return core.New(r.djangoCache(cf, djangocodec.CacheBackend), cfg)
			}},
	}
}

// djangoCache returns a store on the rig's memcached that keeps entries as
// Django's backend does: its key layout (KEY_PREFIX:VERSION:backend module)
// and the value format cf.
func (r *rig) djangoCache(cf *djangocodec.CacheFormat, backend string) *memcachestore.Store {
	return memcachedtest.Open(r.t, []string{r.mcAddr},
		memcachestore.WithPrefix(djangocodec.CacheKeyPrefix(r.spec.prefix, max(r.spec.ver, 1), backend)),
		memcachestore.WithValueFormat(cf))
}

// TestDjangoHTTPInterop serves a real Django (Debian's python3-django under
// /usr/bin/python3) and a Go app on 127.0.0.1, sharing one session cookie
// through one cookie jar, and checks every operation in both directions on
// every session backend: what one side writes, the other reads at once.
// Subtests are backend/direction/operation.
func TestDjangoHTTPInterop(t *testing.T) {
	requireDjango(t)
	for _, spec := range backends() {
		t.Run(spec.name, func(t *testing.T) {
			t.Parallel()
			r := setUp(t, spec)
			for _, dir := range []string{"django_to_go", "go_to_django"} {
				for _, op := range ops {
					if e, ok := onlyEngine[op.name]; ok && e != spec.engine {
						continue
					}
					t.Run(dir+"/"+op.name, func(t *testing.T) {
						c := newCell(t, r, dir)
						op.run(c)
					})
				}
			}
		})
	}
}

// setUp migrates Django's database, starts both apps and creates the user.
func setUp(t *testing.T, spec backendSpec) *rig {
	t.Helper()
	d := spec.db(t)
	r := &rig{t: t, spec: spec, db: d.db}
	settings := map[string]string{
		"DJ_SECRET":     secret,
		"DJ_ENGINE":     spec.engine,
		"DJ_COOKIE_AGE": strconv.Itoa(int(cookieAge / time.Second)),
	}
	for k, v := range d.settings {
		settings[k] = v
	}
	if spec.cache {
		requirePython(t, "pylibmc", "python3-pylibmc")
		addr := memcachedtest.Start(t).Addr()
		r.mcAddr = addr
		settings["DJ_CACHE_LOCATION"] = addr
		settings["DJ_KEY_PREFIX"] = spec.prefix
		ver := max(spec.ver, 1)
		settings["DJ_CACHE_VERSION"] = strconv.Itoa(ver)
		r.mc = memcache.New(addr)
		// Django's make_key is KEY_PREFIX:VERSION:key, and the session
		// backends' key is their module path followed by the session key.
		r.mcPrefix = fmt.Sprintf("%s:%d:django.contrib.sessions.%s", spec.prefix, ver, spec.engine)
	}
	env := djangoEnv(settings)
	manage(t, env, "migrate", "--noinput", "-v0")
	r.django = startDjango(t, env)

	var u struct{ ID string }
	if err := getJSON(r.django+"/setup-user?"+url.Values{"u": {username}, "p": {password}}.Encode(), &u); err != nil {
		t.Fatal(err)
	}
	r.userID = u.ID
	if err := r.db.Raw("SELECT password FROM auth_user WHERE id = ?", u.ID).Row().Scan(&r.pwHash); err != nil {
		t.Fatalf("reading auth_user.password: %v", err)
	}

	logs := new(testenv.Buffer)
	cfg := core.DefaultConfig()
	cfg.CookieAge = cookieAge
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	cfg.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		writeError(w, http.StatusInternalServerError, err)
	}
	m, err := spec.goMgr(r, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(goApp()))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() && logs.String() != "" {
			t.Logf("the Go app's log:\n%s", tail(logs.String(), 100))
		}
	})
	r.goURL = srv.URL
	return r
}

func getJSON(u string, dst any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s\n%s", u, resp.Status, body)
	}
	return json.Unmarshal(body, dst)
}

// state is what both apps answer: the session after the request's
// operation, in the shape of the Django view.
type state struct {
	Items        map[string]json.RawMessage `json:"items"`
	ExpiryAge    json.RawMessage            `json:"expiry_age"` // a number, unless Django returns the stored string
	BrowserClose bool                       `json:"browser_close"`
	Key          string                     `json:"key"`
	Auth         bool                       `json:"auth"`
	User         string                     `json:"user"`
	UserID       string                     `json:"user_id"`
}

// errorBody is what the Go app answers when an operation or the commit
// fails.
type errorBody struct {
	Error           string `json:"error"`
	Unrepresentable bool   `json:"unrepresentable"`
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: err.Error(), Unrepresentable: unrepresentable(err)})
}

// goApp is the Go side of the matrix: the Django app's endpoints over
// cloakroom.
func goApp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := core.FromContext(r.Context())
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		q := r.URL.Query()
		switch r.URL.Path {
		case "/state":
		case "/set":
			err = s.Set(q.Get("k"), json.RawMessage(q.Get("v")))
		case "/delete":
			err = s.Delete(q.Get("k"))
		case "/cycle":
			err = s.CycleKey()
		case "/flush", "/logout":
			err = s.Flush()
		case "/login":
			err = djangocodec.Login(s, secret, q.Get("id"), djangocodec.ModelBackend, q.Get("hash"))
		case "/expiry":
			if at := q.Get("at"); at != "" {
				var t time.Time
				if t, err = time.Parse(time.RFC3339, at); err == nil {
					err = s.SetExpiryAt(t)
				}
			} else {
				var n int
				if n, err = strconv.Atoi(q.Get("seconds")); err == nil {
					err = s.SetExpiry(time.Duration(n) * time.Second)
				}
			}
		default:
			http.NotFound(w, r)
			return
		}
		if err == nil {
			err = s.Err()
		}
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		st := state{Items: map[string]json.RawMessage{}, Key: s.Key(), BrowserClose: s.ExpireAtBrowserClose()}
		for _, k := range s.Keys() {
			var raw json.RawMessage
			if _, err := s.Get(k, &raw); err != nil {
				writeError(w, http.StatusInternalServerError, err)
				return
			}
			st.Items[k] = raw
		}
		st.ExpiryAge = strconv.AppendInt(nil, int64(s.ExpiryAge()/time.Second), 10)
		if st.UserID, st.Auth, err = djangocodec.UserID(s); err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
}

// side is one of the two apps.
type side struct {
	name string // "Django" or "Go"
	base string
}

// cell is one backend/direction/operation: a fresh cookie jar shared by both
// apps (cookies are per host, not per port), w the side that writes and
// r the side that must read it.
type cell struct {
	t        *testing.T
	rig      *rig
	jar      *cookiejar.Jar
	hc       *http.Client
	w, r     side
	django   side
	goSide   side
	lastSets []string // the session cookie lines of the last response
}

func newCell(t *testing.T, r *rig, dir string) *cell {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &cell{t: t, rig: r, jar: jar, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second},
		django: side{"Django", r.django}, goSide: side{"Go", r.goURL}}
	c.w, c.r = c.django, c.goSide
	if dir == "go_to_django" {
		c.w, c.r = c.goSide, c.django
	}
	return c
}

// raw sends GET path to sd with the jar's cookies and returns the status
// and body.
func (c *cell) raw(sd side, path string) (int, []byte) {
	c.t.Helper()
	resp, err := c.hc.Get(sd.base + path)
	if err != nil {
		c.t.Fatalf("%s GET %s: %v", sd.name, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s GET %s: %v", sd.name, path, err)
	}
	c.lastSets = nil
	for _, line := range resp.Header.Values("Set-Cookie") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "sessionid=") {
			c.lastSets = append(c.lastSets, line)
		}
	}
	return resp.StatusCode, body
}

// get is raw for a request that must answer 200 with the state.
func (c *cell) get(sd side, path string) state {
	c.t.Helper()
	code, body := c.raw(sd, path)
	if code != 200 {
		c.t.Fatalf("%s GET %s: status %d, want 200\n%s", sd.name, path, code, tail(string(body), 20))
	}
	var st state
	if err := json.Unmarshal(body, &st); err != nil {
		c.t.Fatalf("%s GET %s: %v\n%s", sd.name, path, err, body)
	}
	return st
}

func (c *cell) state(sd side) state { c.t.Helper(); return c.get(sd, "/state") }

func setPath(k, jsonValue string) string {
	return "/set?" + url.Values{"k": {k}, "v": {jsonValue}}.Encode()
}

func (c *cell) loginPath(sd side) string {
	if sd == c.django {
		return "/login?" + url.Values{"u": {username}, "p": {password}}.Encode()
	}
	return "/login?" + url.Values{"id": {c.rig.userID}, "hash": {c.rig.pwHash}}.Encode()
}

// cookie returns the jar's session cookie for 127.0.0.1, or "".
func (c *cell) cookie() string {
	u, _ := url.Parse(c.rig.django)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == "sessionid" {
			return ck.Value
		}
	}
	return ""
}

// setCookie puts v in the jar as the session cookie (a replay).
func (c *cell) setCookie(v string) {
	u, _ := url.Parse(c.rig.django)
	c.jar.SetCookies(u, []*http.Cookie{{Name: "sessionid", Value: v, Path: "/"}})
}

// userItems returns the items whose keys do not start with "_" (Django's
// own), decoded.
func (c *cell) userItems(st state) map[string]any {
	c.t.Helper()
	out := map[string]any{}
	for k, raw := range st.Items {
		if strings.HasPrefix(k, "_") {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			c.t.Fatalf("item %q: %v", k, err)
		}
		out[k] = v
	}
	return out
}

// wantItems checks sd's state holds exactly want besides Django's own keys.
func (c *cell) wantItems(sd side, st state, want string) {
	c.t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		c.t.Fatal(err)
	}
	if got := c.userItems(st); !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		c.t.Errorf("%s sees items %s, want %s (state %+v)", sd.name, g, want, st)
	}
}

// wantAnonymousEmpty checks sd's state is an empty session with no user.
func (c *cell) wantAnonymousEmpty(sd side, st state, when string) {
	c.t.Helper()
	if st.Auth || st.UserID != "" || len(st.Items) != 0 {
		c.t.Errorf("%s, %s sees user %q (authenticated %v) and items %s; want an empty, anonymous session", when, sd.name, st.UserID, st.Auth, itemsJSON(st))
	}
}

func itemsJSON(st state) string { b, _ := json.Marshal(st.Items); return string(b) }

// wantAge checks the state's expiry age is want within a few seconds.
func (c *cell) wantAge(sd side, st state, want time.Duration) {
	c.t.Helper()
	got, err := strconv.ParseFloat(string(st.ExpiryAge), 64)
	if err != nil || math.Abs(got-want.Seconds()) > 3 {
		c.t.Errorf("%s sees an expiry age of %s s, want %v s", sd.name, st.ExpiryAge, want.Seconds())
	}
}

// cookieMaxAge returns the Max-Age of the last response's session cookie,
// and whether it had one (or Expires); fails when it set none.
func (c *cell) cookieMaxAge(sd side) (int, bool) {
	c.t.Helper()
	if len(c.lastSets) == 0 {
		c.t.Fatalf("%s set no session cookie", sd.name)
	}
	line := c.lastSets[len(c.lastSets)-1]
	age, has := 0, false
	for _, attr := range strings.Split(line, ";")[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(attr), "=")
		switch strings.ToLower(k) {
		case "max-age":
			age, _ = strconv.Atoi(v)
			has = true
		case "expires":
			has = true
		}
	}
	return age, has
}

// storedExpiry returns django_session.expire_date for key (db engines).
func (c *cell) storedExpiry(key string) time.Time {
	c.t.Helper()
	var t time.Time
	if err := c.rig.db.Raw("SELECT expire_date FROM django_session WHERE session_key = ?", key).Row().Scan(&t); err != nil {
		c.t.Fatalf("reading expire_date of %s: %v", key, err)
	}
	return t
}

// wantTTL checks, for the engines that keep sessions in memcached, that
// the entry of the jar's session expires in want (within a few seconds),
// as Django's cache timeout (get_expiry_age) makes it: who wrote it last.
func (c *cell) wantTTL(who side, want time.Duration) {
	c.t.Helper()
	if c.rig.mc == nil {
		return
	}
	key := c.rig.mcPrefix + c.cookie()
	conn, err := net.DialTimeout("tcp", c.rig.mcAddr, 2*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	// The meta get command (memcached 1.6) returns the remaining TTL.
	if _, err := fmt.Fprintf(conn, "mg %s t\r\n", key); err != nil {
		c.t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		c.t.Fatal(err)
	}
	f := strings.Fields(line)
	if len(f) != 2 || f[0] != "HD" || !strings.HasPrefix(f[1], "t") {
		c.t.Fatalf("memcached mg %s t: %q", key, line)
	}
	ttl, err := strconv.Atoi(f[1][1:])
	if err != nil || math.Abs(float64(ttl)-want.Seconds()) > 5 {
		c.t.Errorf("after %s's save the memcached entry expires in %s s, want %.0f s", who.name, f[1][1:], want.Seconds())
	}
}

func (c *cell) hasDBRow() bool { return c.rig.spec.engine == "db" || c.rig.spec.engine == "cached_db" }

// replayOld sends the old cookie value to both apps: each must see an
// empty, anonymous session. The jar keeps cur afterwards.
func (c *cell) replayOld(old, cur, what string) {
	c.t.Helper()
	for _, sd := range []side{c.r, c.w} {
		c.setCookie(old)
		c.wantAnonymousEmpty(sd, c.state(sd), "replaying the cookie from before the "+what)
	}
	c.setCookie(cur)
}

type op struct {
	name string
	run  func(c *cell)
}

// onlyEngine names the ops that apply to one engine only.
var onlyEngine = map[string]string{"corrupt_cache_entry": "cached_db"}

const greeting = `{"text":"héllo ✓ \"quoted\" <tag>","n":[1,2.5,-3],"ok":true,"none":null,"nested":{"a":{"b":[]}}}`

var ops = []op{
	{"set", func(c *cell) {
		c.get(c.w, setPath("greeting", greeting))
		if c.cookie() == "" {
			c.t.Fatalf("%s set no session cookie", c.w.name)
		}
		st := c.state(c.r)
		c.wantItems(c.r, st, `{"greeting":`+greeting+`}`)
		c.wantAge(c.r, st, cookieAge)
		c.wantTTL(c.w, cookieAge)
		if c.rig.spec.server && st.Key != c.cookie() {
			c.t.Errorf("%s reports the session key %q, the cookie is %q", c.r.name, st.Key, c.cookie())
		}
		if st.BrowserClose {
			c.t.Errorf("%s sees a browser-close session", c.r.name)
		}
	}},
	{"modify", func(c *cell) {
		c.get(c.r, setPath("n", "1"))
		c.get(c.r, setPath("keep", `"k"`))
		before := c.cookie()
		c.get(c.w, setPath("n", `{"v":2}`))
		if c.rig.spec.server && c.cookie() != before {
			c.t.Errorf("%s changed the session key on a plain update: %q -> %q", c.w.name, before, c.cookie())
		}
		c.wantItems(c.r, c.state(c.r), `{"n":{"v":2},"keep":"k"}`)
	}},
	{"delete", func(c *cell) {
		c.get(c.r, setPath("a", "1"))
		c.get(c.r, setPath("b", "2"))
		c.wantItems(c.w, c.get(c.w, "/delete?k=a"), `{"b":2}`)
		c.wantItems(c.r, c.state(c.r), `{"b":2}`)
	}},
	{"cycle_key", func(c *cell) {
		c.get(c.r, setPath("cart", "[1]"))
		old := c.cookie()
		c.get(c.w, "/cycle")
		cur := c.cookie()
		if cur == "" || (c.rig.spec.server && cur == old) {
			c.t.Fatalf("%s's cycle_key left the cookie %q (was %q)", c.w.name, cur, old)
		}
		c.wantItems(c.r, c.state(c.r), `{"cart":[1]}`)
		if c.rig.spec.server {
			c.replayOld(old, cur, "cycle")
			c.wantItems(c.r, c.state(c.r), `{"cart":[1]}`)
		}
	}},
	{"flush", func(c *cell) {
		c.get(c.r, setPath("cart", "[1]"))
		old := c.cookie()
		c.wantAnonymousEmpty(c.w, c.get(c.w, "/flush"), "after the flush")
		if v := c.cookie(); v != "" {
			c.t.Errorf("%s's flush left the cookie %q", c.w.name, v)
		}
		c.wantAnonymousEmpty(c.r, c.state(c.r), "after the flush")
		if c.rig.spec.server {
			c.replayOld(old, "", "flush")
		}
	}},
	{"login", func(c *cell) {
		c.get(c.r, setPath("cart", "[1]"))
		old := c.cookie()
		c.get(c.w, c.loginPath(c.w))
		cur := c.cookie()
		if c.rig.spec.server && (cur == old || cur == "") {
			c.t.Errorf("%s's login did not cycle the key: %q -> %q", c.w.name, old, cur)
		}
		st := c.state(c.r)
		if !st.Auth || st.UserID != c.rig.userID {
			c.t.Fatalf("%s sees user %q (authenticated %v) after %s's login; want %s, items %s", c.r.name, st.UserID, st.Auth, c.w.name, c.rig.userID, itemsJSON(st))
		}
		if c.r == c.django && st.User != username {
			c.t.Errorf("Django sees username %q", st.User)
		}
		if string(st.Items[djangocodec.UserBackendKey]) != `"`+djangocodec.ModelBackend+`"` || len(st.Items[djangocodec.UserHashKey]) == 0 {
			c.t.Errorf("%s sees the auth keys %s", c.r.name, itemsJSON(st))
		}
		c.wantItems(c.r, st, `{"cart":[1]}`)
		if c.rig.spec.server {
			c.replayOld(old, cur, "login")
		}
		// The other side's own view of the login agrees.
		if st := c.state(c.w); !st.Auth || st.UserID != c.rig.userID {
			c.t.Errorf("%s no longer sees its own login: %+v", c.w.name, st)
		}
	}},
	{"logout", func(c *cell) {
		c.get(c.r, c.loginPath(c.r))
		c.get(c.r, setPath("cart", "[1]"))
		old := c.cookie()
		if st := c.state(c.w); !st.Auth || st.UserID != c.rig.userID {
			c.t.Fatalf("%s does not see %s's login: %+v", c.w.name, c.r.name, st)
		}
		c.wantAnonymousEmpty(c.w, c.get(c.w, "/logout"), "after the logout")
		if v := c.cookie(); v != "" {
			c.t.Errorf("%s's logout left the cookie %q", c.w.name, v)
		}
		c.wantAnonymousEmpty(c.r, c.state(c.r), "after the logout")
		if c.rig.spec.server {
			c.replayOld(old, "", "logout")
		} else {
			c.t.Log("signed_cookies: the old cookie still logs in on both sides (Django's documented limit: a cookie session cannot be revoked)")
		}
	}},
	{"expiry_seconds", func(c *cell) {
		c.get(c.w, setPath("a", "1"))
		c.wantAge(c.w, c.get(c.w, "/expiry?seconds=300"), 300*time.Second)
		if age, ok := c.cookieMaxAge(c.w); !ok || age < 297 || age > 300 {
			c.t.Errorf("%s's cookie has Max-Age %d (set %v), want 300: %q", c.w.name, age, ok, c.lastSets)
		}
		if c.hasDBRow() {
			if d := time.Until(c.storedExpiry(c.cookie())); d < 295*time.Second || d > 302*time.Second {
				c.t.Errorf("%s stored an expire_date %v from now, want 300 s", c.w.name, d)
			}
		}
		c.wantTTL(c.w, 300*time.Second)
		st := c.state(c.r)
		c.wantAge(c.r, st, 300*time.Second)
		if st.BrowserClose {
			c.t.Errorf("%s sees a browser-close session", c.r.name)
		}
		// The reader's own save keeps the relative expiry.
		c.get(c.r, setPath("b", "2"))
		if age, ok := c.cookieMaxAge(c.r); !ok || age < 297 || age > 300 {
			c.t.Errorf("%s's cookie after its own save has Max-Age %d (set %v), want 300: %q", c.r.name, age, ok, c.lastSets)
		}
		c.wantTTL(c.r, 300*time.Second)
		if c.hasDBRow() {
			if d := time.Until(c.storedExpiry(c.cookie())); d < 295*time.Second || d > 302*time.Second {
				c.t.Errorf("%s stored an expire_date %v from now, want 300 s", c.r.name, d)
			}
		}
		c.wantAge(c.w, c.state(c.w), 300*time.Second)
	}},
	{"expiry_datetime", func(c *cell) {
		c.get(c.w, setPath("a", "1"))
		at := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
		code, body := c.raw(c.w, "/expiry?"+url.Values{"at": {at.Format("2006-01-02T15:04:05+00:00")}}.Encode())
		switch {
		case c.rig.spec.datetimeExpiry:
			if code != 200 {
				c.t.Fatalf("%s set_expiry(datetime): status %d\n%s", c.w.name, code, tail(string(body), 20))
			}
			c.wantTTL(c.w, time.Until(at))
			st := c.state(c.r)
			c.wantAge(c.r, st, time.Until(at)) // counted from each request, not from the set_expiry
			c.wantItems(c.r, st, `{"a":1}`)
			// The reader's own save keeps the absolute expiry.
			c.get(c.r, setPath("b", "2"))
			c.wantTTL(c.r, time.Until(at))
			c.wantAge(c.w, c.state(c.w), time.Until(at))
		case c.w == c.django:
			// Not applicable: Django 3.2's JSON serializer raises TypeError
			// on a datetime, so Django answers 500 and stores nothing.
			if code != 500 {
				c.t.Fatalf("Django set_expiry(datetime) on %s: status %d, want Django 3.2's 500 (TypeError)", c.rig.spec.engine, code)
			}
			c.t.Logf("n/a: Django 3.2 cannot set_expiry(datetime) on %s (500, TypeError); checking the session was left alone", c.rig.spec.engine)
			st := c.state(c.r)
			c.wantItems(c.r, st, `{"a":1}`)
			c.wantAge(c.r, st, cookieAge)
		default:
			// Go configured for Django 3.2 must refuse an expiry Django
			// 3.2 cannot read, and leave the stored session alone.
			var e errorBody
			_ = json.Unmarshal(body, &e)
			if code < 500 || !e.Unrepresentable {
				c.t.Errorf("Go SetExpiryAt for Django 3.2 on %s: status %d, body %s; want a 5xx from an error wrapping djangocodec.ErrUnrepresentable", c.rig.spec.engine, code, bytes.TrimSpace(body))
			} else {
				c.t.Logf("Go refused: %d %s", code, e.Error)
			}
			st := c.state(c.r)
			c.wantItems(c.r, st, `{"a":1}`)
			c.wantAge(c.r, st, cookieAge)
			c.wantAge(c.w, c.state(c.w), cookieAge)
		}
	}},
	{"expiry_browser_close", func(c *cell) {
		c.get(c.w, setPath("a", "1"))
		st := c.get(c.w, "/expiry?seconds=0")
		if !st.BrowserClose {
			c.t.Errorf("%s's own state after set_expiry(0) is not browser-close", c.w.name)
		}
		if _, ok := c.cookieMaxAge(c.w); ok {
			c.t.Errorf("%s's cookie after set_expiry(0) is not a browser-session cookie: %q", c.w.name, c.lastSets)
		}
		c.wantTTL(c.w, cookieAge) // Django's cache timeout is get_expiry_age()
		st = c.state(c.r)
		if !st.BrowserClose {
			c.t.Errorf("%s does not see a browser-close session: %+v", c.r.name, st)
		}
		c.wantAge(c.r, st, cookieAge) // get_expiry_age is SESSION_COOKIE_AGE
		c.get(c.r, setPath("b", "2"))
		if _, ok := c.cookieMaxAge(c.r); ok {
			c.t.Errorf("%s's cookie after its own save of a browser-close session is not a browser-session cookie: %q", c.r.name, c.lastSets)
		}
		if st := c.state(c.w); !st.BrowserClose {
			c.t.Errorf("%s no longer sees a browser-close session after %s's save", c.w.name, c.r.name)
		}
	}},
	{"tampered", func(c *cell) {
		c.get(c.w, c.loginPath(c.w))
		c.get(c.w, setPath("cart", "[1]"))
		sent := c.rig.spec.tamper(c.t, c.rig, c.cookie())
		for _, sd := range []side{c.r, c.w, c.r} {
			c.setCookie(sent)
			code, body := c.raw(sd, "/state")
			if code != 200 {
				c.t.Errorf("%s answers %d to a tampered session, want 200\n%s", sd.name, code, tail(string(body), 20))
				continue
			}
			var st state
			if err := json.Unmarshal(body, &st); err != nil {
				c.t.Fatal(err)
			}
			c.wantAnonymousEmpty(sd, st, "with the stored session tampered")
		}
	}},
}

// cachedDBOps apply to cached_db only: the row is the truth, the cache a
// copy that either side may find unreadable.
var cachedDBOps = []op{
	{"corrupt_cache_entry", func(c *cell) {
		c.get(c.w, c.loginPath(c.w))
		c.get(c.w, setPath("cart", "[1]"))
		tamperCacheEntry(c.t, c.rig, c.cookie())
		for _, sd := range []side{c.r, c.w, c.r} {
			st := c.state(sd)
			if !st.Auth || st.UserID != c.rig.userID {
				c.t.Errorf("%s, with the cache entry corrupt but the row intact, sees user %q (authenticated %v); want %s as in the row", sd.name, st.UserID, st.Auth, c.rig.userID)
			}
			c.wantItems(sd, st, `{"cart":[1]}`)
		}
	}},
}

func init() { ops = append(ops, cachedDBOps...) }

// flip changes one character in the middle of a signed value's signature
// (after the last ':'), so that the signature no longer matches.
func flip(signed string) (string, error) {
	i := strings.LastIndexByte(signed, ':')
	if i < 0 || len(signed)-i < 20 {
		return "", errors.New("not a signed value: " + signed)
	}
	j := i + 10
	b := []byte(signed)
	if b[j] == 'A' {
		b[j] = 'B'
	} else {
		b[j] = 'A'
	}
	return string(b), nil
}

// tamperRow changes the session_data of the cookie's row.
func tamperRow(t *testing.T, r *rig, key string) string {
	t.Helper()
	var data string
	if err := r.db.Raw("SELECT session_data FROM django_session WHERE session_key = ?", key).Row().Scan(&data); err != nil {
		t.Fatalf("reading session_data of %q: %v", key, err)
	}
	bad, err := flip(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.db.Exec("UPDATE django_session SET session_data = ? WHERE session_key = ?", bad, key).Error; err != nil {
		t.Fatal(err)
	}
	return key
}

// tamperCookie changes the signed cookie's signature.
func tamperCookie(t *testing.T, _ *rig, cookie string) string {
	t.Helper()
	bad, err := flip(cookie)
	if err != nil {
		t.Fatal(err)
	}
	return bad
}

// unrepresentable reports whether err says the configured Django version
// cannot store the session.
func unrepresentable(err error) bool { return errors.Is(err, djangocodec.ErrUnrepresentable) }

// tamperCacheEntry truncates the memcached entry Django reads for key, as
// a corrupt pickle: pylibmc's unpickling fails and Django's cache backends
// treat the entry as missing.
func tamperCacheEntry(t *testing.T, r *rig, key string) {
	t.Helper()
	it, err := r.mc.Get(r.mcPrefix + key)
	if err != nil {
		t.Fatalf("memcached entry %s%s: %v", r.mcPrefix, key, err)
	}
	it.Value = it.Value[:len(it.Value)/2]
	if err := r.mc.Set(it); err != nil {
		t.Fatal(err)
	}
}

// tamperCache corrupts the cache entry (SESSION_ENGINE cache).
func tamperCache(t *testing.T, r *rig, key string) string {
	tamperCacheEntry(t, r, key)
	return key
}

// tamperCachedDB corrupts both copies (SESSION_ENGINE cached_db): the
// cache entry, so that Django falls back to the row, and the row's
// signature.
func tamperCachedDB(t *testing.T, r *rig, key string) string {
	tamperCacheEntry(t, r, key)
	return tamperRow(t, r, key)
}
