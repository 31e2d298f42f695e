package memcachestore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/cachedstore"
	"github.com/cloakroom/cloakroom/core/memstore"
	"github.com/cloakroom/cloakroom/internal/memcachedtest"
	"github.com/cloakroom/cloakroom/memcachestore"
)

// BenchmarkMemcached measures Load and Save beside a bare gomemcache Get and
// Set of a value of the same size, against the same server in the same run.
// The store sub-benchmarks report "x-bare", their ns/op divided by the bare
// call's (run the bare one first, as the order below does). cachedstore's
// cache-hit Load is measured too, against the same bare Get.
func BenchmarkMemcached(b *testing.B) {
	srv := memcachedtest.Start(b)
	client := memcache.New(srv.Addr())
	client.MaxIdleConns = 8
	b.Cleanup(func() { _ = client.Close() })
	st, err := memcachestore.New(client, memcachestore.WithPrefix("bench:"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, size := range []int{1 << 10, 16 << 10} {
		data := []byte(`{"b":"` + strings.Repeat("x", size-8) + `"}`)
		key, _ := core.NewKey()
		rec := core.Record{Key: key, Data: data, Expiry: time.Now().Add(time.Hour)}
		if err := st.Save(ctx, rec, core.Create); err != nil {
			b.Fatal(err)
		}
		raw := &memcache.Item{Key: "bare:" + key, Value: data, Expiration: 3600}
		if err := client.Set(raw); err != nil {
			b.Fatal(err)
		}
		cached, err := cachedstore.New(st, memstore.New(0)) // cache hits only: the database is empty
		if err != nil {
			b.Fatal(err)
		}
		var bareGet, bareSet float64
		b.Run(fmt.Sprintf("size=%d/bare-get", size), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := client.Get(raw.Key); err != nil {
					b.Fatal(err)
				}
			}
			bareGet = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
		b.Run(fmt.Sprintf("size=%d/load", size), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := st.Load(ctx, key); err != nil {
					b.Fatal(err)
				}
			}
			reportRatio(b, bareGet)
		})
		b.Run(fmt.Sprintf("size=%d/cachedstore-load-hit", size), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := cached.Load(ctx, key); err != nil {
					b.Fatal(err)
				}
			}
			reportRatio(b, bareGet)
		})
		b.Run(fmt.Sprintf("size=%d/bare-set", size), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if err := client.Set(raw); err != nil {
					b.Fatal(err)
				}
			}
			bareSet = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
		b.Run(fmt.Sprintf("size=%d/save", size), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if err := st.Save(ctx, rec, core.Update); err != nil {
					b.Fatal(err)
				}
			}
			reportRatio(b, bareSet)
		})
	}
}

func reportRatio(b *testing.B, bare float64) {
	if bare > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/bare, "x-bare")
	}
}
