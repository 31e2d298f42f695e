package djangocodec

// The writer half of the restricted pickle codec (see pickle.go).

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// pickleSession encodes the JSON object js as a pickled dict (protocol 2,
// readable by every Python 3 pickle.loads), keeping key order. Strings
// become str, integers int (BININT1, BININT2, BININT, then LONG1 or LONG4),
// numbers with a fraction or exponent float, and also -0 (the only integer
// text a float gives, so that it reads back as written), arrays list, objects
// dict, true/false bool, null None. Top-level entries whose key is in dt are
// written as datetime.datetime objects with the given time instead of their
// JSON value (keys of dt missing from js are ignored): aware ones in UTC with
// tzinfo datetime.timezone.utc (pickled as
// datetime.timezone(datetime.timedelta(0))), naive ones without tzinfo; the
// time is truncated to the microsecond. A js that is not a JSON object gives
// an error wrapping errNotJSONObject; so that whatever it writes
// unpickleSession reads, it refuses nesting deeper than 64, ints longer than
// 4300 digits, numbers beyond float64 and years outside 1 to 9999.
func pickleSession(js []byte, dt map[string]pyTime) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("djangocodec: pickling session data: %w", errNotJSONObject)
	}
	p := &jsonPickler{
		dec:  dec,
		dt:   dt,
		out:  []byte{opProto, 2, opEmptyDict, opMark},
		open: []int{pickleWantKey},
	}
	for len(p.open) > 0 {
		if err := p.token(); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("djangocodec: pickling session data: more after the object: %w", errNotJSONObject)
	}
	return append(p.out, opStop), nil
}

// Pickle is postfix and JSON prefix, but with MARK neither needs a tree:
// '{' is EMPTY_DICT MARK, '}' SETITEMS, '[' EMPTY_LIST MARK, ']' APPENDS.
// jsonPickler.open holds the state of each open container, one of these.
const (
	pickleInArray = iota
	pickleWantKey
	pickleWantValue
)

// jsonPickler holds the state of one pickleSession.
type jsonPickler struct {
	dec  *json.Decoder
	dt   map[string]pyTime
	out  []byte
	open []int // the state of each open container, outermost first
}

// token pickles the next JSON token.
func (p *jsonPickler) token() error {
	tok, err := p.dec.Token()
	if err != nil {
		return fmt.Errorf("djangocodec: pickling session data: %v: %w", err, errNotJSONObject)
	}
	top := len(p.open) - 1
	if key, ok := tok.(string); ok && p.open[top] == pickleWantKey {
		return p.key(key, top)
	}
	if d, ok := tok.(json.Delim); ok {
		if d == '{' || d == '[' {
			return p.begin(d)
		}
		p.end(d, top)
	} else if err := p.scalar(tok); err != nil {
		return err
	}
	// A value ended: the object around it wants its next key.
	if n := len(p.open); n > 0 && p.open[n-1] == pickleWantValue {
		p.open[n-1] = pickleWantKey
	}
	return nil
}

// key pickles the key of an entry of the object open at level top; a
// top-level key in p.dt takes its value from there, skipping the JSON one.
func (p *jsonPickler) key(key string, top int) error {
	p.out = pickleAppendStr(p.out, key)
	p.open[top] = pickleWantValue
	t, ok := p.dt[key]
	if !ok || top != 0 {
		return nil
	}
	var skip json.RawMessage
	if err := p.dec.Decode(&skip); err != nil {
		return fmt.Errorf("djangocodec: pickling session data: %v: %w", err, errNotJSONObject)
	}
	var err error
	if p.out, err = pickleAppendDatetime(p.out, t); err != nil {
		return err
	}
	p.open[top] = pickleWantKey
	return nil
}

// begin opens an object or an array.
func (p *jsonPickler) begin(d json.Delim) error {
	if len(p.open) >= maxPickleDepth {
		return fmt.Errorf("djangocodec: pickling session data: nested deeper than %d", maxPickleDepth)
	}
	if d == '{' {
		p.out = append(p.out, opEmptyDict, opMark)
		p.open = append(p.open, pickleWantKey)
	} else {
		p.out = append(p.out, opEmptyList, opMark)
		p.open = append(p.open, pickleInArray)
	}
	return nil
}

// end closes the object or array open at level top.
func (p *jsonPickler) end(d json.Delim, top int) {
	if d == '}' {
		p.out = append(p.out, opSetItems)
	} else {
		p.out = append(p.out, opAppends)
	}
	p.open = p.open[:top]
}

// scalar pickles a string, number, bool or null value.
func (p *jsonPickler) scalar(tok json.Token) error {
	switch tok := tok.(type) {
	case string:
		p.out = pickleAppendStr(p.out, tok)
	case json.Number:
		var err error
		if p.out, err = pickleAppendNumber(p.out, string(tok)); err != nil {
			return err
		}
	case bool:
		if tok {
			p.out = append(p.out, opNewTrue)
		} else {
			p.out = append(p.out, opNewFalse)
		}
	case nil:
		p.out = append(p.out, opNone)
	}
	return nil
}

