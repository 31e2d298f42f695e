package cachedstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cloakroom/cloakroom/core"
)

// errInjected stands for a cache that does not answer.
var errInjected = errors.New("injected cache failure")

// faulty wraps a real store and makes chosen calls fail, to reach the
// paths a dead process cannot: a cache whose writes fail while it still
// holds (stale) data. It also counts the calls that reached the inner
// store.
type faulty struct {
	core.Store
	failLoad, failSave, failDelete atomic.Bool
	loads, saves, deletes          atomic.Int64
	// flaky makes two writes (Save or Delete) in three fail.
	flaky  atomic.Bool
	writes atomic.Int64
}

func (f *faulty) flake() bool {
	return f.flaky.Load() && f.writes.Add(1)%3 != 1
}

func (f *faulty) Load(ctx context.Context, key string) (core.Record, error) {
	if f.failLoad.Load() {
		return core.Record{}, errInjected
	}
	f.loads.Add(1)
	return f.Store.Load(ctx, key)
}

func (f *faulty) Save(ctx context.Context, rec core.Record, mode core.SaveMode) error {
	if f.failSave.Load() || f.flake() {
		return errInjected
	}
	f.saves.Add(1)
	return f.Store.Save(ctx, rec, mode)
}

func (f *faulty) Delete(ctx context.Context, key string) error {
	if f.failDelete.Load() || f.flake() {
		return errInjected
	}
	f.deletes.Add(1)
	return f.Store.Delete(ctx, key)
}

func (f *faulty) failAll(on bool) {
	f.failLoad.Store(on)
	f.failSave.Store(on)
	f.failDelete.Store(on)
}

// logBuf collects slog records as text.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), substr)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger(t *testing.T) (*slog.Logger, *logBuf) {
	buf := &logBuf{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", buf)
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}
