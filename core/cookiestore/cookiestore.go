// Package cookiestore keeps the whole session in its cookie, signed, like
// Django's signed_cookies backend: no server state at all.
//
// A value is "c1." + base64url(header, data) + "." + base64url(HMAC-SHA256).
// The header holds when the value was sealed and when the session expires,
// so both the cookie age and a per-session expiry set with SetExpiry are
// enforced (Django checks only the age). The data is compressed with
// DEFLATE when that makes it smaller, and decompression is bounded. The
// HMAC key is derived from the secret and a salt, signatures are compared in
// constant time, and old secrets can be kept for reading while every Seal
// signs with the current one: a cookie signed with an old secret is
// re-signed on its session's next save.
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
	"io"
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

const (
	prefix     = "c1."
	headerLen  = 1 + 8 + 8 // flags, sealed at, expires at (Unix seconds)
	compressed = 1
)

// b64 rejects non-canonical encodings (set spare bits in the last
// character), so no two cookie values open to the same session.
var b64 = base64.RawURLEncoding.Strict()

// flaters pools DEFLATE writers: each holds about a megabyte of state.
var flaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed) // BestSpeed is a valid level: no error
	return w
}}

// Store seals sessions into cookie values. Create it with New.
type Store struct {
	keys            [][]byte // derived HMAC keys: current first
	maxAge          time.Duration
	maxDecompressed int64
	now             func() time.Time
	salt            string
	old             [][]byte
}

// Option configures a Store.
type Option func(*Store)

// WithOldSecrets adds secrets that still verify cookies (for rotation).
func WithOldSecrets(secrets ...[]byte) Option {
	return func(s *Store) { s.old = append(s.old, secrets...) }
}

// WithSalt replaces DefaultSalt; values sealed under one salt never open
// under another.
func WithSalt(salt string) Option { return func(s *Store) { s.salt = salt } }

// WithMaxAge bounds how long after sealing a value is accepted, whatever
// the expiry it carries (default core.DefaultCookieAge, Django's
// SESSION_COOKIE_AGE). Match it to Config.CookieAge.
func WithMaxAge(d time.Duration) Option { return func(s *Store) { s.maxAge = d } }

// WithMaxDecompressed bounds the decompressed size of a value (default
// 64 KiB), against compression bombs.
func WithMaxDecompressed(n int64) Option { return func(s *Store) { s.maxDecompressed = n } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns a store signing with secret, which must be at least
// MinSecretLength random bytes; a missing or short secret, old secret or
// option value gives an error wrapping core.ErrInvalidConfig.
func New(secret []byte, opts ...Option) (*Store, error) {
	s := &Store{maxAge: core.DefaultCookieAge, maxDecompressed: 64 << 10, now: time.Now, salt: DefaultSalt}
	for _, o := range opts {
		o(s)
	}
	if s.maxAge <= 0 || s.maxDecompressed <= 0 {
		return nil, fmt.Errorf("cookiestore: %w: max age and max decompressed size must be positive", core.ErrInvalidConfig)
	}
	for i, sec := range append([][]byte{secret}, s.old...) {
		if len(sec) < MinSecretLength {
			return nil, fmt.Errorf("cookiestore: %w: secret %d is %d bytes; at least %d random bytes are needed", core.ErrInvalidConfig, i, len(sec), MinSecretLength)
		}
		k := sha256.Sum256([]byte("cloakroom cookiestore v1\x00" + s.salt + "\x00" + string(sec)))
		s.keys = append(s.keys, k[:])
	}
	return s, nil
}

func (s *Store) mac(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	io.WriteString(m, msg)
	return m.Sum(nil)
}

// Seal implements core.CookieStore.
func (s *Store) Seal(_ context.Context, data []byte, expiry time.Time) (string, error) {
	body, flags := data, byte(0)
	var buf bytes.Buffer
	w := flaters.Get().(*flate.Writer) // a new one costs over a megabyte
	w.Reset(&buf)
	_, _ = w.Write(data)
	if w.Close() == nil && buf.Len() < len(data) {
		body, flags = buf.Bytes(), compressed
	}
	w.Reset(nil)
	flaters.Put(w)
	payload := make([]byte, headerLen, headerLen+len(body))
	payload[0] = flags
	binary.BigEndian.PutUint64(payload[1:], uint64(s.now().Unix()))
	binary.BigEndian.PutUint64(payload[9:], uint64(clampUnix(expiry)))
	payload = append(payload, body...)
	signed := prefix + b64.EncodeToString(payload)
	v := signed + "." + b64.EncodeToString(s.mac(s.keys[0], signed))
	if len(v) > MaxValueLength {
		return "", fmt.Errorf("cookiestore: the session needs a %d-byte cookie, over %d: %w", len(v), MaxValueLength, core.ErrTooLarge)
	}
	return v, nil
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
// its expiry or older than the max age is ErrNotFound.
func (s *Store) Open(_ context.Context, value string) ([]byte, time.Time, error) {
	if len(value) > MaxValueLength+64 || !strings.HasPrefix(value, prefix) {
		return nil, time.Time{}, fmt.Errorf("cookiestore: %w: not a session cookie", core.ErrTampered)
	}
	dot := strings.LastIndexByte(value, '.')
	signed, sig := value[:dot], value[dot+1:]
	mac, err := b64.DecodeString(sig)
	if err != nil || len(mac) != sha256.Size {
		return nil, time.Time{}, fmt.Errorf("cookiestore: %w: malformed signature", core.ErrTampered)
	}
	ok := false
	for _, k := range s.keys {
		if hmac.Equal(mac, s.mac(k, signed)) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, time.Time{}, fmt.Errorf("cookiestore: %w: bad signature", core.ErrTampered)
	}
	payload, err := b64.DecodeString(signed[len(prefix):])
	if err != nil || len(payload) < headerLen || payload[0]&^compressed != 0 {
		return nil, time.Time{}, fmt.Errorf("cookiestore: %w: malformed value", core.ErrTampered)
	}
	now := s.now()
	sealedAt := time.Unix(int64(binary.BigEndian.Uint64(payload[1:])), 0)
	expiry := time.Unix(int64(binary.BigEndian.Uint64(payload[9:])), 0)
	if now.Sub(sealedAt) > s.maxAge || !expiry.After(now) {
		return nil, time.Time{}, fmt.Errorf("cookiestore: session expired: %w", core.ErrNotFound)
	}
	data := payload[headerLen:]
	if payload[0]&compressed != 0 {
		r := flate.NewReader(bytes.NewReader(data))
		data, err = io.ReadAll(io.LimitReader(r, s.maxDecompressed+1))
		if err != nil || int64(len(data)) > s.maxDecompressed {
			return nil, time.Time{}, fmt.Errorf("cookiestore: %w: bad or oversized compressed data", core.ErrTampered)
		}
	}
	return data, expiry, nil
}
