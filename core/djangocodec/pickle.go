package djangocodec

// A restricted reader and writer of Python pickles, for the session values
// Django's cache and cached_db backends keep in memcached: the session dict
// pickled by pylibmc or pymemcache (flags=1).
//
// The reader is not a pickle virtual machine that calls what the pickle
// names: it interprets a fixed list of opcodes, and the only "calls" it
// knows are five whitelisted constructors it evaluates itself
// (datetime.datetime, datetime.timezone, datetime.timedelta, pytz._UTC and
// _codecs.encode, the last only to turn a latin-1 str into the bytes of a
// datetime's state, which is how protocols 0 to 2 pickle bytes). Everything
// else is refused as tampering. Memory stays proportional to the input: every
// length is checked against the bytes left before anything is allocated,
// containers nest at most maxPickleDepth deep and the JSON written is
// bounded (see pickleMaxJSON).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloakroom/cloakroom/core"
)

// pyTime is a datetime.datetime value for pickleSession.
type pyTime struct {
	t     time.Time // the instant (for naive: its wall clock is written)
	naive bool      // write without tzinfo (Django with USE_TZ = False)
}

const (
	// maxPickleDepth bounds the nesting of dicts, lists and tuples, the
	// session dict itself counting as the first level.
	maxPickleDepth = 64
	// pickleMaxIntDigits is CPython's default limit on converting an int to
	// decimal (sys.get_int_max_str_digits()): Django could not write a
	// longer int as JSON either.
	pickleMaxIntDigits = 4300
	// pickleMaxMemo bounds the number of memo entries.
	pickleMaxMemo = 1 << 20
)

// pickleMaxJSON is the most JSON unpickleSession writes for a pickle of n
// bytes. Without memo references the JSON is at most a few times the
// pickle; a memo reference (2 bytes) can repeat a whole string or container,
// and nested ones could multiply it without bound, so the output is capped.
func pickleMaxJSON(n int) int { return 16*n + 1<<20 }

// The opcodes the reader accepts (pickletools' names) and the writer uses.
const (
	opMark            = '('
	opStop            = '.'
	opInt             = 'I'
	opBinInt          = 'J'
	opBinInt1         = 'K'
	opBinInt2         = 'M'
	opLong            = 'L'
	opNone            = 'N'
	opReduce          = 'R'
	opUnicode         = 'V'
	opBinUnicode      = 'X'
	opFloat           = 'F'
	opBinFloat        = 'G'
	opBinBytes        = 'B'
	opShortBinBytes   = 'C'
	opAppend          = 'a'
	opAppends         = 'e'
	opGlobal          = 'c'
	opDict            = 'd'
	opEmptyDict       = '}'
	opGet             = 'g'
	opBinGet          = 'h'
	opLongBinGet      = 'j'
	opList            = 'l'
	opEmptyList       = ']'
	opPut             = 'p'
	opBinPut          = 'q'
	opLongBinPut      = 'r'
	opSetItem         = 's'
	opSetItems        = 'u'
	opTuple           = 't'
	opEmptyTuple      = ')'
	opProto           = 0x80
	opTuple1          = 0x85
	opTuple2          = 0x86
	opTuple3          = 0x87
	opNewTrue         = 0x88
	opNewFalse        = 0x89
	opLong1           = 0x8a
	opLong4           = 0x8b
	opShortBinUnicode = 0x8c
	opBinUnicode8     = 0x8d
	opStackGlobal     = 0x93
	opMemoize         = 0x94
	opFrame           = 0x95
)

// The values the reader builds. Python's int is int64 or *big.Int, float is
// float64, str is string, bool is bool and None is nil.
type (
	pyDict struct {
		keys  []string
		vals  []any
		index map[string]int // key -> position in keys
	}
	pyList      struct{ items []any }
	pyTuple     []any
	pyBytes     []byte
	pyGlobal    int // one of the whitelisted callables
	pyTimedelta struct{ days, secs, micros int64 }
	// pyTZ is a fixed-offset tzinfo: datetime.timezone or pytz.utc.
	pyTZ       struct{ offset int64 } // microseconds east of UTC
	pyDatetime struct {
		year, month, day, hour, minute, second, micro int
		tz                                            *pyTZ // nil: naive
	}
)

