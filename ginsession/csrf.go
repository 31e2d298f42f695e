package ginsession

import (
	"github.com/cloakroom/cloakroom/core/csrf"
	"github.com/gin-gonic/gin"
)

// CSRF returns Gin middleware, installed after [Middleware], that aborts
// unsafe requests without a valid session-backed CSRF token with 403 (see
// package csrf). Render tokens with csrf.Token(ginsession.Get(c)).
func CSRF() gin.HandlerFunc {
	return func(c *gin.Context) {
		s, err := Lookup(c)
		if err == nil {
			err = csrf.Verify(s, c.Request)
		}
		if err != nil {
			csrf.Reject(c.Writer, err)
			c.Abort()
			return
		}
		c.Next()
	}
}
