package djangocodec

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// MaxDecompressed bounds the size of decompressed session data, so a
// compressed "zip bomb" is rejected.
const MaxDecompressed = 1 << 20

// signer is django.core.signing.TimestampSigner with Django's default
// algorithm, HMAC-SHA256, keyed through salted_hmac.
type signer struct {
	salt    string
	secrets [][]byte // current first, then fallbacks
	now     func() time.Time
	forms   forms // the Django version's value forms
}

// b64 is Django's b64_encode alphabet without padding; Strict rejects
// non-canonical encodings so an edited value never decodes as the original.
var b64 = base64.RawURLEncoding.Strict()

// saltedHMAC is django.utils.crypto.salted_hmac(keySalt, value, secret,
// algorithm="sha256"): the key is SHA-256(keySalt + secret).
func saltedHMAC(keySalt string, value, secret []byte) []byte {
	key := sha256.Sum256(append([]byte(keySalt), secret...))
	m := hmac.New(sha256.New, key[:])
	m.Write(value)
	return m.Sum(nil)
}

func (s *signer) signature(value string, secret []byte) string {
	return b64.EncodeToString(saltedHMAC(s.salt+"signer", []byte(value), secret))
}

// dumps is signing.dumps(obj, salt=salt, compress=compress) for obj already
// serialised as JSON: value ":" base62(timestamp) ":" signature.
func (s *signer) dumps(jsonData []byte, compress bool) string {
	data := asciiJSON(jsonData)
	prefix := ""
	if compress {
		var buf bytes.Buffer
		w := zlib.NewWriter(&buf)
		_, _ = w.Write(data)
		_ = w.Close()
		if buf.Len() < len(data)-1 {
			data, prefix = buf.Bytes(), "."
		}
	}
	value := prefix + b64.EncodeToString(data) + ":" + base62(s.now().Unix())
	return value + ":" + s.signature(value, s.secrets[0])
}

// loads is signing.loads: it verifies the signature with any secret, checks
// the age when maxAge > 0, and returns the JSON and the signing time.
func (s *signer) loads(signed string, maxAge time.Duration) ([]byte, time.Time, error) {
	i := strings.LastIndexByte(signed, ':')
	if i < 0 {
		return nil, time.Time{}, fmt.Errorf("djangocodec: no signature: %w", core.ErrTampered)
	}
	value, sig := signed[:i], signed[i+1:]
	ok := false
	for _, secret := range s.secrets {
		if hmac.Equal([]byte(sig), []byte(s.signature(value, secret))) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, time.Time{}, fmt.Errorf("djangocodec: bad signature: %w", core.ErrTampered)
	}
	j := strings.LastIndexByte(value, ':')
	if j < 0 {
		return nil, time.Time{}, fmt.Errorf("djangocodec: no timestamp: %w", core.ErrTampered)
	}
	ts, err := unbase62(value[j+1:])
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("djangocodec: %v: %w", err, core.ErrTampered)
	}
	signedAt := time.Unix(ts, 0)
	if maxAge > 0 && s.now().Sub(signedAt) > maxAge {
		return nil, time.Time{}, fmt.Errorf("djangocodec: signed %v ago, max age %v: %w", s.now().Sub(signedAt).Round(time.Second), maxAge, core.ErrNotFound)
	}
	payload := value[:j]
	compressed := strings.HasPrefix(payload, ".")
	raw, err := b64.DecodeString(strings.TrimPrefix(payload, "."))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("djangocodec: %v: %w", err, core.ErrTampered)
	}
	if compressed {
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("djangocodec: %v: %w", err, core.ErrTampered)
		}
		raw, err = io.ReadAll(io.LimitReader(zr, MaxDecompressed+1))
		if err != nil || len(raw) > MaxDecompressed {
			return nil, time.Time{}, fmt.Errorf("djangocodec: bad or oversized compressed data: %w", core.ErrTampered)
		}
	}
	return raw, signedAt, nil
}

const base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// base62 is django.utils.baseconv.base62.encode.
func base62(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for n > 0 {
		b = append(b, base62Digits[n%62])
		n /= 62
	}
	if neg {
		b = append(b, '-')
	}
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func unbase62(s string) (int64, error) {
	if s == "" || len(s) > 11 {
		return 0, errors.New("bad timestamp")
	}
	var n int64
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(base62Digits, s[i])
		if d < 0 {
			return 0, errors.New("bad timestamp")
		}
		n = n*62 + int64(d)
	}
	return n, nil
}

// asciiJSON escapes every non-ASCII character as \uXXXX, as Python's
// json.dumps does by default: Django decodes the JSON as latin-1, so UTF-8
// bytes would arrive garbled. Valid JSON has non-ASCII only inside strings,
// where the escape means the same character.
func asciiJSON(in []byte) []byte {
	ascii := true
	for _, c := range in {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return in
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, len(in)+16)
	for _, r := range string(in) {
		if r < 0x80 {
			out = append(out, byte(r))
			continue
		}
		u := []rune{r}
		if r > 0xFFFF { // a UTF-16 surrogate pair
			r -= 0x10000
			u = []rune{0xD800 + (r >> 10), 0xDC00 + (r & 0x3FF)}
		}
		for _, x := range u {
			out = append(out, '\\', 'u', hex[x>>12&0xF], hex[x>>8&0xF], hex[x>>4&0xF], hex[x&0xF])
		}
	}
	return out
}
