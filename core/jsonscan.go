package core

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// decodeObject splits the JSON object data into its members in one pass,
// checking as it goes that the whole document is valid JSON (the rules of
// encoding/json, which it matches member for member, duplicate keys
// included: the last wins). The values are sub-slices of one copy of data,
// each capped at its own end. It replaces json.Unmarshal into
// map[string]json.RawMessage, which scans the document twice and copies
// every value.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	d := objScanner{data: data}
	d.space()
	if !d.byte('{') {
		return nil, d.fail("not an object")
	}
	buf := append([]byte(nil), data...)
	// The colons bound the member count (SIMD-counted, far cheaper than
	// growing the map).
	values := make(map[string]json.RawMessage, bytes.Count(data, []byte{':'}))
	d.space()
	if d.byte('}') {
		return values, d.end()
	}
	for {
		d.space()
		start := d.i
		plain, err := d.str()
		if err != nil {
			return nil, err
		}
		var key string
		if plain {
			key = string(data[start+1 : d.i-1])
		} else if err := json.Unmarshal(data[start:d.i], &key); err != nil {
			return nil, d.fail(err.Error())
		}
		d.space()
		if !d.byte(':') {
			return nil, d.fail("want ':' after an object key")
		}
		d.space()
		vstart := d.i
		if err := d.value(1); err != nil { // the object itself is level 1
			return nil, err
		}
		values[key] = buf[vstart:d.i:d.i]
		d.space()
		if d.byte(',') {
			continue
		}
		if d.byte('}') {
			return values, d.end()
		}
		return nil, d.fail("want ',' or '}' after an object member")
	}
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

type objScanner struct {
	data []byte
	i    int
}

func (d *objScanner) fail(why string) error {
	return fmt.Errorf("%sdecoding JSON session data at offset %d: %s: %w", errPrefix, d.i, why, ErrTampered)
}

func (d *objScanner) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *objScanner) byte(c byte) bool {
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end checks that only white space follows the document.
func (d *objScanner) end() error {
	d.space()
	if d.i != len(d.data) {
		return d.fail("data after the object")
	}
	return nil
}

// str scans a string at d.i and reports whether it holds no escape and
// only ASCII (its bytes are then its value).
func (d *objScanner) str() (plain bool, err error) {
	if !d.byte('"') {
		return false, d.fail("want a string")
	}
	plain = true
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			return plain, nil
		case c < 0x20:
			return false, d.fail("control character in a string")
		case c == '\\':
			plain = false
			d.i++
			if d.i >= len(d.data) {
				return false, d.fail("unterminated escape")
			}
			switch d.data[d.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i++
			case 'u':
				if d.i+5 > len(d.data) || !isHex4(d.data[d.i+1:d.i+5]) {
					return false, d.fail("bad \\u escape")
				}
				d.i += 5
			default:
				return false, d.fail("bad escape")
			}
		default:
			if c >= 0x80 {
				plain = false
			}
			d.i++
		}
	}
	return false, d.fail("unterminated string")
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// value scans one JSON value at d.i.
func (d *objScanner) value(depth int) error {
	if d.i >= len(d.data) {
		return d.fail("want a value")
	}
	switch c := d.data[d.i]; {
	case c == '"':
		_, err := d.str()
		return err
	case c == '{':
		return d.compound(depth, '}', true)
	case c == '[':
		return d.compound(depth, ']', false)
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	}
	return d.fail("want a value")
}

// compound scans an object (members) or an array at d.i.
func (d *objScanner) compound(depth int, closer byte, members bool) error {
	if depth++; depth > maxDepth {
		return d.fail("nested too deeply")
	}
	d.i++
	d.space()
	if d.byte(closer) {
		return nil
	}
	for {
		d.space()
		if members {
			if _, err := d.str(); err != nil {
				return err
			}
			d.space()
			if !d.byte(':') {
				return d.fail("want ':' after an object key")
			}
			d.space()
		}
		if err := d.value(depth); err != nil {
			return err
		}
		d.space()
		if d.byte(',') {
			continue
		}
		if d.byte(closer) {
			return nil
		}
		return d.fail("want ',' or a closing bracket")
	}
}

func (d *objScanner) literal(word string) error {
	if len(d.data)-d.i < len(word) || string(d.data[d.i:d.i+len(word)]) != word {
		return d.fail("bad literal")
	}
	d.i += len(word)
	return nil
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (d *objScanner) number() error {
	d.byte('-')
	switch {
	case d.byte('0'):
	case d.digits() == 0:
		return d.fail("bad number")
	}
	if d.byte('.') && d.digits() == 0 {
		return d.fail("bad number fraction")
	}
	if d.byte('e') || d.byte('E') {
		if !d.byte('+') {
			d.byte('-')
		}
		if d.digits() == 0 {
			return d.fail("bad number exponent")
		}
	}
	return nil
}

func (d *objScanner) digits() int {
	start := d.i
	for d.i < len(d.data) && '0' <= d.data[d.i] && d.data[d.i] <= '9' {
		d.i++
	}
	return d.i - start
}
