package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/internal/testenv"

	scsredis "github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/bradfitz/gomemcache/memcache"
	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cookiestore"
	"github.com/cloakroom/cloakroom/core/filestore"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/core/observe"
	"github.com/cloakroom/cloakroom/echosession"
	"github.com/cloakroom/cloakroom/ginsession"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
	"github.com/cloakroom/cloakroom/memcachestore"
	"github.com/cloakroom/cloakroom/redisstore"
	gsessions "github.com/gin-contrib/sessions"
	gcookie "github.com/gin-contrib/sessions/cookie"
	ggorm "github.com/gin-contrib/sessions/gorm"
	gmemcached "github.com/gin-contrib/sessions/memcached"
	gredis "github.com/gin-contrib/sessions/redis"
	"github.com/gin-gonic/gin"
	redigo "github.com/gomodule/redigo/redis"
	gorilla "github.com/gorilla/sessions"
	esession "github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	goredis "github.com/redis/go-redis/v9"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// The routes every contender serves.
const (
	untouched = "/untouched" // never touches the session
	read      = "/read"      // reads the cart and the user name
	write     = "/write"     // appends to the cart (up to 20 ints, then starts over)
	visitor   = "/new"       // a new visitor: no cookie, one key set
	rotate    = "/rotate"    // moves the cart's first item to its end: a write that keeps the size
	login     = "/login"     // signs in: the realistic session (priming only, never measured)
)

var routes = []string{untouched, read, write, visitor, rotate, login}

// workload is one measured request: a route, and the session the client
// holds when it makes it.
type workload struct {
	name string // in benchmark names
	path string
	size sessionSize // the session the client holds
}

// sessionSize names the session a workload's client holds.
type sessionSize int

const (
	tiny      sessionSize = iota // {"cart":[0,1,2]}
	realistic                    // realisticUser and realisticCart
	large                        // realisticUser and largeCart
)

// The tiny session is a cart of three small ints ({"cart":[0,1,2]}, 14
// bytes of JSON, below any compression threshold; the write workload grows
// it to 20 and starts over). The realistic one is a signed-in user with a
// 20-item cart: realisticUser and realisticCart, 141 bytes of JSON (below
// cloakroom's cookie-store compression threshold of 192 bytes). The large
// one has an 80-item cart (441 bytes of JSON), which cloakroom's cookie
// store compresses. Every library stores the same values its own way
// (cloakroom as JSON, gin-contrib, scs and gorilla with gob). The login
// route signs in with the realistic session, or the large one when asked
// (?size=large).
var workloads = []workload{
	{"untouched", untouched, tiny},
	{"read", read, tiny},
	{"write", write, tiny},
	{"new", visitor, tiny},
	{"untouched-realistic", untouched, realistic},
	{"read-realistic", read, realistic},
	{"write-realistic", rotate, realistic},
	{"read-large", read, large},
	{"write-large", rotate, large},
}

const realisticUser = "alice@example.com"

// realisticCart is 20 four-digit product ids in no particular order.
func realisticCart() []int { return cartOf(20) }

// largeCart is 80 four-digit product ids.
func largeCart() []int { return cartOf(80) }

// loginCart is the cart the login route r signs in with.
func loginCart(r *http.Request) []int {
	if r.URL.Query().Get("size") == "large" {
		return largeCart()
	}
	return realisticCart()
}

func cartOf(n int) []int {
	cart := make([]int, n)
	for i := range cart {
		cart[i] = 1000 + (4711+7919*i)%9000
	}
	return cart
}

func nextCart(cart []int) []int {
	if len(cart) >= 20 {
		cart = cart[:0]
	}
	return append(cart, len(cart))
}

// rotated is the cart with its first item moved to the end (a new slice).
func rotated(cart []int) []int {
	if len(cart) == 0 {
		return cart
	}
	return append(append(make([]int, 0, len(cart)), cart[1:]...), cart[0])
}