// pickleAppendStr appends BINUNICODE s.
func pickleAppendStr(out []byte, s string) []byte {
	out = append(out, opBinUnicode)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(s)))
	return append(out, s...)
}

// pickleAppendNumber appends the JSON number s as an int or a float.
func pickleAppendNumber(out []byte, s string) ([]byte, error) {
	if strings.ContainsAny(s, ".eE") || s == "-0" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !(errors.Is(err, strconv.ErrRange) && !math.IsInf(f, 0)) {
			return nil, fmt.Errorf("djangocodec: pickling session data: number %.40s beyond float64", s)
		}
		out = append(out, opBinFloat)
		return binary.BigEndian.AppendUint64(out, math.Float64bits(f)), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch {
		case n >= 0 && n <= 0xff:
			return append(out, opBinInt1, byte(n)), nil
		case n >= 0 && n <= 0xffff:
			return binary.LittleEndian.AppendUint16(append(out, opBinInt2), uint16(n)), nil
		case n >= math.MinInt32 && n <= math.MaxInt32:
			return binary.LittleEndian.AppendUint32(append(out, opBinInt), uint32(int32(n))), nil
		}
	}
	if len(strings.TrimPrefix(s, "-")) > pickleMaxIntDigits {
		return nil, fmt.Errorf("djangocodec: pickling session data: int longer than %d digits", pickleMaxIntDigits)
	}
	n, _ := new(big.Int).SetString(s, 10) // valid: the decoder checked the syntax
	return pickleAppendLong(out, n), nil
}

// pickleAppendLong appends n as LONG1 or LONG4: little-endian two's complement
// in the fewest bytes.
func pickleAppendLong(out []byte, n *big.Int) []byte {
	var le []byte
	if n.Sign() >= 0 {
		le = n.Bytes()
	} else {
		// -n-1 with every bit flipped is n in two's complement.
		le = new(big.Int).Sub(new(big.Int).Neg(n), big.NewInt(1)).Bytes()
		for k := range le {
			le[k] ^= 0xff
		}
	}
	for k, j := 0, len(le)-1; k < j; k, j = k+1, j-1 {
		le[k], le[j] = le[j], le[k]
	}
	// A sign byte when the top bit does not already say the sign.
	if n.Sign() >= 0 && len(le) > 0 && le[len(le)-1]&0x80 != 0 {
		le = append(le, 0)
	} else if n.Sign() < 0 && (len(le) == 0 || le[len(le)-1]&0x80 == 0) {
		le = append(le, 0xff)
	}
	if len(le) <= 0xff {
		out = append(out, opLong1, byte(len(le)))
	} else {
		out = binary.LittleEndian.AppendUint32(append(out, opLong4), uint32(len(le)))
	}
	return append(out, le...)
}

// pickleAppendGlobal appends GLOBAL mod name.
func pickleAppendGlobal(out []byte, mod, name string) []byte {
	return append(append(out, opGlobal), mod+"\n"+name+"\n"...)
}

// pickleAppendDatetime appends a datetime.datetime as Python 3 pickles it at
// protocol 2: datetime(_codecs.encode(state, "latin1")[, tzinfo]).
func pickleAppendDatetime(out []byte, v pyTime) ([]byte, error) {
	t := v.t
	if !v.naive {
		t = t.UTC()
	}
	y, us := t.Year(), t.Nanosecond()/1000
	if y < 1 || y > 9999 {
		return nil, fmt.Errorf("djangocodec: pickling session data: year %d outside Python's 1 to 9999", y)
	}
	state := []byte{byte(y >> 8), byte(y), byte(t.Month()), byte(t.Day()), byte(t.Hour()),
		byte(t.Minute()), byte(t.Second()), byte(us >> 16), byte(us >> 8), byte(us)}
	latin1 := make([]rune, len(state))
	for k, c := range state {
		latin1[k] = rune(c)
	}
	out = pickleAppendGlobal(out, "datetime", "datetime")
	out = pickleAppendGlobal(out, "_codecs", "encode")
	out = pickleAppendStr(out, string(latin1))
	out = pickleAppendStr(out, "latin1")
	out = append(out, opTuple2, opReduce)
	if v.naive {
		return append(out, opTuple1, opReduce), nil
	}
	out = pickleAppendGlobal(out, "datetime", "timezone")
	out = pickleAppendGlobal(out, "datetime", "timedelta")
	out = append(out, opBinInt1, 0, opBinInt1, 0, opBinInt1, 0, opTuple3, opReduce) // timedelta(0, 0, 0)
	out = append(out, opTuple1, opReduce)                                           // timezone(timedelta(0))
	return append(out, opTuple2, opReduce), nil                                     // datetime(state, tz)
}
