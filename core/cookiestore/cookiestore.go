// Package cookiestore keeps the whole session in its cookie, signed, like
// Django's signed_cookies backend: no server state at all.
//
// A value is "c1." + base64url(header, data) + "." + base64url(HMAC-SHA256).
// The header holds when the value was sealed and when the session expires,
// so both the cookie age and a per-session expiry set with SetExpiry are
// enforced (Django checks only the age). Data of 192 bytes or more is
// compressed with DEFLATE when that makes it smaller (a flag in the header
// says which), and decompression is bounded. The HMAC key is derived from
// the secret and a salt, signatures are compared in constant time, and old
// secrets can be kept for reading while every Seal signs with the current
// one: a cookie signed with an old secret is re-signed on its session's next
// save.
//
// As with Django's backend, Flush and CycleKey cannot revoke a copy of an
// old cookie before it expires; use a server-side store where that matters.
// The data is signed, not encrypted: wrap the codec with package encrypt to
// hide it.
package cookiestore

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// MinSecretLength is the shortest secret New accepts.
const MinSecretLength = 32

// MaxValueLength is the longest cookie value Seal produces: browsers keep
// 4096 bytes of name and value per cookie, and this leaves room for the name.
const MaxValueLength = 4000

// DefaultSalt separates this store's signatures from other uses of the
// secret.
const DefaultSalt = "cloakroom.cookiestore"

// minCompressLength is the shortest data Seal compresses; shorter data is
// stored as it is. Compression has to pay for its reading: every Open of a
// compressed value builds DEFLATE's code tables and decodes symbol by
// symbol, about 37,000 instructions for a 141-byte session, a third of
// the whole request (callgrind, bench/). Measured on 200,000 generated
// session objects (Django's auth keys, carts of four-digit ids, user
// names, flash messages, tokens) at BestSpeed: under 64 bytes none
// shrank; at 64-127 bytes half did, by 5 bytes on average (5%); at 128-191
// by 43 bytes (26%); from 192 bytes by 79 bytes and more (35%), where
// the cookie's size starts to count against the 4 KB a browser keeps.
const minCompressLength = 192

const (
	prefix     = "c1."
	headerLen  = 1 + 8 + 8 // flags, sealed at, expires at (Unix seconds)
	compressed = 1
	sigLen     = 43 // base64url of an HMAC-SHA256, unpadded
)

// maxPooledScratch bounds the scratch buffers kept for reuse: a value is at
// most about 4 KB, so only data that inflates far past that (rare, or a
// compression bomb) grows one beyond it, and that one is dropped.
const maxPooledScratch = 16 << 10

// b64 rejects non-canonical encodings (set spare bits in the last
// character), so no two cookie values open to the same session.
var b64 = base64.RawURLEncoding.Strict()

// flaters pools DEFLATE writers: each holds about a megabyte of state.
var flaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed) // BestSpeed is a valid level: no error
	return w
}}

// inflater is a pooled DEFLATE reader (about 40 KB of tables and window)
// with the source it reads from.
type inflater struct {
	src bytes.Reader
	r   io.ReadCloser // implements flate.Resetter
}

var inflaters = sync.Pool{New: func() any {
	f := new(inflater)
	f.r = flate.NewReader(&f.src)
	return f
}}

// scratch is the per-call working memory of Seal and Open, pooled: nothing
// returned to a caller points into it.
type scratch struct {
	b        []byte
	mac, sum [sha256.Size]byte
}

// Write appends to b: the DEFLATE writer's destination in Seal.
func (s *scratch) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

func putScratch(s *scratch) {
	if cap(s.b) <= maxPooledScratch {
		scratches.Put(s)
	}
}

// Store seals sessions into cookie values. Create it with New.
type Store struct {
	keys            [][]byte    // derived HMAC keys: current first
	macs            []sync.Pool // HMAC-SHA256 states, one pool per key
	maxAge          time.Duration
	maxDecompressed int64
	now             func() time.Time
}

// defaultMaxDecompressed is the bound on the decompressed size of a value
// unless [WithMaxDecompressed] says otherwise: 64 KiB.
const defaultMaxDecompressed = 64 << 10

// options holds the settings the options of [New] set.
type options struct {
	old             [][]byte
	salt            string
	maxAge          time.Duration
	maxDecompressed int64
	now             func() time.Time
}

// Option configures a Store; pass options to [New].
type Option func(*options)