// readBody is what the read route answers: the cart's length and the user.
func readBody(cart []int, user string) string { return strconv.Itoa(len(cart)) + " " + user }

// contender is one library/store/framework combination.
type contender struct {
	name, framework, kind string
	build                 func(tb testing.TB) http.Handler
	counters              *observe.Counters // cloakroom only: store calls
}

var secret = []byte("0123456789abcdef0123456789abcdef")

func quiet() *gorm.Config { return &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)} }

// sqlitePath is a fresh SQLite file; every contender opens it with the same
// settings (WAL, busy timeout) through the same driver.
func sqlitePath(tb testing.TB) string { return filepath.Join(tb.TempDir(), "sessions.db") }

func sqliteGorm(tb testing.TB) *gorm.DB {
	db, err := sqlitedb.Open(sqlitePath(tb), quiet())
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// --- raw ---

func rawGin() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	for _, p := range routes {
		r.GET(p, func(c *gin.Context) { c.String(200, "ok") })
	}
	return r
}

func rawEcho() http.Handler {
	e := echo.New()
	for _, p := range routes {
		e.GET(p, func(c echo.Context) error { return c.String(200, "ok") })
	}
	return e
}

// --- cloakroom ---

func cloakroomGin(m *core.Manager) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(ginsession.Middleware(m))
	r.GET(untouched, func(c *gin.Context) { c.String(200, "ok") })
	r.GET(read, func(c *gin.Context) {
		s := ginsession.Get(c)
		cart, _, err := core.GetAs[[]int](s, "cart")
		if err != nil {
			c.String(500, err.Error())
			return
		}
		user, _, err := core.GetAs[string](s, "username")
		if err != nil {
			c.String(500, err.Error())
			return
		}
		c.String(200, readBody(cart, user))
	})
	r.GET(write, func(c *gin.Context) {
		s := ginsession.Get(c)
		cart, _, err := core.GetAs[[]int](s, "cart")
		if err == nil {
			err = s.Set("cart", nextCart(cart))
		}
		if err != nil {
			c.String(500, err.Error())
			return
		}
		c.String(200, "ok")
	})
	r.GET(visitor, func(c *gin.Context) {
		if err := ginsession.Get(c).Set("visited", true); err != nil {
			c.String(500, err.Error())
			return
		}
		c.String(200, "ok")
	})
	r.GET(rotate, func(c *gin.Context) {
		s := ginsession.Get(c)
		cart, _, err := core.GetAs[[]int](s, "cart")
		if err == nil {
			err = s.Set("cart", rotated(cart))
		}
		if err != nil {
			c.String(500, err.Error())
			return
		}
		c.String(200, "ok")
	})
	r.GET(login, func(c *gin.Context) {
		s := ginsession.Get(c)
		if err := s.Set("username", realisticUser); err != nil {
			c.String(500, err.Error())
			return
		}
		if err := s.Set("cart", loginCart(c.Request)); err != nil {
			c.String(500, err.Error())
			return
		}
		c.String(200, "ok")
	})
	return r
}

func cloakroomEcho(m *core.Manager) http.Handler {
	e := echo.New()
	e.Use(echosession.Middleware(m))
	e.GET(untouched, func(c echo.Context) error { return c.String(200, "ok") })
	e.GET(read, func(c echo.Context) error {
		s := echosession.Get(c)
		cart, _, err := core.GetAs[[]int](s, "cart")
		if err != nil {
			return err
		}
		user, _, err := core.GetAs[string](s, "username")
		if err != nil {
			return err
		}
		return c.String(200, readBody(cart, user))
	})
	e.GET(write, func(c echo.Context) error {
		s := echosession.Get(c)
		cart, _, err := core.GetAs[[]int](s, "cart")
		if err == nil {
			err = s.Set("cart", nextCart(cart))
		}
		if err != nil {
			return err
		}
		return c.String(200, "ok")
	})
	e.GET(visitor, func(c echo.Context) error {
		if err := echosession.Get(c).Set("visited", true); err != nil {
			return err
		}
		return c.String(200, "ok")
	})
	e.GET(rotate, func(c echo.Context) error {
		s := echosession.Get(c)
		cart, _, err := core.GetAs[[]int](s, "cart")
		if err == nil {
			err = s.Set("cart", rotated(cart))
		}
		if err != nil {
			return err
		}
		return c.String(200, "ok")
	})
	e.GET(login, func(c echo.Context) error {
		s := echosession.Get(c)
		if err := s.Set("username", realisticUser); err != nil {
			return err
		}
		if err := s.Set("cart", loginCart(c.Request())); err != nil {
			return err
		}
		return c.String(200, "ok")
	})
	return e
}

