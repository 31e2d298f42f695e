package ginsession_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/ginsession"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
	"github.com/gin-gonic/gin"
)

// nopWriter is a minimal ResponseWriter so the benchmarks measure the
// middleware, not httptest.ResponseRecorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func benchGin(b *testing.B, withSession bool, cookie bool, h gin.HandlerFunc) {
	m := middlewaretest.NewManager(b, nil)
	r := gin.New()
	if withSession {
		r.Use(ginsession.Middleware(m))
	}
	r.GET("/", h)
	req := httptest.NewRequest("GET", "/", nil)
	if cookie {
		w := httptest.NewRecorder()
		r2 := gin.New()
		r2.Use(ginsession.Middleware(m))
		r2.GET("/", func(c *gin.Context) { _ = ginsession.Get(c).Set("cart", []int{1, 2, 3}) })
		r2.ServeHTTP(w, req)
		req.Header.Set("Cookie", w.Header().Get("Set-Cookie"))
	}
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clear(w.h)
		r.ServeHTTP(w, req)
	}
}

func BenchmarkGin(b *testing.B) {
	untouched := func(c *gin.Context) { c.String(200, "ok") }
	read := func(c *gin.Context) {
		cart, _, _ := core.GetAs[[]int](ginsession.Get(c), "cart")
		c.String(200, "%d", len(cart))
	}
	write := func(c *gin.Context) {
		s := ginsession.Get(c)
		cart, _, _ := core.GetAs[[]int](s, "cart")
		if len(cart) >= 20 {
			cart = cart[:0]
		}
		_ = s.Set("cart", append(cart, len(cart)))
		c.String(200, "ok")
	}
	b.Run("raw", func(b *testing.B) { benchGin(b, false, false, untouched) })
	b.Run("untouched", func(b *testing.B) { benchGin(b, true, true, untouched) })
	b.Run("read", func(b *testing.B) { benchGin(b, true, true, read) })
	b.Run("write", func(b *testing.B) { benchGin(b, true, true, write) })
	b.Run("new-visitor", func(b *testing.B) {
		benchGin(b, true, false, func(c *gin.Context) { _ = ginsession.Get(c).Set("v", 1); c.String(200, "ok") })
	})
}
