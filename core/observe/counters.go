package observe

import (
	"context"
	"sync/atomic"
	"time"
)

// Bounds are the upper edges of the latency buckets [Counters] keeps; the
// last bucket holds everything slower.
var Bounds = [...]time.Duration{100 * time.Microsecond, time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, time.Second}

var ops = [...]Op{Load, Create, Update, Delete, Clear, LinkUser, UnlinkUser, DeleteUserSessions, Ping}

type opCounters struct {
	calls, errors, misses, nanos, bytes atomic.Int64
	buckets                             [len(Bounds) + 1]atomic.Int64
}

// Counters is a Hook that counts calls, errors, misses, bytes and latency
// per operation with atomic counters. The zero value is ready to use.
type Counters struct {
	per [len(ops)]opCounters
}

// StoreEvent implements Hook.
func (c *Counters) StoreEvent(_ context.Context, e Event) {
	for i, op := range ops {
		if op != e.Op {
			continue
		}
		o := &c.per[i]
		o.calls.Add(1)
		o.nanos.Add(int64(e.Duration))
		o.bytes.Add(int64(e.Bytes))
		if e.Err != nil {
			o.errors.Add(1)
		}
		if e.Miss {
			o.misses.Add(1)
		}
		b := len(Bounds)
		for j, bound := range Bounds {
			if e.Duration <= bound {
				b = j
				break
			}
		}
		o.buckets[b].Add(1)
		return
	}
}

// OpStats is a snapshot of one operation's counters.
type OpStats struct {
	Calls, Errors, Misses, Bytes int64
	// Total is the summed latency; Buckets[i] counts calls no slower than
	// Bounds[i], the last one the rest.
	Total   time.Duration
	Buckets [len(Bounds) + 1]int64
}

// Snapshot returns the counters per operation. Its result marshals to JSON,
// so it can be published with expvar.Publish(name, expvar.Func(...)).
func (c *Counters) Snapshot() map[Op]OpStats {
	out := make(map[Op]OpStats, len(ops))
	for i, op := range ops {
		o := &c.per[i]
		s := OpStats{Calls: o.calls.Load(), Errors: o.errors.Load(), Misses: o.misses.Load(), Bytes: o.bytes.Load(), Total: time.Duration(o.nanos.Load())}
		for j := range s.Buckets {
			s.Buckets[j] = o.buckets[j].Load()
		}
		out[op] = s
	}
	return out
}