func cloakroomStore(tb testing.TB, kind string) (core.Store, core.CookieStore) {
	switch kind {
	case "memory":
		return memstore.New(0), nil
	case "gorm":
		st, err := gormstore.New(context.Background(), sqliteGorm(tb))
		if err != nil {
			tb.Fatal(err)
		}
		return st, nil
	case "memcached":
		st, err := memcachestore.NewServers([]string{memcachedAddr(tb)})
		if err != nil {
			tb.Fatal(err)
		}
		return st, nil
	case "redis":
		// As redisstore's example builds it: a go-redis client whose
		// context deadlines reach the connection.
		client := goredis.NewClient(&goredis.Options{Addr: freshRedis(tb), ContextTimeoutEnabled: true})
		tb.Cleanup(func() { _ = client.Close() })
		st, err := redisstore.New(client, redisstore.WithPrefix("bench:cloakroom:"))
		if err != nil {
			tb.Fatal(err)
		}
		return st, nil
	case "file":
		st, err := filestore.New(tb.TempDir())
		if err != nil {
			tb.Fatal(err)
		}
		return st, nil
	case "cookie":
		cs, err := cookiestore.New(secret)
		if err != nil {
			tb.Fatal(err)
		}
		return nil, cs
	}
	tb.Fatalf("unknown store %s", kind)
	return nil, nil
}

func cloakroomContender(framework, kind string) contender {
	c := contender{name: "cloakroom", framework: framework, kind: kind}
	if kind != "cookie" { // a cookie store has no server calls to count
		c.counters = &observe.Counters{}
	}
	c.build = func(tb testing.TB) http.Handler {
		if c.counters != nil {
			*c.counters = observe.Counters{}
		}
		st, cs := cloakroomStore(tb, kind)
		var m *core.Manager
		var err error
		if cs != nil {
			m, err = core.NewWithCookieStore(cs, core.DefaultConfig())
		} else {
			m, err = core.New(observe.Wrap(st, c.counters), core.DefaultConfig())
		}
		if err != nil {
			tb.Fatal(err)
		}
		if framework == "echo" {
			return cloakroomEcho(m)
		}
		return cloakroomGin(m)
	}
	return c
}

// --- gin-contrib/sessions ---

func ginContrib(store gsessions.Store) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gsessions.Sessions("sessionid", store))
	r.GET(untouched, func(c *gin.Context) { c.String(200, "ok") })
	r.GET(read, func(c *gin.Context) {
		s := gsessions.Default(c)
		cart, _ := s.Get("cart").([]int)
		user, _ := s.Get("username").(string)
		c.String(200, readBody(cart, user))
	})
	r.GET(write, func(c *gin.Context) {
		s := gsessions.Default(c)
		cart, _ := s.Get("cart").([]int)
		s.Set("cart", nextCart(cart))
		if err := s.Save(); err != nil {
			c.String(500, err.Error())
			return
		}
		c.String(200, "ok")
	})
	r.GET(visitor, func(c *gin.Context) {
		s := gsessions.Default(c)
		s.Set("visited", true)
		if err := s.Save(); err != nil {
			c.String(500, err.Error())
			return
		}
		c.String(200, "ok")
	})
	r.GET(rotate, func(c *gin.Context) {
		s := gsessions.Default(c)
		cart, _ := s.Get("cart").([]int)
		s.Set("cart", rotated(cart))
		if err := s.Save(); err != nil {
			c.String(500, err.Error())
			return
		}
		c.String(200, "ok")
	})
	r.GET(login, func(c *gin.Context) {
		s := gsessions.Default(c)
		s.Set("username", realisticUser)
		s.Set("cart", loginCart(c.Request))
		if err := s.Save(); err != nil {
			c.String(500, err.Error())
			return
		}
		c.String(200, "ok")
	})
	return r
}

