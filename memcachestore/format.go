package memcachestore

import (
	"fmt"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloakroom/cloakroom/core"
)

// ValueFormat turns records into memcached values and back, for sharing
// sessions with another program that reads and writes the same keys
// (*djangocodec.CacheFormat is the format of Django's cache and cached_db
// session backends). Without one the store writes its own checksummed
// header (see the package comment).
type ValueFormat interface {
	// EncodeValue returns the value and the item flags that store rec.
	EncodeValue(rec core.Record) (value []byte, flags uint32, err error)
	// DecodeValue returns the record data held by a value and its flags,
	// and the record's expiry when the value says it; the zero time means
	// the value does not say, and memcached's own expiration (set from the
	// saved record's expiry) is then the only one. A value it cannot read
	// gives an error wrapping [core.ErrTampered].
	DecodeValue(value []byte, flags uint32) (data []byte, expiry time.Time, err error)
}

// WithValueFormat makes the store write and read values in format f
// instead of its own header. Use it with [WithPrefix] set to the other
// program's key prefix. By default (or with a nil f) the store writes its
// own header.
func WithValueFormat(f ValueFormat) Option { return func(o *options) { o.format = f } }

// item builds the memcached item that stores rec.
func (s *Store) item(mkey string, rec core.Record, exp int32) (*memcache.Item, error) {
	if s.format == nil {
		return &memcache.Item{Key: mkey, Value: encode(rec.Data, rec.Expiry), Expiration: exp}, nil
	}
	v, flags, err := s.format.EncodeValue(rec)
	if err != nil {
		return nil, fmt.Errorf("memcachestore: encoding the value: %w", err)
	}
	return &memcache.Item{Key: mkey, Value: v, Flags: flags, Expiration: exp}, nil
}

// record reads the record held by it, and reports an expired one (by the
// expiry the value carries) as not found.
func (s *Store) record(key string, it *memcache.Item) (core.Record, error) {
	var data []byte
	var expiry time.Time
	var err error
	if s.format == nil {
		if data, expiry, err = decode(it.Value); err != nil {
			return core.Record{}, err
		}
	} else if data, expiry, err = s.format.DecodeValue(it.Value, it.Flags); err != nil {
		return core.Record{}, fmt.Errorf("memcachestore: load: %w", err)
	}
	if (s.format == nil || !expiry.IsZero()) && !expiry.After(s.now()) {
		return core.Record{}, fmt.Errorf("memcachestore: load: %w", core.ErrNotFound)
	}
	// it.Value is a fresh allocation per Get: the caller may keep data.
	return core.Record{Key: key, Data: data, Expiry: expiry}, nil
}
