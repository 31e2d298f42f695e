package ginsession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/ginsession"
	"github.com/gin-gonic/gin"
)

// A cart kept in the session, on Gin.
func Example() {
	m, err := core.New(memstore.New(0), core.DefaultConfig())
	if err != nil {
		panic(err)
	}
	r := gin.New()
	r.Use(ginsession.Middleware(m))
	r.POST("/cart/:sku", func(c *gin.Context) {
		s := ginsession.Get(c)
		err := core.Modify(s, "cart", func(cart []string, _ bool) ([]string, error) {
			return append(cart, c.Param("sku")), nil
		})
		if err != nil {
			c.String(http.StatusServiceUnavailable, "sessions unavailable")
			return
		}
		cart, _, _ := core.GetAs[[]string](s, "cart")
		c.String(http.StatusOK, "%s", strings.Join(cart, ","))
	})

	cookie := ""
	for _, sku := range []string{"tea", "cup"} {
		req := httptest.NewRequest("POST", "/cart/"+sku, nil)
		req.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if set := w.Header().Get("Set-Cookie"); set != "" {
			cookie = strings.SplitN(set, ";", 2)[0]
		}
		fmt.Println(w.Body.String())
	}
	// Output:
	// tea
	// tea,cup
}