func ginContribContender(kind string) contender {
	return contender{name: "gin-contrib/sessions", framework: "gin", kind: kind, build: func(tb testing.TB) http.Handler {
		var st gsessions.Store
		switch kind {
		case "cookie":
			st = gcookie.NewStore(secret)
		case "gorm":
			st = ggorm.NewStore(sqliteGorm(tb), true, secret)
		case "memcached":
			st = gmemcached.NewStore(memcache.New(memcachedAddr(tb)), "", secret)
		case "redis":
			// NewStoreWithPool with the pool scs gets: NewStore's own pool
			// sends a PING before every borrowed connection is used, one
			// more round trip per store call.
			rs, err := gredis.NewStoreWithPool(redigoPool(tb), secret)
			if err != nil {
				tb.Fatal(err)
			}
			if err := gredis.SetKeyPrefix(rs, "bench:gin-contrib:"); err != nil {
				tb.Fatal(err)
			}
			st = rs
		}
		return ginContrib(st)
	}}
}

// --- alexedwards/scs, wrapped for Gin ---

func scsGin(sm *scs.SessionManager) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(func(c *gin.Context) {
		sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			c.Request = req
			c.Writer = &scsWriter{ResponseWriter: c.Writer, sw: w}
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
	})
	r.GET(untouched, func(c *gin.Context) { c.String(200, "ok") })
	r.GET(read, func(c *gin.Context) {
		cart, _ := sm.Get(c.Request.Context(), "cart").([]int)
		user := sm.GetString(c.Request.Context(), "username")
		c.String(200, readBody(cart, user))
	})
	r.GET(write, func(c *gin.Context) {
		cart, _ := sm.Get(c.Request.Context(), "cart").([]int)
		sm.Put(c.Request.Context(), "cart", nextCart(cart))
		c.String(200, "ok")
	})
	r.GET(visitor, func(c *gin.Context) {
		sm.Put(c.Request.Context(), "visited", true)
		c.String(200, "ok")
	})
	r.GET(rotate, func(c *gin.Context) {
		cart, _ := sm.Get(c.Request.Context(), "cart").([]int)
		sm.Put(c.Request.Context(), "cart", rotated(cart))
		c.String(200, "ok")
	})
	r.GET(login, func(c *gin.Context) {
		sm.Put(c.Request.Context(), "username", realisticUser)
		sm.Put(c.Request.Context(), "cart", loginCart(c.Request))
		c.String(200, "ok")
	})
	return r
}

func scsContender(kind string) contender {
	return contender{name: "alexedwards/scs", framework: "gin", kind: kind, build: func(tb testing.TB) http.Handler {
		sm := scs.New()
		sm.Cookie.Name = "sessionid"
		switch kind {
		case "sqlite":
			db := sqliteGorm(tb)
			sqlDB, _ := db.DB()
			if _, err := sqlDB.Exec(`CREATE TABLE sessions (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry REAL NOT NULL); CREATE INDEX sessions_expiry_idx ON sessions(expiry);`); err != nil {
				tb.Fatal(err)
			}
			sm.Store = sqlite3store.NewWithCleanupInterval(sqlDB, 0)
		case "redis":
			sm.Store = scsredis.NewWithPrefix(redigoPool(tb), "bench:scs:")
		}
		return scsGin(sm)
	}}
}

