//go:build exampledeps

// Package exampledeps keeps the example app's dependencies in go.mod: the go
// command ignores the _example directory in ./... and in go mod tidy, so
// this file (never built: its build tag is never set) names them instead.
package exampledeps

import (
	_ "github.com/chromedp/cdproto/network"
	_ "github.com/chromedp/chromedp"
	_ "github.com/labstack/echo/v4/middleware"
	_ "golang.org/x/crypto/bcrypt"
)
