// Package encrypt encrypts session data at rest with AES-256-GCM, as a
// [core.Codec] wrapped around another codec. It works with every store, and
// with a cookie store it makes the cookie unreadable as well as signed.
//
// Keys rotate: the first key encrypts, every key decrypts. Each value names
// its key by a 4-byte identifier (a SHA-256 prefix of the key), so a
// decryption tries one key, not all. Output is base64url text, so it fits
// text columns.
//
// The ciphertext is not bound to the session key: someone who can write the
// store can move one session's data under another key. Keep store write
// access as protected as the encryption keys.
package encrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/cloakroom/cloakroom/core"
)

// KeySize is the length of every key: 32 bytes, AES-256.
const KeySize = 32

const prefix = "e1." // format version

// Codec encrypts the output of an inner codec.
type Codec struct {
	inner   core.Codec
	current uint32
	aeads   map[uint32]cipher.AEAD
}

// New returns a codec that encrypts inner's output with keys[0] and decrypts
// with any of keys. Every key must be [KeySize] random bytes; nil inner
// means core.JSONCodec. It returns an error wrapping core.ErrInvalidConfig
// for a missing, short or repeated key.
func New(inner core.Codec, keys ...[]byte) (*Codec, error) {
	if inner == nil {
		inner = core.JSONCodec{}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("encrypt: no key: %w", core.ErrInvalidConfig)
	}
	c := &Codec{inner: inner, aeads: make(map[uint32]cipher.AEAD, len(keys))}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("encrypt: key %d is %d bytes, want %d: %w", i, len(k), KeySize, core.ErrInvalidConfig)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("encrypt: key %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("encrypt: key %d: %w", i, err)
		}
		sum := sha256.Sum256(k)
		id := binary.BigEndian.Uint32(sum[:4])
		if _, dup := c.aeads[id]; dup {
			return nil, fmt.Errorf("encrypt: key %d repeats an earlier key: %w", i, core.ErrInvalidConfig)
		}
		c.aeads[id] = aead
		if i == 0 {
			c.current = id
		}
	}
	return c, nil
}

// Encode implements core.Codec: inner encoding, then AES-GCM under the
// current key with a random nonce.
func (c *Codec) Encode(values map[string]json.RawMessage) ([]byte, error) {
	plain, err := c.inner.Encode(values)
	if err != nil {
		return nil, err
	}
	aead := c.aeads[c.current]
	raw := make([]byte, 4+aead.NonceSize(), 4+aead.NonceSize()+len(plain)+aead.Overhead())
	binary.BigEndian.PutUint32(raw, c.current)
	if _, err := rand.Read(raw[4:]); err != nil {
		return nil, fmt.Errorf("encrypt: nonce: %w", err)
	}
	raw = aead.Seal(raw, raw[4:], plain, raw[:4])
	out := make([]byte, len(prefix)+base64.RawURLEncoding.EncodedLen(len(raw)))
	copy(out, prefix)
	base64.RawURLEncoding.Encode(out[len(prefix):], raw)
	return out, nil
}

// Decode implements core.Codec. Anything not encrypted by one of the keys,
// or altered, is an error wrapping core.ErrTampered.
func (c *Codec) Decode(data []byte) (map[string]json.RawMessage, error) {
	if len(data) < len(prefix) || string(data[:len(prefix)]) != prefix {
		return nil, fmt.Errorf("encrypt: not an encrypted session: %w", core.ErrTampered)
	}
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(data)-len(prefix)))
	n, err := base64.RawURLEncoding.Strict().Decode(raw, data[len(prefix):])
	if err != nil {
		return nil, fmt.Errorf("encrypt: %v: %w", err, core.ErrTampered)
	}
	raw = raw[:n]
	if len(raw) < 4 {
		return nil, fmt.Errorf("encrypt: too short: %w", core.ErrTampered)
	}
	aead, ok := c.aeads[binary.BigEndian.Uint32(raw)]
	if !ok {
		return nil, fmt.Errorf("encrypt: encrypted with an unknown key: %w", core.ErrTampered)
	}
	if len(raw) < 4+aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("encrypt: too short: %w", core.ErrTampered)
	}
	nonce := raw[4 : 4+aead.NonceSize()]
	plain, err := aead.Open(nil, nonce, raw[4+aead.NonceSize():], raw[:4])
	if err != nil {
		return nil, fmt.Errorf("encrypt: %v: %w", err, core.ErrTampered)
	}
	return c.inner.Decode(plain)
}