// scsWriter lets scs commit (and set its cookie) before Gin writes, the
// adapter a Gin user of scs has to write.
type scsWriter struct {
	gin.ResponseWriter
	sw   http.ResponseWriter
	done bool
}

func (w *scsWriter) commit() {
	if !w.done {
		w.done = true
		w.sw.WriteHeader(w.ResponseWriter.Status())
	}
}

func (w *scsWriter) Write(p []byte) (int, error) { w.commit(); return w.ResponseWriter.Write(p) }
func (w *scsWriter) WriteString(s string) (int, error) {
	w.commit()
	return w.ResponseWriter.WriteString(s)
}
func (w *scsWriter) WriteHeaderNow() { w.commit(); w.ResponseWriter.WriteHeaderNow() }

// --- echo-contrib/session (gorilla) ---

func echoContribContender() contender {
	return contender{name: "echo-contrib/session", framework: "echo", kind: "cookie", build: func(tb testing.TB) http.Handler {
		e := echo.New()
		e.Use(esession.Middleware(gorilla.NewCookieStore(secret)))
		e.GET(untouched, func(c echo.Context) error { return c.String(200, "ok") })
		e.GET(read, func(c echo.Context) error {
			s, err := esession.Get("sessionid", c)
			if err != nil {
				return err
			}
			cart, _ := s.Values["cart"].([]int)
			user, _ := s.Values["username"].(string)
			return c.String(200, readBody(cart, user))
		})
		e.GET(write, func(c echo.Context) error {
			s, err := esession.Get("sessionid", c)
			if err != nil {
				return err
			}
			cart, _ := s.Values["cart"].([]int)
			s.Values["cart"] = nextCart(cart)
			if err := s.Save(c.Request(), c.Response()); err != nil {
				return err
			}
			return c.String(200, "ok")
		})
		e.GET(visitor, func(c echo.Context) error {
			s, err := esession.Get("sessionid", c)
			if err != nil {
				return err
			}
			s.Values["visited"] = true
			if err := s.Save(c.Request(), c.Response()); err != nil {
				return err
			}
			return c.String(200, "ok")
		})
		e.GET(rotate, func(c echo.Context) error {
			s, err := esession.Get("sessionid", c)
			if err != nil {
				return err
			}
			cart, _ := s.Values["cart"].([]int)
			s.Values["cart"] = rotated(cart)
			if err := s.Save(c.Request(), c.Response()); err != nil {
				return err
			}
			return c.String(200, "ok")
		})
		e.GET(login, func(c echo.Context) error {
			s, err := esession.Get("sessionid", c)
			if err != nil {
				return err
			}
			s.Values["username"] = realisticUser
			s.Values["cart"] = loginCart(c.Request())
			if err := s.Save(c.Request(), c.Response()); err != nil {
				return err
			}
			return c.String(200, "ok")
		})
		return e
	}}
}

func contenders() []contender {
	cs := []contender{
		{name: "raw", framework: "gin", kind: "-", build: func(testing.TB) http.Handler { return rawGin() }},
		{name: "raw", framework: "echo", kind: "-", build: func(testing.TB) http.Handler { return rawEcho() }},
	}
	for _, kind := range []string{"memory", "cookie", "gorm", "memcached", "file", "redis"} {
		cs = append(cs, cloakroomContender("gin", kind))
	}
	for _, kind := range []string{"memory", "cookie", "gorm"} {
		cs = append(cs, cloakroomContender("echo", kind))
	}
	for _, kind := range []string{"cookie", "gorm", "memcached", "redis"} {
		cs = append(cs, ginContribContender(kind))
	}
	cs = append(cs, scsContender("memory"), scsContender("sqlite"), scsContender("redis"), echoContribContender())
	return cs
}

// --- memcached and Redis, each one process shared by every contender ---

var sharedMemcached string

func memcachedAddr(tb testing.TB) string {
	if sharedMemcached == "" {
		testenv.Missing(tb, "memcached is not installed; apt-get install memcached (scripts/install-deps.sh)")
	}
	return sharedMemcached
}

