package ginsession_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/ginsession"
	"github.com/cloakroom/cloakroom/internal/adapters"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
	"github.com/gin-gonic/gin"
)

func init() { gin.SetMode(gin.TestMode) }

func TestGinMiddleware(t *testing.T) {
	middlewaretest.Run(t, adapters.ServeGin)
}

func TestLookupWithoutMiddleware(t *testing.T) {
	r := gin.New()
	r.GET("/", func(c *gin.Context) {
		if _, err := ginsession.Lookup(c); err == nil {
			t.Error("Lookup without the middleware returned a session")
		}
		c.Status(http.StatusNoContent)
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusNoContent {
		t.Fatalf("status %d", w.Code)
	}
}

func TestAbortWithStatusCommits(t *testing.T) {
	m := middlewaretest.NewManager(t, nil)
	r := gin.New()
	r.Use(ginsession.Middleware(m))
	r.GET("/", func(c *gin.Context) {
		_ = ginsession.Get(c).Set("seen", true)
		c.AbortWithStatus(http.StatusForbidden)
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusForbidden || w.Header().Get("Set-Cookie") == "" {
		t.Fatalf("AbortWithStatus: %d, Set-Cookie %q", w.Code, w.Header().Get("Set-Cookie"))
	}
}

// wrappingWriter is what compression middleware does to c.Writer: embed Gin's
// writer and replace it.
type wrappingWriter struct {
	gin.ResponseWriter
	wrote int
}

func (w *wrappingWriter) Write(p []byte) (int, error) {
	w.wrote += len(p)
	return w.ResponseWriter.Write(p)
}

// The session is found when a later middleware wraps c.Writer, and a
// goroutine given c.Copy() after the handler looked it up finds it too.
func TestLookupThroughWrappersAndCopies(t *testing.T) {
	m := middlewaretest.NewManager(t, nil)
	r := gin.New()
	r.Use(ginsession.Middleware(m))
	r.Use(func(c *gin.Context) { c.Writer = &wrappingWriter{ResponseWriter: c.Writer}; c.Next() })
	r.GET("/", func(c *gin.Context) {
		s := ginsession.Get(c)
		if err := s.Set("n", 7); err != nil {
			c.String(500, err.Error())
			return
		}
		done := make(chan *core.Session)
		cp := c.Copy()
		go func() {
			s, _ := ginsession.Lookup(cp)
			done <- s
		}()
		if got := <-done; got != s {
			c.String(500, "c.Copy() lost the session: %p, want %p", got, s)
			return
		}
		c.String(200, "ok")
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 200 || w.Header().Get("Set-Cookie") == "" {
		t.Fatalf("through a wrapping writer: %d %q, Set-Cookie %q", w.Code, w.Body, w.Header().Get("Set-Cookie"))
	}
}

// Publishing under ContextKey is lazy: a request that never looks the
// session up leaves c.Keys alone, unless something else created it.
func TestContextKeyPublishedOnLookup(t *testing.T) {
	m := middlewaretest.NewManager(t, nil)
	for _, tc := range []struct {
		name         string
		presetKeys   bool
		lookup       bool
		wantInKeys   bool
		wantKeysMade bool
	}{
		{"untouched", false, false, false, false},
		{"looked up", false, true, true, true},
		{"keys already there", true, false, true, true},
	} {
		r := gin.New()
		if tc.presetKeys {
			r.Use(func(c *gin.Context) { c.Set("request-id", "r1") })
		}
		r.Use(ginsession.Middleware(m))
		var inKeys, keysMade bool
		r.GET("/", func(c *gin.Context) {
			if tc.lookup {
				ginsession.Get(c)
			}
			_, inKeys = c.Get(ginsession.ContextKey)
			keysMade = c.Keys != nil
			c.Status(204)
		})
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		if inKeys != tc.wantInKeys || keysMade != tc.wantKeysMade {
			t.Errorf("%s: session in Keys %v, Keys allocated %v; want %v, %v", tc.name, inKeys, keysMade, tc.wantInKeys, tc.wantKeysMade)
		}
	}
}

// Handlers may fan work out to goroutines that each look the session up.
func TestConcurrentLookups(t *testing.T) {
	m := middlewaretest.NewManager(t, nil)
	r := gin.New()
	r.Use(ginsession.Middleware(m))
	r.GET("/", func(c *gin.Context) {
		first := make(chan *core.Session, 8)
		for range 8 {
			go func() { first <- ginsession.Get(c) }()
		}
		s := <-first
		for range 7 {
			if other := <-first; other != s {
				c.String(500, "different sessions")
				return
			}
		}
		c.String(200, "ok")
	})
	for range 50 {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != 200 {
			t.Fatalf("%d %q", w.Code, w.Body)
		}
	}
}
