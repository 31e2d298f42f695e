package main

import (
	"net/http"

	"github.com/cloakroom/cloakroom/echosession"
	"github.com/cloakroom/cloakroom/ginsession"
	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// ginHandler serves the shop with Gin: the session middleware, then CSRF
// protection, then the shared pages.
func ginHandler(a *App) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), ginsession.Middleware(a.m), ginsession.CSRF())
	for _, rt := range a.routes() {
		h := rt.h
		r.Handle(rt.method, rt.path, func(c *gin.Context) { h(c.Writer, c.Request, ginsession.Get(c)) })
	}
	return r
}

// echoHandler serves the shop with Echo, the same way.
func echoHandler(a *App) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover(), echosession.Middleware(a.m), echosession.CSRF())
	for _, rt := range a.routes() {
		h := rt.h
		e.Add(rt.method, rt.path, func(c echo.Context) error {
			h(c.Response(), c.Request(), echosession.Get(c))
			return nil
		})
	}
	return e
}