// sharedRedis is the address of the redis-server every contender shares;
// when it is empty, redisProblem says why.
var sharedRedis, redisProblem string

// redisAddr is the shared redis-server's address. Without a redis-server
// binary the test skips loudly (fails under CI=true); a binary that does
// not start fails the test.
func redisAddr(tb testing.TB) string {
	tb.Helper()
	if sharedRedis == "" {
		if redisProblem == "" {
			testenv.Missing(tb, "redis-server is not installed (or REDIS_SERVER_BIN names no file); apt-get install redis-server (scripts/install-deps.sh)")
		}
		tb.Fatal(redisProblem)
	}
	return sharedRedis
}

// freshRedis is redisAddr after emptying the server's database, so that
// every contender starts from an empty server (each library also keeps its
// keys under a prefix of its own).
func freshRedis(tb testing.TB) string {
	tb.Helper()
	addr := redisAddr(tb)
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.FlushDB(ctx).Err(); err != nil {
		tb.Fatalf("emptying redis-server at %s: %v", addr, err)
	}
	return addr
}

// redigoPool is the redigo pool gin-contrib/sessions' and scs's Redis
// stores get: scs's documented one (ten idle connections kept, nothing
// checked on borrow), on an emptied server.
func redigoPool(tb testing.TB) *redigo.Pool {
	addr := freshRedis(tb)
	pool := &redigo.Pool{
		MaxIdle:     10,
		IdleTimeout: 240 * time.Second,
		Dial:        func() (redigo.Conn, error) { return redigo.Dial("tcp", addr) },
	}
	tb.Cleanup(func() { _ = pool.Close() })
	return pool
}

func TestMain(m *testing.M) {
	if os.Getenv("CLOAKROOM_BENCH_LIST") != "" {
		listSessionCases()
		os.Exit(0)
	}
	stopMemcached := startMemcached()
	stopRedis := startRedis()
	code := m.Run()
	stopRedis()
	stopMemcached()
	os.Exit(code)
}

// startMemcached starts the memcached every contender shares, or uses the
// one at CLOAKROOM_BENCH_MEMCACHED (host:port), which bench/callgrind.sh
// starts: valgrind's callgrind can abort when a child process exits under it.
func startMemcached() func() {
	if addr := os.Getenv("CLOAKROOM_BENCH_MEMCACHED"); addr != "" {
		sharedMemcached = addr
		return func() {}
	}
	bin, err := exec.LookPath("memcached")
	if err != nil {
		return func() {}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return func() {}
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "256"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root")
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		return func() {}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			sharedMemcached = addr
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
}

// redisServerBin finds redis-server: $REDIS_SERVER_BIN, else on PATH, else
// /usr/bin/redis-server; "" when there is none (or REDIS_SERVER_BIN names
// no file).
func redisServerBin() string {
	if p := os.Getenv("REDIS_SERVER_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return ""
		}
		return p
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server"
	}
	return ""
}

// startRedis starts the redis-server every contender shares, on a free
// loopback port, without persistence (no RDB snapshots, no append-only file) and in a
// temporary directory, so that the results do not depend on a Redis the
// machine may run and nothing is left behind: the returned function kills
// it by its pid and removes the directory. Like memcached, it uses the one
// at CLOAKROOM_BENCH_REDIS (host:port) instead when bench/callgrind.sh
// started it.
func startRedis() func() {
	if addr := os.Getenv("CLOAKROOM_BENCH_REDIS"); addr != "" {
		sharedRedis = addr
		return func() {}
	}
	bin := redisServerBin()
	if bin == "" {
		return func() {}
	}
	dir, err := os.MkdirTemp("", "cloakroom-bench-redis-")
	if err != nil {
		redisProblem = fmt.Sprintf("redis-server: a temporary directory: %v", err)
		return func() {}
	}
	for try := 0; try < 5; try++ { // another process may take the free port first
		port, err := testenv.FreePort()
		if err != nil {
			redisProblem = fmt.Sprintf("redis-server: no free port: %v", err)
			continue
		}
		out := new(testenv.Buffer)
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", "")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			redisProblem = fmt.Sprintf("starting %s: %v", bin, err)
			break
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-done
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitRedis(addr, done); err != nil {
			stop()
			redisProblem = fmt.Sprintf("%s --port %d: %v; its output: %s", bin, port, err, out.String())
			continue
		}
		sharedRedis, redisProblem = addr, ""
		return func() { stop(); _ = os.RemoveAll(dir) }
	}
	_ = os.RemoveAll(dir)
	return func() {}
}

