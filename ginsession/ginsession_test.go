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