// set stores v under k as a Python dict does: a new key goes last, an
// existing one keeps its position and takes the new value.
func (d *pyDict) set(k string, v any) {
	if i, ok := d.index[k]; ok {
		d.vals[i] = v
		return
	}
	d.index[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

// The whitelisted callables: a GLOBAL or STACK_GLOBAL naming anything else
// is refused.
const (
	gDatetime pyGlobal = iota
	gTimezone
	gTimedelta
	gPytzUTC
	gCodecsEncode
)

var pyGlobals = map[string]pyGlobal{
	"datetime\ndatetime":  gDatetime,
	"datetime\ntimezone":  gTimezone,
	"datetime\ntimedelta": gTimedelta,
	"pytz\n_UTC":          gPytzUTC,
	"_codecs\nencode":     gCodecsEncode,
}

// pyTypeName names v's Python type for error messages.
func pyTypeName(v any) string {
	switch v.(type) {
	case *pyDict:
		return "dict"
	case *pyList:
		return "list"
	case pyTuple:
		return "tuple"
	case string:
		return "str"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case bool:
		return "bool"
	case nil:
		return "None"
	case pyBytes:
		return "bytes"
	case pyGlobal:
		return "callable"
	case pyTimedelta:
		return "datetime.timedelta"
	case *pyTZ:
		return "tzinfo"
	case *pyDatetime:
		return "datetime.datetime"
	}
	return fmt.Sprintf("%T", v)
}

// unpickleSession decodes the pickle p of a Python dict with str keys into
// the JSON text of an object with the same entries in the same order.
// Values: dict (str keys only), list and tuple (-> JSON array), str, int
// (up to 4300 digits, CPython's limit for printing one -> JSON integer), float
// (finite only -> the JSON number encoding/json writes for the float64, so
// 1.0 becomes 1), bool, None, and datetime.datetime (naive, or aware with
// tzinfo pytz.utc or datetime.timezone(timedelta[, name])) -> a JSON string
// in Python's isoformat() form. Strings are written as encoding/json writes
// them, without HTML escaping. Pickles of protocols 0 to 5 are read.
// Memo references are followed (a shared container is written once per
// reference); nesting deeper than 64 containers, including through a cycle,
// and JSON longer than pickleMaxJSON are refused. Every failure wraps
// core.ErrTampered; p is never executed, only interpreted.
func unpickleSession(p []byte) ([]byte, error) {
	u := &unpickler{p: p, memo: map[uint64]any{}}
	v, err := u.run()
	if err != nil {
		return nil, err
	}
	if _, ok := v.(*pyDict); !ok {
		return nil, fmt.Errorf("djangocodec: pickle holds a %s, not a dict: %w", pyTypeName(v), core.ErrTampered)
	}
	w := &pickleJSONWriter{limit: pickleMaxJSON(len(p))}
	w.enc = json.NewEncoder(&w.str)
	w.enc.SetEscapeHTML(false)
	if err := w.value(v, 0); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

// unpickler holds the state of one unpickleSession. As in Python, MARK
// starts a new stack segment: marks holds where each open one starts, and
// an opcode can only pop values above the last mark.
type unpickler struct {
	p     []byte
	i     int // offset of the next byte
	stack []any
	marks []int
	memo  map[uint64]any
	// stopped is set by STOP, which leaves the result as the only value.
	stopped bool
}

// pickleRefused returns the error for a refused pickle; at is the offset of the
// opcode being read.
func pickleRefused(at int, format string, args ...any) error {
	return fmt.Errorf("djangocodec: pickle %s at offset %d: %w", fmt.Sprintf(format, args...), at, core.ErrTampered)
}

// read returns the next n bytes (n comes from the pickle, so it may be huge
// or negative), refusing a length beyond the input.
func (u *unpickler) read(at int, n uint64) ([]byte, error) {
	if n > uint64(len(u.p)-u.i) {
		return nil, pickleRefused(at, "length %d exceeds the %d bytes left", n, len(u.p)-u.i)
	}
	b := u.p[u.i : u.i+int(n)]
	u.i += int(n)
	return b, nil
}

// readLine returns the text up to the next newline (the argument of a
// protocol 0 opcode), without it.
func (u *unpickler) readLine(at int) ([]byte, error) {
	n := bytes.IndexByte(u.p[u.i:], '\n')
	if n < 0 {
		return nil, pickleRefused(at, "truncated: no end of line")
	}
	b := u.p[u.i : u.i+n]
	u.i += n + 1
	return b, nil
}

// readUint reads an n-byte little-endian unsigned integer (n is 1, 2, 4 or 8).
func (u *unpickler) readUint(at, n int) (uint64, error) {
	b, err := u.read(at, uint64(n))
	if err != nil {
		return 0, err
	}
	var x uint64
	for k := n - 1; k >= 0; k-- {
		x = x<<8 | uint64(b[k])
	}
	return x, nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

// floor is where the current stack segment starts.
func (u *unpickler) floor() int {
	if len(u.marks) == 0 {
		return 0
	}
	return u.marks[len(u.marks)-1]
}

// pop removes and returns the top n values of the current segment.
func (u *unpickler) pop(at, n int) ([]any, error) {
	if len(u.stack)-u.floor() < n {
		return nil, pickleRefused(at, "stack underflow")
	}
	vs := u.stack[len(u.stack)-n:]
	u.stack = u.stack[:len(u.stack)-n]
	return vs, nil
}

// top returns the value on top of the current segment.
func (u *unpickler) top(at int) (any, error) {
	if len(u.stack) == u.floor() {
		return nil, pickleRefused(at, "stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark removes the current segment and its mark, returning a copy of its
// values.
func (u *unpickler) popMark(at int) ([]any, error) {
	if len(u.marks) == 0 {
		return nil, pickleRefused(at, "has no MARK")
	}
	f := u.floor()
	vs := append([]any(nil), u.stack[f:]...)
	u.stack = u.stack[:f]
	u.marks = u.marks[:len(u.marks)-1]
	return vs, nil
}

// setItems adds key, value pairs to the dict on top of the stack.
func (u *unpickler) setItems(at int, kv []any) error {
	t, err := u.top(at)
	if err != nil {
		return err
	}
	d, ok := t.(*pyDict)
	if !ok {
		return pickleRefused(at, "sets items on a %s", pyTypeName(t))
	}
	if len(kv)%2 != 0 {
		return pickleRefused(at, "has a key without a value")
	}
	for k := 0; k < len(kv); k += 2 {
		key, ok := kv[k].(string)
		if !ok {
			return pickleRefused(at, "has a dict key of type %s (only str keys are allowed)", pyTypeName(kv[k]))
		}
		d.set(key, kv[k+1])
	}
	return nil
}

// appendItems appends to the list on top of the stack.
func (u *unpickler) appendItems(at int, vs []any) error {
	t, err := u.top(at)
	if err != nil {
		return err
	}
	l, ok := t.(*pyList)
	if !ok {
		return pickleRefused(at, "appends to a %s", pyTypeName(t))
	}
	l.items = append(l.items, vs...)
	return nil
}

func (u *unpickler) put(at int, idx uint64) error {
	v, err := u.top(at)
	if err != nil {
		return err
	}
	if _, ok := u.memo[idx]; !ok && len(u.memo) >= pickleMaxMemo {
		return pickleRefused(at, "memo exceeds %d entries", pickleMaxMemo)
	}
	u.memo[idx] = v
	return nil
}

func (u *unpickler) get(at int, idx uint64) error {
	v, ok := u.memo[idx]
	if !ok {
		return pickleRefused(at, "memo entry %d is not set", idx)
	}
	u.push(v)
	return nil
}

// pickleStr checks that b is UTF-8 (Python writes lone surrogates, which JSON text
// cannot hold, as invalid UTF-8) and returns it as a string.
func pickleStr(at int, b []byte) (any, error) {
	if !utf8.Valid(b) {
		return nil, pickleRefused(at, "has a str that is not valid UTF-8")
	}
	return string(b), nil
}

// pickleDecodeLong decodes LONG1 and LONG4's little-endian two's complement.
func pickleDecodeLong(at int, b []byte) (any, error) {
	if len(b) <= 8 {
		var x uint64
		for k := len(b) - 1; k >= 0; k-- {
			x = x<<8 | uint64(b[k])
		}
		if len(b) > 0 && len(b) < 8 && b[len(b)-1]&0x80 != 0 {
			x |= uint64(math.MaxUint64) << (8 * len(b)) // sign-extend
		}
		return int64(x), nil
	}
	// Two's complement of n bytes: at most 8n·log10(2) < 2.41n digits.
	if len(b) > pickleMaxIntDigits*10/24 {
		return nil, pickleRefused(at, "has an int longer than %d digits", pickleMaxIntDigits)
	}
	be := make([]byte, len(b))
	for k := range b {
		be[len(b)-1-k] = b[k]
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n, nil
}

// pickleParseInt parses the decimal text of protocol 0's INT and LONG and of the
// memo indexes of PUT and GET: an optional minus sign and digits.
func pickleParseInt(at int, s []byte) (any, error) {
	d := s
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > pickleMaxIntDigits || strings.Trim(string(d), "0123456789") != "" {
		return nil, pickleRefused(at, "has a malformed int %q", pickleQuote(s))
	}
	if n, err := strconv.ParseInt(string(s), 10, 64); err == nil {
		return n, nil
	}
	n, _ := new(big.Int).SetString(string(s), 10)
	return n, nil
}

// pickleMemoIndex parses the text argument of PUT and GET.
func pickleMemoIndex(at int, s []byte) (uint64, error) {
	n, err := pickleParseInt(at, s)
	if err != nil {
		return 0, err
	}
	if i, ok := n.(int64); ok && i >= 0 {
		return uint64(i), nil
	}
	return 0, pickleRefused(at, "has a bad memo index %q", pickleQuote(s))
}

// pickleQuote shortens pickle text quoted in an error.
func pickleQuote(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// pickleFloat refuses what JSON cannot hold.
func pickleFloat(at int, f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, pickleRefused(at, "has a float %v, which JSON cannot hold", f)
	}
	return f, nil
}

// pickleRawUnicodeEscape decodes protocol 0's UNICODE argument as Python's
// raw-unicode-escape codec does: bytes are latin-1 except \uXXXX and
// \UXXXXXXXX after an odd number of backslashes.
func pickleRawUnicodeEscape(at int, b []byte) (any, error) {
	var sb strings.Builder
	for i := 0; i < len(b); {
		if b[i] != '\\' {
			sb.WriteRune(rune(b[i]))
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] == '\\' {
			j++
		}
		if (j-i)%2 == 0 || j == len(b) || (b[j] != 'u' && b[j] != 'U') {
			sb.WriteString(strings.Repeat(`\`, j-i))
			i = j
			continue
		}
		sb.WriteString(strings.Repeat(`\`, j-i-1))
		n := 4
		if b[j] == 'U' {
			n = 8
		}
		if j+1+n > len(b) {
			return nil, pickleRefused(at, "has a truncated \\u escape")
		}
		r, err := strconv.ParseUint(string(b[j+1:j+1+n]), 16, 32)
		if err != nil || r > utf8.MaxRune || (r >= 0xd800 && r <= 0xdfff) {
			return nil, pickleRefused(at, "has a bad \\u escape %q", b[j:j+1+n])
		}
		sb.WriteRune(rune(r))
		i = j + 1 + n
	}
	return sb.String(), nil
}

// pickleGlobal returns the whitelisted callable module.name, or refuses it.
func pickleGlobal(at int, mod, name string) (any, error) {
	g, ok := pyGlobals[mod+"\n"+name]
	if !ok {
		return nil, pickleRefused(at, "global %.40q %.40q not allowed", mod, name)
	}
	return g, nil
}

// pickleCall evaluates the REDUCE of fn (which must be a whitelisted callable) on
// args (which must be a tuple) for the argument shapes Python writes.
func pickleCall(at int, fn, args any) (any, error) {
	g, ok := fn.(pyGlobal)
	if !ok {
		return nil, pickleRefused(at, "REDUCE on a %s", pyTypeName(fn))
	}
	a, ok := args.(pyTuple)
	if !ok {
		return nil, pickleRefused(at, "REDUCE with arguments in a %s", pyTypeName(args))
	}
	v, ok, err := pickleCallees[g](at, a)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, pickleRefusedCall(at, g, a)
	}
	return v, nil
}

// A pickleCallee evaluates one whitelisted callable on the arguments a. It
// returns ok false for arguments of a shape Python does not write, and an
// error for a value the callable refuses.
type pickleCallee func(at int, a pyTuple) (v any, ok bool, err error)

// pickleCallees holds the whitelisted callables, by pyGlobal.
var pickleCallees = [...]pickleCallee{
	gDatetime:     pickleCallDatetime,
	gTimezone:     pickleCallTimezone,
	gTimedelta:    pickleCallTimedelta,
	gPytzUTC:      pickleCallPytzUTC,
	gCodecsEncode: pickleCallCodecsEncode,
}

// pickleGlobalNames names the whitelisted callables, by pyGlobal.
var pickleGlobalNames = [...]string{
	gDatetime:     "datetime.datetime",
	gTimezone:     "datetime.timezone",
	gTimedelta:    "datetime.timedelta",
	gPytzUTC:      "pytz._UTC",
	gCodecsEncode: "_codecs.encode",
}

// pickleRefusedCall returns the error for a call of g on arguments of a
// shape it does not take.
func pickleRefusedCall(at int, g pyGlobal, a pyTuple) error {
	kinds := make([]string, len(a))
	for k, x := range a {
		kinds[k] = pyTypeName(x)
	}
	return pickleRefused(at, "call %s(%s) not allowed", pickleGlobalNames[g], strings.Join(kinds, ", "))
}

// pickleCallCodecsEncode evaluates _codecs.encode(str, "latin1"), which is
// how protocols 0 to 2 pickle bytes.
func pickleCallCodecsEncode(at int, a pyTuple) (any, bool, error) {
	if len(a) != 2 || a[1] != "latin1" {
		return nil, false, nil
	}
	s, ok := a[0].(string)
	if !ok {
		return nil, false, nil
	}
	b := make(pyBytes, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, false, pickleRefused(at, "_codecs.encode of a non-latin-1 str")
		}
		b = append(b, byte(r))
	}
	return b, true, nil
}

// pickleCallDatetime evaluates datetime(state[, tzinfo]).
func pickleCallDatetime(at int, a pyTuple) (any, bool, error) {
	if len(a) != 1 && len(a) != 2 {
		return nil, false, nil
	}
	state, ok := a[0].(pyBytes)
	var tz *pyTZ
	if len(a) == 2 && a[1] != nil {
		tz, _ = a[1].(*pyTZ)
		ok = ok && tz != nil
	}
	if !ok {
		return nil, false, nil
	}
	v, err := pickleDatetimeFromState(at, state, tz)
	return v, err == nil, err
}

// pickleCallTimezone evaluates timezone(offset[, name]).
func pickleCallTimezone(_ int, a pyTuple) (any, bool, error) {
	if len(a) != 1 && len(a) != 2 {
		return nil, false, nil
	}
	td, ok := a[0].(pyTimedelta)
	if len(a) == 2 {
		_, isStr := a[1].(string)
		ok = ok && isStr
	}
	// |offset| < 24 h: days is -1 or 0 with normalised seconds and micros.
	if !ok || !(td.days == 0 || td.days == -1 && td.secs+td.micros > 0) {
		return nil, false, nil
	}
	return &pyTZ{offset: (td.days*86400+td.secs)*1e6 + td.micros}, true, nil
}

// pickleCallTimedelta evaluates timedelta(days, seconds, microseconds),
// normalised as Python writes it.
func pickleCallTimedelta(_ int, a pyTuple) (any, bool, error) {
	if len(a) != 3 {
		return nil, false, nil
	}
	d, ok1 := a[0].(int64)
	s, ok2 := a[1].(int64)
	us, ok3 := a[2].(int64)
	if ok1 && ok2 && ok3 && d >= -999999999 && d <= 999999999 && s >= 0 && s < 86400 && us >= 0 && us < 1e6 {
		return pyTimedelta{d, s, us}, true, nil
	}
	return nil, false, nil
}

// pickleCallPytzUTC evaluates pytz._UTC(), which is pytz.utc.
func pickleCallPytzUTC(_ int, a pyTuple) (any, bool, error) {
	if len(a) != 0 {
		return nil, false, nil
	}
	return &pyTZ{}, true, nil
}

// pickleDatetimeFromState decodes the 10-byte state of a pickled datetime: year
// (2 bytes, big-endian), month (with the fold bit as its high bit), day,
// hour, minute, second, microsecond (3 bytes, big-endian).
func pickleDatetimeFromState(at int, s pyBytes, tz *pyTZ) (any, error) {
	if len(s) != 10 {
		return nil, pickleRefused(at, "datetime state of %d bytes", len(s))
	}
	d := &pyDatetime{
		year: int(s[0])<<8 | int(s[1]), month: int(s[2] & 0x7f), day: int(s[3]),
		hour: int(s[4]), minute: int(s[5]), second: int(s[6]),
		micro: int(s[7])<<16 | int(s[8])<<8 | int(s[9]), tz: tz,
	}
	// The last day of the month: day 0 of the next month, in a year Go
	// handles like the proleptic Gregorian calendar Python uses.
	days := 0
	if d.month >= 1 && d.month <= 12 {
		days = time.Date(d.year, time.Month(d.month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	}
	if d.year < 1 || d.year > 9999 || d.day < 1 || d.day > days || d.hour > 23 || d.minute > 59 || d.second > 59 || d.micro > 999999 {
		return nil, pickleRefused(at, "datetime state % x out of range", []byte(s))
	}
	return d, nil
}

// isoformat writes d as Python's datetime.isoformat() does.
func (d *pyDatetime) isoformat() string {
	s := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", d.year, d.month, d.day, d.hour, d.minute, d.second)
	if d.micro != 0 {
		s += fmt.Sprintf(".%06d", d.micro)
	}
	if d.tz != nil {
		off, sign := d.tz.offset, "+"
		if off < 0 {
			off, sign = -off, "-"
		}
		us, sec := off%1e6, off/1e6
		s += fmt.Sprintf("%s%02d:%02d", sign, sec/3600, sec/60%60)
		if sec%60 != 0 || us != 0 {
			s += fmt.Sprintf(":%02d", sec%60)
		}
		if us != 0 {
			s += fmt.Sprintf(".%06d", us)
		}
	}
	return s
}

// pickleJSONWriter writes the unpickled value as compact JSON.
type pickleJSONWriter struct {
	buf   bytes.Buffer
	str   bytes.Buffer // scratch for enc
	enc   *json.Encoder
	limit int
}

// string writes s as encoding/json does with SetEscapeHTML(false).
func (w *pickleJSONWriter) string(s string) {
	w.str.Reset()
	_ = w.enc.Encode(s) // a string always encodes
	w.buf.Write(bytes.TrimSuffix(w.str.Bytes(), []byte("\n")))
}

// value writes v at nesting depth depth (the number of containers around
// it), refusing what JSON cannot hold, nesting beyond maxPickleDepth and
// output beyond w.limit. Every call writes at least one byte, so the work
// is bounded by the limit even when memo references share containers.
func (w *pickleJSONWriter) value(v any, depth int) error {
	if w.buf.Len() > w.limit {
		return fmt.Errorf("djangocodec: unpickled session exceeds %d bytes of JSON: %w", w.limit, core.ErrTampered)
	}
	switch v := v.(type) {
	case *pyDict:
		return w.dict(v, depth)
	case *pyList:
		return w.array(v.items, depth)
	case pyTuple:
		return w.array(v, depth)
	}
	return w.scalar(v)
}

// nest refuses a container at depth maxPickleDepth or deeper.
func (w *pickleJSONWriter) nest(depth int) error {
	if depth >= maxPickleDepth {
		return fmt.Errorf("djangocodec: pickle nests containers deeper than %d: %w", maxPickleDepth, core.ErrTampered)
	}
	return nil
}

func (w *pickleJSONWriter) dict(d *pyDict, depth int) error {
	if err := w.nest(depth); err != nil {
		return err
	}
	w.buf.WriteByte('{')
	for k, key := range d.keys {
		if k > 0 {
			w.buf.WriteByte(',')
		}
		w.string(key)
		w.buf.WriteByte(':')
		if err := w.value(d.vals[k], depth+1); err != nil {
			return err
		}
	}
	w.buf.WriteByte('}')
	return nil
}

func (w *pickleJSONWriter) array(items []any, depth int) error {
	if err := w.nest(depth); err != nil {
		return err
	}
	w.buf.WriteByte('[')
	for k, x := range items {
		if k > 0 {
			w.buf.WriteByte(',')
		}
		if err := w.value(x, depth+1); err != nil {
			return err
		}
	}
	w.buf.WriteByte(']')
	return nil
}

// scalar writes a value that is not a container.
func (w *pickleJSONWriter) scalar(v any) error {
	switch v := v.(type) {
	case string:
		w.string(v)
	case int64:
		w.buf.WriteString(strconv.FormatInt(v, 10))
	case *big.Int:
		return w.bigInt(v)
	case float64:
		return w.float(v)
	case bool:
		w.buf.WriteString(strconv.FormatBool(v))
	case nil:
		w.buf.WriteString("null")
	case *pyDatetime:
		w.string(v.isoformat())
	default:
		return fmt.Errorf("djangocodec: pickle has a %s value, which JSON cannot hold: %w", pyTypeName(v), core.ErrTampered)
	}
	return nil
}

func (w *pickleJSONWriter) bigInt(n *big.Int) error {
	s := n.String()
	if len(strings.TrimPrefix(s, "-")) > pickleMaxIntDigits {
		return fmt.Errorf("djangocodec: pickle has an int longer than %d digits: %w", pickleMaxIntDigits, core.ErrTampered)
	}
	w.buf.WriteString(s)
	return nil
}

func (w *pickleJSONWriter) float(f float64) error {
	b, err := json.Marshal(f)
	if err != nil { // unreachable: NaN and infinities are refused when read
		return fmt.Errorf("djangocodec: pickle float: %v: %w", err, core.ErrTampered)
	}
	w.buf.Write(b)
	return nil
}
