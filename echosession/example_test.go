package echosession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/echosession"
	"github.com/labstack/echo/v4"
)

// Log in and out on Echo: Login cycles the key, Flush drops the session and
// deletes the cookie.
func Example() {
	m, err := core.New(memstore.New(0), core.DefaultConfig())
	if err != nil {
		panic(err)
	}
	e := echo.New()
	e.Use(echosession.Middleware(m))
	e.POST("/login", func(c echo.Context) error {
		return echosession.Get(c).Login(c.FormValue("user"))
	})
	e.GET("/me", func(c echo.Context) error {
		id, ok := echosession.Get(c).UserID()
		if !ok {
			return c.String(http.StatusUnauthorized, "anonymous")
		}
		return c.String(http.StatusOK, id)
	})
	e.POST("/logout", func(c echo.Context) error { return echosession.Get(c).Flush() })

	cookie := ""
	do := func(method, target string) string {
		req := httptest.NewRequest(method, target, nil)
		req.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		if set := w.Header().Get("Set-Cookie"); set != "" {
			cookie = strings.SplitN(set, ";", 2)[0]
		}
		return strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Body.String()))
	}
	fmt.Println(do("POST", "/login?user=alice"))
	fmt.Println(do("GET", "/me"))
	fmt.Println(do("POST", "/logout"))
	fmt.Println(do("GET", "/me"))
	// Output:
	// 200
	// 200 alice
	// 200
	// 401 anonymous
}
