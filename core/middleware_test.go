package core_test

import (
	"testing"

	"github.com/cloakroom/cloakroom/internal/adapters"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
)

func TestNetHTTPMiddleware(t *testing.T) {
	middlewaretest.Run(t, adapters.ServeHTTP)
}
