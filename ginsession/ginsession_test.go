package ginsession_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
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
	m, err := core.New(memstore.New(0), core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
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

// When the session cannot be saved the error handler answers instead of the
// handler; middleware outside the session's (a logger, say) must see the
// status the client got.
func TestOuterMiddlewareSeesErrorStatus(t *testing.T) {
	for name, handler := range map[string]gin.HandlerFunc{
		"string":  func(c *gin.Context) { c.String(http.StatusOK, "saved?") },
		"status":  func(c *gin.Context) { c.Status(http.StatusNoContent) },
		"nothing": func(c *gin.Context) {},
	} {
		st := &middlewaretest.CountingStore{Store: memstore.New(0)}
		st.FailSave.Store(true)
		m, err := core.New(st, core.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		var logged int
		r := gin.New()
		r.Use(func(c *gin.Context) { c.Next(); logged = c.Writer.Status() })
		r.Use(ginsession.Middleware(m))
		r.GET("/", func(c *gin.Context) {
			if err := ginsession.Get(c).Set("x", 1); err != nil {
				c.String(http.StatusInternalServerError, err.Error())
				return
			}
			handler(c)
		})
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != http.StatusInternalServerError || logged != w.Code {
			t.Errorf("%s: client got %d, outer middleware saw %d; want 500 for both", name, w.Code, logged)
		}
	}
}