// WithOldSecrets adds secrets that still verify cookies (for rotation);
// by default there are none. Each must be at least [MinSecretLength] bytes.
func WithOldSecrets(secrets ...[]byte) Option {
	return func(o *options) { o.old = append(o.old, secrets...) }
}

// WithSalt replaces DefaultSalt (the default); values sealed under one salt
// never open under another.
func WithSalt(salt string) Option { return func(o *options) { o.salt = salt } }

// WithMaxAge bounds how long after sealing a value is accepted, whatever
// the expiry it carries (default core.DefaultCookieAge, Django's
// SESSION_COOKIE_AGE). It must be positive. Match it to Config.CookieAge.
func WithMaxAge(d time.Duration) Option { return func(o *options) { o.maxAge = d } }

// WithMaxDecompressed bounds the decompressed size of a value (default
// 64 KiB), against compression bombs. It must be positive.
func WithMaxDecompressed(n int64) Option { return func(o *options) { o.maxDecompressed = n } }

// WithClock replaces time.Now (the default), for tests. now must not be
// nil.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// check validates the settings and the secrets (secret first).
func (o *options) check(secrets [][]byte) error {
	switch {
	case o.maxAge <= 0:
		return fmt.Errorf("cookiestore: max age %v: want a positive duration: %w", o.maxAge, core.ErrInvalidConfig)
	case o.maxDecompressed <= 0:
		return fmt.Errorf("cookiestore: max decompressed size %d: want a positive size: %w", o.maxDecompressed, core.ErrInvalidConfig)
	case o.now == nil:
		return fmt.Errorf("cookiestore: nil clock: %w", core.ErrInvalidConfig)
	}
	for i, sec := range secrets {
		if len(sec) < MinSecretLength {
			return fmt.Errorf("cookiestore: secret %d is %d bytes: at least %d random bytes are needed: %w", i, len(sec), MinSecretLength, core.ErrInvalidConfig)
		}
	}
	return nil
}

// New returns a store signing with secret, which must be at least
// MinSecretLength random bytes; a missing or short secret, old secret or
// option value gives an error wrapping core.ErrInvalidConfig.
func New(secret []byte, opts ...Option) (*Store, error) {
	o := options{maxAge: core.DefaultCookieAge, maxDecompressed: defaultMaxDecompressed, now: time.Now, salt: DefaultSalt}
	for _, opt := range opts {
		opt(&o)
	}
	secrets := append([][]byte{secret}, o.old...)
	if err := o.check(secrets); err != nil {
		return nil, err
	}
	s := &Store{maxAge: o.maxAge, maxDecompressed: o.maxDecompressed, now: o.now}
	for _, sec := range secrets {
		k := sha256.Sum256([]byte("cloakroom cookiestore v1\x00" + o.salt + "\x00" + string(sec)))
		s.keys = append(s.keys, k[:])
	}
	s.macs = make([]sync.Pool, len(s.keys))
	for i, k := range s.keys {
		s.macs[i].New = func() any { return hmac.New(sha256.New, k) }
	}
	return s, nil
}

// mac appends the HMAC of msg under key i to dst. The hash state is reused:
// after its first Reset, hmac keeps the keyed inner and outer states and
// restores them instead of hashing the padded key again.
func (s *Store) mac(i int, dst, msg []byte) []byte {
	m := s.macs[i].Get().(hash.Hash)
	m.Reset()
	m.Write(msg)
	dst = m.Sum(dst)
	s.macs[i].Put(m)
	return dst
}

// Seal implements core.CookieStore.
func (s *Store) Seal(_ context.Context, data []byte, expiry time.Time) (string, error) {
	sc := scratches.Get().(*scratch)
	defer putScratch(sc)
	// The payload: header, then the data, compressed when that is shorter.
	b := slices.Grow(sc.b[:0], headerLen+len(data))[:headerLen]
	b[0] = 0
	binary.BigEndian.PutUint64(b[1:], uint64(s.now().Unix()))
	binary.BigEndian.PutUint64(b[9:], uint64(clampUnix(expiry)))
	if len(data) >= minCompressLength {
		sc.b = b
		w := flaters.Get().(*flate.Writer) // a new one costs over a megabyte
		w.Reset(sc)
		_, _ = w.Write(data)
		err := w.Close()
		w.Reset(nil)
		flaters.Put(w)
		b = sc.b
		if err == nil && len(b)-headerLen < len(data) {
			b[0] = compressed
		} else {
			b = b[:headerLen]
		}
	}
	if b[0] != compressed {
		b = append(b, data...)
	}
	payloadLen := len(b)
	if n := len(prefix) + b64.EncodedLen(payloadLen) + 1 + sigLen; n > MaxValueLength {
		sc.b = b
		return "", fmt.Errorf("cookiestore: the session needs a %d-byte cookie, over %d: %w", n, MaxValueLength, core.ErrTooLarge)
	}
	// The value, after the payload in the same buffer.
	b = append(b, prefix...)
	b = b64.AppendEncode(b, b[:payloadLen])
	sum := s.mac(0, sc.sum[:0], b[payloadLen:])
	b = append(b, '.')
	b = b64.AppendEncode(b, sum)
	sc.b = b
	return string(b[payloadLen:]), nil
}

