package core

import (
	"encoding/json"
	"strconv"
)

// decodeValue decodes the JSON value raw into dst exactly as json.Unmarshal
// does. The destinations sessions hold most (string, int, int64, bool,
// float64, and a nil []int or []string) take a shortcut without reflection
// when raw is in its plainest form (a string of printable ASCII without
// escapes, an integer of at most 18 digits, and arrays of those); anything
// else, and every error, is json.Unmarshal's. FuzzDecodeValue checks the
// two agree.
func decodeValue(raw []byte, dst any) error {
	switch d := dst.(type) {
	case *string:
		if s, ok := plainString(raw); ok {
			*d = s
			return nil
		}
	case *int:
		if n, ok := plainInt(raw, strconv.IntSize); ok {
			*d = int(n)
			return nil
		}
	case *int64:
		if n, ok := plainInt(raw, 64); ok {
			*d = n
			return nil
		}
	case *bool:
		switch string(raw) {
		case "true":
			*d = true
			return nil
		case "false":
			*d = false
			return nil
		}
	case *float64:
		if isNumber(raw) {
			if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
				*d = f
				return nil
			}
		}
	case *[]int:
		if *d == nil { // json.Unmarshal reuses a non-nil slice's array
			if v, ok := plainArray(raw, func(b []byte) (int, bool) {
				n, ok := plainInt(b, strconv.IntSize)
				return int(n), ok
			}); ok {
				*d = v
				return nil
			}
		}
	case *[]string:
		if *d == nil {
			if v, ok := plainArray(raw, plainString); ok {
				*d = v
				return nil
			}
		}
	}
	return json.Unmarshal(raw, dst)
}

// plainString returns the JSON string raw when it holds printable ASCII
// only, with no escapes.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(body), true
}

// plainInt returns the JSON integer raw (no fraction, no exponent, at most
// 18 digits, which fit an int64) when it fits an int of the given size.
func plainInt(raw []byte, bits int) (int64, bool) {
	b := raw
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	if bits < 64 && (n < -1<<(bits-1) || n > 1<<(bits-1)-1) {
		return 0, false
	}
	return n, true
}

// isNumber reports whether raw follows JSON's number grammar
// (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?), which strconv.ParseFloat
// alone does not check (it also takes "Inf", hexadecimal and "1_0").
func isNumber(raw []byte) bool {
	i := 0
	digits := func() int {
		start := i
		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < len(raw) && raw[i] == '-' {
		i++
	}
	if i < len(raw) && raw[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(raw) && raw[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(raw)
}

// plainArray decodes the JSON array raw, with no space inside (as
// json.Marshal writes it), when elem takes every element. An empty array
// is an empty, non-nil slice, as json.Unmarshal makes it.
func plainArray[T any](raw []byte, elem func([]byte) (T, bool)) ([]T, bool) {
	if len(raw) < 2 || raw[0] != '[' || raw[len(raw)-1] != ']' {
		return nil, false
	}
	body := raw[1 : len(raw)-1]
	if len(body) == 0 {
		return []T{}, true
	}
	n := 1
	for _, c := range body {
		if c == ',' {
			n++
		}
	}
	out := make([]T, 0, n)
	for len(body) > 0 {
		end := 0
		for end < len(body) && body[end] != ',' {
			end++
		}
		// A comma inside a string element makes elem fail: the string is
		// then cut, and its halves are not plain strings.
		v, ok := elem(body[:end])
		if !ok {
			return nil, false
		}
		out = append(out, v)
		if end == len(body) {
			break
		}
		body = body[end+1:]
		if len(body) == 0 { // a trailing comma
			return nil, false
		}
	}
	return out, true
}
