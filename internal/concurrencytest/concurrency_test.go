package concurrencytest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/echosession"
	"github.com/cloakroom/cloakroom/ginsession"
	"github.com/cloakroom/cloakroom/internal/teststores"
	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"
)

// add appends the item to the cart with core.Modify and answers the count.
func add(s *core.Session, item string) (int, error) {
	var n int
	err := core.Modify(s, "cart", func(cart []string, _ bool) ([]string, error) {
		cart = append(cart, item)
		n = len(cart)
		return cart, nil
	})
	return n, err
}

func serve(framework string, m *core.Manager) http.Handler {
	if framework == "gin" {
		gin.SetMode(gin.ReleaseMode)
		r := gin.New()
		r.Use(ginsession.Middleware(m))
		r.GET("/add", func(c *gin.Context) {
			n, err := add(ginsession.Get(c), c.Query("item"))
			if err != nil {
				c.String(500, err.Error())
				return
			}
			c.String(200, "%d", n)
		})
		return r
	}
	e := echo.New()
	e.Use(echosession.Middleware(m))
	e.GET("/add", func(c echo.Context) error {
		n, err := add(echosession.Get(c), c.QueryParam("item"))
		if err != nil {
			return err
		}
		return c.String(200, fmt.Sprint(n))
	})
	return e
}

// TestNoLostItems: 50 parallel "add to cart" requests on one session lose
// no item with Config.Optimistic, through Gin and Echo, on every versioned
// store.
func TestNoLostItems(t *testing.T) {
	all := teststores.All(true)
	for _, name := range []string{"memory", "sqlite", "postgres", "mysql", "memcached", "cached", "hashed"} {
		newStore := all[name]
		for _, fw := range []string{"gin", "echo"} {
			t.Run(name+"/"+fw, func(t *testing.T) {
				cfg := core.DefaultConfig()
				cfg.Optimistic = true
				m, err := core.New(newStore(t), cfg)
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewServer(serve(fw, m))
				defer srv.Close()
				get := func(cookie, item string) (string, string) {
					req, _ := http.NewRequest("GET", srv.URL+"/add?item="+item, nil)
					if cookie != "" {
						req.Header.Set("Cookie", cookie)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return "", ""
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					if resp.StatusCode != 200 {
						t.Errorf("add %s: %d %s", item, resp.StatusCode, b)
					}
					return string(b), strings.SplitN(resp.Header.Get("Set-Cookie"), ";", 2)[0]
				}
				_, cookie := get("", "first")
				var wg sync.WaitGroup
				for i := 0; i < 50; i++ {
					wg.Add(1)
					go func(i int) { defer wg.Done(); get(cookie, fmt.Sprint(i)) }(i)
				}
				wg.Wait()
				if n, _ := get(cookie, "last"); n != "52" {
					t.Fatalf("the cart holds %s items after 52 adds", n)
				}
			})
		}
	}
}
