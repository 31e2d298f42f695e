package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"testing"

	"github.com/cloakroom/cloakroom/core/observe"
)

func (c contender) id() string { return fmt.Sprintf("%s/%s/%s", c.framework, c.name, c.kind) }

// TestContendersWork runs every workload of every contender once and checks
// its result: the smoke test CI runs.
func TestContendersWork(t *testing.T) {
	for _, c := range contenders() {
		t.Run(c.id(), func(t *testing.T) {
			h := c.build(t)
			cookie := ""
			if c.name != "raw" {
				cookie = session(t, h)
			}
			for _, w := range workloads {
				if c.name == "raw" {
					w := &nopWriter{h: http.Header{}}
					h.ServeHTTP(w, request(untouched, ""))
					if w.status != 200 {
						t.Fatal(w.status)
					}
					break
				}
				check(t, h, w, cookie)
			}
		})
	}
}

// TestStoreCalls proves that untouched requests never read the store and
// read-only requests never write it.
func TestStoreCalls(t *testing.T) {
	for _, c := range contenders() {
		if c.counters == nil {
			continue
		}
		t.Run(c.id(), func(t *testing.T) {
			h := c.build(t)
			cookie := session(t, h)
			for _, tc := range []struct {
				path          string
				loads, writes int64
			}{{untouched, 0, 0}, {read, 1, 0}, {write, 1, 1}} {
				before := c.counters.Snapshot()
				check(t, h, tc.path, cookie)
				after := c.counters.Snapshot()
				loads := after[observe.Load].Calls - before[observe.Load].Calls
				writes := after[observe.Create].Calls + after[observe.Update].Calls - before[observe.Create].Calls - before[observe.Update].Calls
				if loads != tc.loads || writes != tc.writes {
					t.Errorf("%s: %d loads, %d writes; want %d and %d", tc.path, loads, writes, tc.loads, tc.writes)
				}
			}
		})
	}
}

// BenchmarkSessions: every contender, every workload, serial.
// CLOAKROOM_BENCH_WORKLOAD=untouched (or read, write, new) runs one workload.
func BenchmarkSessions(b *testing.B) {
	for _, c := range contenders() {
		for _, wl := range workloads {
			if c.name == "raw" && wl != untouched {
				continue
			}
			if only := os.Getenv("CLOAKROOM_BENCH_WORKLOAD"); only != "" && wl != "/"+only {
				continue
			}
			b.Run(c.id()+wl, func(b *testing.B) {
				h := c.build(b)
				cookie := rawCookie // the raw handler gets a cookie too, so request cloning costs the same
				if c.name != "raw" {
					cookie = session(b, h)
					check(b, h, wl, cookie)
				}
				req := request(wl, cookie)
				w := &nopWriter{h: http.Header{}}
				var before map[observe.Op]observe.OpStats
				if c.counters != nil {
					before = c.counters.Snapshot()
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					w.reset()
					// A fresh request each time, for every contender alike:
					// gorilla/sessions caches its session in the request.
					h.ServeHTTP(w, req.Clone(context.Background()))
				}
				b.StopTimer()
				if c.counters != nil {
					after := c.counters.Snapshot()
					b.ReportMetric(float64(after[observe.Load].Calls-before[observe.Load].Calls)/float64(b.N), "loads/op")
					b.ReportMetric(float64(after[observe.Create].Calls+after[observe.Update].Calls-before[observe.Create].Calls-before[observe.Update].Calls)/float64(b.N), "saves/op")
				}
			})
		}
	}
}

// rawCookie is the cookie the raw handlers receive.
const rawCookie = "sessionid=abcdefghijklmnopqrstuvwxyz012345"

// Clients is how many distinct sessions the parallel benchmarks spread over.
const Clients = 10000

// BenchmarkParallel: the read and write workloads from many goroutines over
// 10,000 distinct clients (sessions made beforehand).
func BenchmarkParallel(b *testing.B) {
	for _, c := range contenders() {
		for _, wl := range []string{untouched, read, write} {
			if c.name == "raw" && wl != untouched {
				continue
			}
			b.Run(c.id()+wl, func(b *testing.B) {
				h := c.build(b)
				reqs := make([]*http.Request, Clients)
				for i := range reqs {
					cookie := rawCookie
					if c.name != "raw" {
						cookie = sessionN(b, h, 1)
					}
					reqs[i] = request(wl, cookie)
				}
				var next atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					w := &nopWriter{h: http.Header{}}
					for pb.Next() {
						w.reset()
						h.ServeHTTP(w, reqs[next.Add(1)%Clients].Clone(context.Background()))
					}
				})
			})
		}
	}
}
