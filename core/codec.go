package core

import (
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// Codec turns a session's values into the bytes a store keeps and back.
// Values are held as JSON documents (one per key), so a codec only frames
// them: the default [JSONCodec] writes one JSON object, other codecs may
// sign, compress or encrypt that object. Encode must produce UTF-8 text
// without NUL bytes so that every store can keep it in a text column.
type Codec interface {
	// Encode serialises values. It must not retain the map.
	Encode(values map[string]json.RawMessage) ([]byte, error)
	// Decode parses data made by Encode. Data that is not a valid encoding
	// gives an error wrapping [ErrTampered].
	Decode(data []byte) (map[string]json.RawMessage, error)
}

// JSONCodec encodes the values as one JSON object with sorted keys, the
// shape of Django's JSONSerializer output before signing.
type JSONCodec struct{}

// Encode implements [Codec].
func (JSONCodec) Encode(values map[string]json.RawMessage) ([]byte, error) {
	keys := make([]string, 0, len(values))
	size := 2
	for k, v := range values {
		keys = append(keys, k)
		size += len(k) + len(v) + 4
	}
	slices.Sort(keys)
	buf := make([]byte, 0, size)
	buf = append(buf, '{')
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, k)
		buf = append(buf, ':')
		buf = append(buf, values[k]...)
	}
	return append(buf, '}'), nil
}

// Decode implements [Codec].
// It reads the object in one pass and keeps the values in one copy of data.
func (JSONCodec) Decode(data []byte) (map[string]json.RawMessage, error) {
	return decodeObject(data)
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does; HTML characters are left alone.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}
