module github.com/cloakroom/cloakroom/redisstore

go 1.26.0

replace github.com/cloakroom/cloakroom => ../

require (
	github.com/cloakroom/cloakroom v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/bradfitz/gomemcache v0.0.0-20260422231931-4d751bb6e37c // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
