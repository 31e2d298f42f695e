package hardening

import (
	"regexp"
	"testing"

	"github.com/cloakroom/cloakroom/internal/adapters"
	"github.com/cloakroom/cloakroom/internal/faultproxy"
	"github.com/cloakroom/cloakroom/internal/middlewaretest"
	"github.com/cloakroom/cloakroom/internal/testenv"
	"github.com/cloakroom/cloakroom/internal/teststores"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// TestDatabaseStalled stalls the network between the app and a real
// PostgreSQL (connections stay open, no byte goes through, as with a
// blackholed route or a frozen server): with Config.StoreTimeout at 300 ms,
// requests that need the store answer 503 quickly instead of hanging.
func TestDatabaseStalled(t *testing.T) {
	for _, fw := range frameworks {
		t.Run("postgres/"+fw, func(t *testing.T) {
			dsn := testenv.Env(t, "CLOAKROOM_POSTGRES_DSN")
			m := regexp.MustCompile(`host=(\S+) port=(\d+)`).FindStringSubmatch(dsn)
			if m == nil {
				t.Fatalf("CLOAKROOM_POSTGRES_DSN has no host and port this test can proxy: %q", dsn)
			}
			proxy := faultproxy.Start(t, m[1]+":"+m[2])
			host, port, _ := splitHostPort(proxy.Addr())
			proxied := regexp.MustCompile(`host=\S+ port=\d+`).ReplaceAllString(dsn, "host="+host+" port="+port)
			db, err := gorm.Open(postgres.Open(proxied), &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sqlDB, _ := db.DB(); _ = sqlDB.Close() })
			st := teststores.Gorm(t, db)
			middlewaretest.Stall(t, adapters.All[fw], st, proxy.Stall, func() {
				proxy.Restore()
				waitPing(t, db)
			})
		})
	}
}
