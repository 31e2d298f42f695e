package djangocodec

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// The session key prefixes of Django's cache session backends, which
// their cache keys end with (see [CacheKeyPrefix]).
const (
	CacheBackend    = "django.contrib.sessions.cache"     // SESSION_ENGINE = "django.contrib.sessions.backends.cache"
	CachedDBBackend = "django.contrib.sessions.cached_db" // SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
)

// CacheKeyPrefix returns what Django's cache puts before a session key, as
// its default KEY_FUNCTION builds it: "<KEY_PREFIX>:<VERSION>:<backend>".
// keyPrefix and version are the KEY_PREFIX and VERSION of the cache Django
// uses for sessions (SESSION_CACHE_ALIAS; Django's defaults are "" and 1),
// backend is [CacheBackend] or [CachedDBBackend]. Give the result to the
// Go store's key prefix option (memcachestore.WithPrefix).
func CacheKeyPrefix(keyPrefix string, version int, backend string) string {
	return keyPrefix + ":" + strconv.Itoa(version) + ":" + backend
}

// Memcached item flags of the Python clients Django uses (pylibmc and
// pymemcache agree on these two).
const (
	flagPickle = 1 << 0
	flagZlib   = 1 << 3
)

// maxCacheValue bounds a decompressed cache value: memcached's default item
// size limit.
const maxCacheValue = 1 << 20

// CacheFormat is the value format of Django's cache and cached_db session
// backends in memcached (a memcachestore.ValueFormat): the session
// dictionary pickled (memcached flags 1, as pylibmc and pymemcache write
// it; zlib-compressed values, flag 8, are read too). Reading accepts only
// the values JSON can hold (dict, list, tuple, str, int, float, bool,
// None) and datetime objects; any other pickle content is refused as
// tampering and never executed.
//
// Django's cache keeps no signature: whoever can write to the memcached
// servers can write sessions, as in Django.
//
// Expiries are written in the forms of the configured Django version
// (see [WithVersion]); before 4.1 an absolute one is a pickled datetime,
// as Django 3.2's cache backend writes it.
type CacheFormat struct {
	codec *Codec // nil: record data is core.JSONCodec's JSON
	forms forms
}

// NewCacheFormat returns the format for Django's cached_db backend when
// codec is the database codec of the same Django (record data is then
// signed session data, which the format verifies before caching and signs
// again when read from the cache; give the Go manager the same codec), or
// for Django's cache backend when codec is nil (record data is then the
// session as JSON: leave the manager's Codec at its default). With a codec
// the Django version and time options are the codec's, and opts must be
// empty; without one only [WithVersion] and [WithLocalTime] apply.
func NewCacheFormat(codec *Codec, opts ...Option) (*CacheFormat, error) {
	if codec != nil {
		if len(opts) > 0 {
			return nil, fmt.Errorf("djangocodec: cache format options given with a codec, whose options apply: %w", core.ErrInvalidConfig)
		}
		return &CacheFormat{codec: codec, forms: codec.s.forms}, nil
	}
	o := newOptions(DefaultSalt, opts)
	f, err := o.forms()
	if err != nil {
		return nil, err
	}
	return &CacheFormat{forms: f}, nil
}

// EncodeValue returns rec's session as a pickled dict and its flags.
func (f *CacheFormat) EncodeValue(rec core.Record) ([]byte, uint32, error) {
	js := rec.Data
	var dt map[string]pyTime
	if f.codec != nil {
		raw, _, err := f.codec.s.loads(string(rec.Data), 0)
		if err != nil {
			return nil, 0, err
		}
		js = raw // already in the Django version's forms
	} else if t, ok := f.absoluteExpiry(js); ok && !f.forms.isoDate {
		if f.forms.local != nil {
			t = t.In(f.forms.local)
		}
		dt = map[string]pyTime{core.ExpiryKey: {t: t, naive: f.forms.local != nil}}
	} else {
		var err error
		if js, err = rewriteJSON(js, f.forms.toDjango); err != nil {
			return nil, 0, err
		}
	}
	p, err := pickleSession(js, dt)
	if err != nil {
		return nil, 0, err
	}
	return p, flagPickle, nil
}

// DecodeValue returns the session a pickled dict holds, as record data
// (JSON, or signed with the codec), and its absolute expiry if it has one.
func (f *CacheFormat) DecodeValue(value []byte, flags uint32) ([]byte, time.Time, error) {
	if flags&^flagZlib != flagPickle {
		return nil, time.Time{}, fmt.Errorf("djangocodec: cache value with memcached flags %d is no pickled dict: %w", flags, core.ErrTampered)
	}
	if flags&flagZlib != 0 {
		var err error
		if value, err = inflate(value); err != nil {
			return nil, time.Time{}, err
		}
	}
	js, err := unpickleSession(value)
	if err != nil {
		return nil, time.Time{}, err
	}
	expiry, _ := f.absoluteExpiry(js)
	if f.codec != nil {
		return []byte(f.codec.s.dumps(js, true)), expiry, nil
	}
	js, err = rewriteJSON(js, f.forms.fromDjango)
	return js, expiry, err
}

// absoluteExpiry returns the absolute expiry of the JSON session js.
func (f *CacheFormat) absoluteExpiry(js []byte) (time.Time, bool) {
	if !bytes.Contains(js, []byte(core.ExpiryKey)) {
		return time.Time{}, false
	}
	raw, _ := sessionExpiry(js)
	return f.forms.absolute(raw)
}

// inflate undoes the clients' zlib compression, up to maxCacheValue bytes.
func inflate(v []byte) ([]byte, error) {
	r, err := zlib.NewReader(bytes.NewReader(v))
	if err != nil {
		return nil, fmt.Errorf("djangocodec: cache value: %w: %w", err, core.ErrTampered)
	}
	out, err := io.ReadAll(io.LimitReader(r, maxCacheValue+1))
	if err != nil {
		return nil, fmt.Errorf("djangocodec: cache value: %w: %w", err, core.ErrTampered)
	}
	if len(out) > maxCacheValue {
		return nil, fmt.Errorf("djangocodec: cache value inflates past %d bytes: %w", maxCacheValue, core.ErrTampered)
	}
	return out, nil
}
