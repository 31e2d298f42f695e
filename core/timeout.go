package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// boundedStore applies [Config.StoreTimeout] to the store calls a Session
// makes, so that a stalled backend answers the request with an error
// wrapping [ErrStoreTimeout] instead of holding it. The timeout context is
// made only when the store is called. It forwards every capability of the
// store it wraps; the calls a Manager makes with a caller's context
// (DeleteUserSessions, ClearExpired, Ping) pass through unbounded.
type boundedStore struct {
	inner Store
	d     time.Duration
}

// bound returns ctx limited to the store timeout.
func (b *boundedStore) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.d)
}

// timedOut wraps err with ErrStoreTimeout and context.DeadlineExceeded when
// ctx's deadline passed, which is then the likely cause of the failure.
func timedOut(ctx context.Context, err error) error {
	if err == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, ErrStoreTimeout) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrStoreTimeout, err) // the store said so already
	}
	return fmt.Errorf("%w: %w: %w", ErrStoreTimeout, context.DeadlineExceeded, err)
}

func (b *boundedStore) Load(ctx context.Context, key string) (Record, error) {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	rec, err := b.inner.Load(ctx, key)
	return rec, timedOut(ctx, err)
}

func (b *boundedStore) Save(ctx context.Context, rec Record, mode SaveMode) error {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	return timedOut(ctx, b.inner.Save(ctx, rec, mode))
}

func (b *boundedStore) Delete(ctx context.Context, key string) error {
	ctx, cancel := b.bound(ctx)
	defer cancel()
	return timedOut(ctx, b.inner.Delete(ctx, key))
}

func (b *boundedStore) LoadVersion(ctx context.Context, key string) (Record, uint64, error) {
	vs, ok := b.inner.(VersionedStore)
	if !ok {
		return Record{}, 0, ErrUnsupported
	}
	ctx, cancel := b.bound(ctx)
	defer cancel()
	rec, v, err := vs.LoadVersion(ctx, key)
	return rec, v, timedOut(ctx, err)
}

func (b *boundedStore) SaveVersion(ctx context.Context, rec Record, version uint64) error {
	vs, ok := b.inner.(VersionedStore)
	if !ok {
		return ErrUnsupported
	}
	ctx, cancel := b.bound(ctx)
	defer cancel()
	return timedOut(ctx, vs.SaveVersion(ctx, rec, version))
}

func (b *boundedStore) LinkUser(ctx context.Context, user, key string, expiry time.Time) error {
	idx, ok := b.inner.(UserIndex)
	if !ok {
		return ErrUnsupported
	}
	ctx, cancel := b.bound(ctx)
	defer cancel()
	return timedOut(ctx, idx.LinkUser(ctx, user, key, expiry))
}

func (b *boundedStore) UnlinkUser(ctx context.Context, key string) error {
	idx, ok := b.inner.(UserIndex)
	if !ok {
		return ErrUnsupported
	}
	ctx, cancel := b.bound(ctx)
	defer cancel()
	return timedOut(ctx, idx.UnlinkUser(ctx, key))
}

func (b *boundedStore) DeleteUserSessions(ctx context.Context, user string) (int64, error) {
	idx, ok := b.inner.(UserIndex)
	if !ok {
		return 0, ErrUnsupported
	}
	return idx.DeleteUserSessions(ctx, user)
}

func (b *boundedStore) ClearExpired(ctx context.Context) (int64, error) {
	c, ok := b.inner.(ExpiredClearer)
	if !ok {
		return 0, ErrUnsupported
	}
	return c.ClearExpired(ctx)
}

func (b *boundedStore) Ping(ctx context.Context) error {
	p, ok := b.inner.(Pinger)
	if !ok {
		return ErrUnsupported
	}
	return p.Ping(ctx)
}

// Supports reports what the wrapped store supports.
func (b *boundedStore) Supports(c Capability) bool { return Supports(b.inner, c) }
