package ginsession_test

import (
	"testing"

	"github.com/cloakroom/cloakroom/core/csrf"
	"github.com/cloakroom/cloakroom/ginsession"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
	"github.com/gin-gonic/gin"
)

func TestCSRF(t *testing.T) {
	r := gin.New()
	r.Use(ginsession.Middleware(middlewaretest.NewManager(t, nil)), ginsession.CSRF())
	r.GET("/", func(c *gin.Context) {
		tok, err := csrf.Token(ginsession.Get(c))
		if err != nil {
			c.String(500, err.Error())
			return
		}
		c.String(200, tok)
	})
	r.POST("/", func(c *gin.Context) { c.String(200, "ok") })
	middlewaretest.CSRF(t, r)
}