// waitRedis waits up to 5 s for a Redis server at addr to answer PING, or
// for done (the process exited).
func waitRedis(addr string, done <-chan struct{}) error {
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case <-done:
			return fmt.Errorf("exited")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("did not answer PING within 5 s")
}

// --- driving requests in-process ---

// nopWriter is the least a ResponseWriter can do, so the benchmarks measure
// the middleware, not a recorder.
type nopWriter struct {
	h      http.Header
	status int
	body   []byte
}

func (w *nopWriter) Header() http.Header { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	w.body = append(w.body[:0], p...)
	return len(p), nil
}
func (w *nopWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}

func (w *nopWriter) reset() {
	clear(w.h)
	w.status = 0
	w.body = w.body[:0]
}

// session makes a client with a cart of three items and returns its cookie.
// (The parallel benchmarks make 10,000 of them.)
func session(tb testing.TB, h http.Handler) string { return sessionN(tb, h, 3) }

// signedIn signs a new client in (user name and a 20-item cart, or an
// 80-item one for the large session) and returns its cookie.
func signedIn(tb testing.TB, h http.Handler, size sessionSize) string {
	path := login
	if size == large {
		path += "?size=large"
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	if rec.Code != 200 {
		tb.Fatalf("signing in: %d %s", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		return c.Name + "=" + c.Value
	}
	tb.Fatal("signing in set no cookie")
	return ""
}

// cookieFor primes the session a workload needs and returns its cookie.
func cookieFor(tb testing.TB, h http.Handler, wl workload) string {
	if wl.size != tiny {
		return signedIn(tb, h, wl.size)
	}
	return session(tb, h)
}

// sessionN makes a client with a cart of n items.
func sessionN(tb testing.TB, h http.Handler, n int) string {
	cookie := ""
	for i := 0; i < n; i++ {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", write, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			tb.Fatalf("priming: %d %s", rec.Code, rec.Body)
		}
		for _, c := range rec.Result().Cookies() {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" {
		tb.Fatal("priming set no cookie")
	}
	return cookie
}

// request builds the request of a workload for a client.
func request(path, cookie string) *http.Request {
	req := httptest.NewRequest("GET", path, nil)
	if path != visitor && cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return req
}

// check runs a workload once and verifies it did its job, so a broken
// contender cannot look fast.
func check(tb testing.TB, h http.Handler, wl workload, cookie string) {
	w := &nopWriter{h: http.Header{}}
	h.ServeHTTP(w, request(wl.path, cookie))
	if w.status != 200 {
		tb.Fatalf("%s: status %d %s", wl.name, w.status, w.body)
	}
	switch wl.path {
	case read:
		want := readBody(make([]int, 3), "")
		switch wl.size {
		case realistic:
			want = readBody(realisticCart(), realisticUser)
		case large:
			want = readBody(largeCart(), realisticUser)
		}
		if string(w.body) != want {
			tb.Fatalf("%s: got %q, want %q", wl.name, w.body, want)
		}

	case visitor:
		if !strings.Contains(strings.Join(w.h.Values("Set-Cookie"), ";"), "sessionid=") {
			tb.Fatalf("new visitor: no session cookie (%q)", w.h.Values("Set-Cookie"))
		}
	}
}