// clampUnix returns t as Unix seconds, with the zero time and other times
// before 1970 as 0 (long expired).
func clampUnix(t time.Time) int64 {
	if u := t.Unix(); u > 0 {
		return u
	}
	return 0
}

// Open implements core.CookieStore: a value that is malformed, forged,
// signed with an unknown secret or over-compressed is ErrTampered; one past
// its expiry or older than the max age is ErrNotFound. The data returned
// is the caller's: it shares no memory with the store.
func (s *Store) Open(_ context.Context, value string) ([]byte, time.Time, error) {
	if len(value) > MaxValueLength+64 || !strings.HasPrefix(value, prefix) {
		return nil, time.Time{}, errNotCookie
	}
	dot := strings.LastIndexByte(value, '.')
	if dot < len(prefix) || len(value)-dot-1 != sigLen {
		return nil, time.Time{}, errMalformedSig
	}
	sc := scratches.Get().(*scratch)
	defer putScratch(sc)
	// The value's bytes, then the payload decoded after them.
	n := len(value)
	b := append(slices.Grow(sc.b[:0], n+b64.DecodedLen(dot-len(prefix)))[:0], value...)
	sc.b = b
	signed, sig := b[:dot], b[dot+1:n]
	if m, err := b64.Decode(sc.mac[:], sig); err != nil || m != sha256.Size {
		return nil, time.Time{}, errMalformedSig
	}
	ok := false
	for i := range s.keys {
		if hmac.Equal(sc.mac[:], s.mac(i, sc.sum[:0], signed)) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, time.Time{}, errBadSig
	}
	m, err := b64.Decode(b[n:cap(b)], signed[len(prefix):])
	payload := b[n : n+m]
	if err != nil || len(payload) < headerLen || payload[0]&^compressed != 0 {
		return nil, time.Time{}, errMalformed
	}
	now := s.now()
	sealedAt := time.Unix(int64(binary.BigEndian.Uint64(payload[1:])), 0)
	expiry := time.Unix(int64(binary.BigEndian.Uint64(payload[9:])), 0)
	if now.Sub(sealedAt) > s.maxAge || !expiry.After(now) {
		return nil, time.Time{}, errExpired
	}
	data := payload[headerLen:]
	if payload[0]&compressed != 0 {
		b, data, err = s.inflate(b[:n+m], data)
		sc.b = b
		if err != nil {
			return nil, time.Time{}, err
		}
	}
	return bytes.Clone(data), expiry, nil
}

// inflate decompresses src, appending to buf (grown as the output needs,
// from a guess sized by the input), and returns buf and the output within
// it. Output past s.maxDecompressed, a corrupt stream or a truncated one is
// ErrTampered.
func (s *Store) inflate(buf, src []byte) ([]byte, []byte, error) {
	f := inflaters.Get().(*inflater)
	defer inflaters.Put(f)
	f.src.Reset(src)
	defer f.src.Reset(nil)
	if err := f.r.(flate.Resetter).Reset(&f.src, nil); err != nil {
		return buf, nil, errInflate
	}
	start := len(buf)
	limit := s.maxDecompressed + 1 // read one byte past the bound to see it crossed
	buf = slices.Grow(buf, int(min(int64(4*len(src)+64), limit)))
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf)-start)
		}
		end := cap(buf)
		if int64(end-start) > limit {
			end = start + int(limit)
		}
		n, err := f.r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if int64(len(buf)-start) > s.maxDecompressed {
			return buf, nil, errInflate
		}
		if err == io.EOF {
			return buf, buf[start:], nil
		}
		if err != nil {
			return buf, nil, errInflate
		}
	}
}
