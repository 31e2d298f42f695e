package djangocodec

// The opcodes of the restricted pickle reader (see pickle.go): run reads an
// opcode and calls its handler in pickleOps. An opcode without a handler is
// refused as tampering before anything else happens, so the table is the
// whole list of what a pickle may do.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"strings"
)

// pickleOp handles the opcode op read at offset at: it reads the opcode's
// argument, if any, and changes the stack, the marks or the memo.
type pickleOp func(u *unpickler, at int, op byte) error

// pickleOps maps every accepted opcode to its handler; nil means refused.
var pickleOps = [256]pickleOp{
	opProto: (*unpickler).opProto,
	opFrame: (*unpickler).opFrame,
	opStop:  (*unpickler).opStop,
	opMark:  (*unpickler).opMark,

	opEmptyDict:  (*unpickler).opEmptyDict,
	opEmptyList:  (*unpickler).opEmptyList,
	opEmptyTuple: (*unpickler).opEmptyTuple,
	opDict:       (*unpickler).opDict,
	opList:       (*unpickler).opList,
	opTuple:      (*unpickler).opTuple,
	opTuple1:     (*unpickler).opTupleN,
	opTuple2:     (*unpickler).opTupleN,
	opTuple3:     (*unpickler).opTupleN,
	opAppend:     (*unpickler).opAppend,
	opAppends:    (*unpickler).opAppends,
	opSetItem:    (*unpickler).opSetItem,
	opSetItems:   (*unpickler).opSetItems,

	opShortBinUnicode: (*unpickler).opBinUnicode,
	opBinUnicode:      (*unpickler).opBinUnicode,
	opBinUnicode8:     (*unpickler).opBinUnicode,
	opUnicode:         (*unpickler).opUnicode,
	opShortBinBytes:   (*unpickler).opBinBytes,
	opBinBytes:        (*unpickler).opBinBytes,

	opBinInt1:  (*unpickler).opBinInt1,
	opBinInt2:  (*unpickler).opBinInt2,
	opBinInt:   (*unpickler).opBinInt,
	opLong1:    (*unpickler).opLongN,
	opLong4:    (*unpickler).opLongN,
	opInt:      (*unpickler).opInt,
	opLong:     (*unpickler).opLong,
	opBinFloat: (*unpickler).opBinFloat,
	opFloat:    (*unpickler).opFloat,
	opNewTrue:  (*unpickler).opNewTrue,
	opNewFalse: (*unpickler).opNewFalse,
	opNone:     (*unpickler).opNone,

	opMemoize:    (*unpickler).opMemoize,
	opBinPut:     (*unpickler).opBinPut,
	opLongBinPut: (*unpickler).opBinPut,
	opPut:        (*unpickler).opPut,
	opBinGet:     (*unpickler).opBinGet,
	opLongBinGet: (*unpickler).opBinGet,
	opGet:        (*unpickler).opGet,

	opGlobal:      (*unpickler).opGlobal,
	opStackGlobal: (*unpickler).opStackGlobal,
	opReduce:      (*unpickler).opReduce,
}

// pickleArgSize is the size of the little-endian length or memo index that
// follows the opcodes that have one.
var pickleArgSize = [256]int{
	opShortBinUnicode: 1, opBinUnicode: 4, opBinUnicode8: 8,
	opShortBinBytes: 1, opBinBytes: 4, opLong1: 1, opLong4: 4,
	opBinPut: 1, opLongBinPut: 4, opBinGet: 1, opLongBinGet: 4,
}

// run interprets the pickle up to STOP and returns the value it leaves.
func (u *unpickler) run() (any, error) {
	for !u.stopped {
		at := u.i
		if u.i >= len(u.p) {
			return nil, pickleRefused(at, "truncated: no STOP")
		}
		op := u.p[u.i]
		u.i++
		h := pickleOps[op]
		if h == nil {
			return nil, pickleRefused(at, "opcode 0x%02x not allowed", op)
		}
		if err := h(u, at, op); err != nil {
			return nil, err
		}
	}
	return u.stack[0], nil
}

// pushOrErr pushes v unless err is set, and returns err.
func (u *unpickler) pushOrErr(v any, err error) error {
	if err != nil {
		return err
	}
	u.push(v)
	return nil
}

// readSized reads the little-endian length of the size pickleArgSize gives
// op, then that many bytes.
func (u *unpickler) readSized(at int, op byte) ([]byte, error) {
	n, err := u.readUint(at, pickleArgSize[op])
	if err != nil {
		return nil, err
	}
	return u.read(at, n)
}

// Framing: PROTO, FRAME, STOP and MARK.

func (u *unpickler) opProto(at int, _ byte) error {
	b, err := u.read(at, 1)
	if err == nil && (at != 0 || b[0] > 5) {
		err = pickleRefused(at, "PROTO %d not allowed here", b[0])
	}
	return err
}

// opFrame reads protocol 4+'s FRAME, a hint for buffering: the length must fit.
func (u *unpickler) opFrame(at int, _ byte) error {
	n, err := u.readUint(at, 8)
	if err == nil && n > uint64(len(u.p)-u.i) {
		err = pickleRefused(at, "frame of %d bytes exceeds the %d bytes left", n, len(u.p)-u.i)
	}
	return err
}

func (u *unpickler) opStop(at int, _ byte) error {
	switch {
	case len(u.marks) != 0 || len(u.stack) != 1:
		return pickleRefused(at, "STOP with %d values and %d marks on the stack", len(u.stack), len(u.marks))
	case u.i != len(u.p):
		return pickleRefused(at, "STOP followed by %d more bytes", len(u.p)-u.i)
	}
	u.stopped = true
	return nil
}

func (u *unpickler) opMark(int, byte) error {
	u.marks = append(u.marks, len(u.stack))
	return nil
}

// Containers.

func (u *unpickler) opEmptyDict(int, byte) error {
	u.push(&pyDict{index: map[string]int{}})
	return nil
}

func (u *unpickler) opEmptyList(int, byte) error {
	u.push(&pyList{})
	return nil
}

func (u *unpickler) opEmptyTuple(int, byte) error {
	u.push(pyTuple{})
	return nil
}

func (u *unpickler) opDict(at int, _ byte) error {
	vs, err := u.popMark(at)
	if err != nil {
		return err
	}
	u.push(&pyDict{index: map[string]int{}})
	return u.setItems(at, vs)
}

func (u *unpickler) opList(at int, _ byte) error {
	vs, err := u.popMark(at)
	if err != nil {
		return err
	}
	u.push(&pyList{items: vs})
	return nil
}

func (u *unpickler) opTuple(at int, _ byte) error {
	vs, err := u.popMark(at)
	if err != nil {
		return err
	}
	u.push(pyTuple(vs))
	return nil
}

// opTupleN handles TUPLE1, TUPLE2 and TUPLE3.
func (u *unpickler) opTupleN(at int, op byte) error {
	vs, err := u.pop(at, int(op-opTuple1)+1)
	if err != nil {
		return err
	}
	u.push(append(pyTuple(nil), vs...))
	return nil
}

func (u *unpickler) opAppend(at int, _ byte) error {
	vs, err := u.pop(at, 1)
	if err != nil {
		return err
	}
	return u.appendItems(at, vs)
}

func (u *unpickler) opAppends(at int, _ byte) error {
	vs, err := u.popMark(at)
	if err != nil {
		return err
	}
	return u.appendItems(at, vs)
}

func (u *unpickler) opSetItem(at int, _ byte) error {
	vs, err := u.pop(at, 2)
	if err != nil {
		return err
	}
	return u.setItems(at, vs)
}

func (u *unpickler) opSetItems(at int, _ byte) error {
	vs, err := u.popMark(at)
	if err != nil {
		return err
	}
	return u.setItems(at, vs)
}

// Strings and bytes.

// opBinUnicode handles SHORT_BINUNICODE, BINUNICODE and BINUNICODE8.
func (u *unpickler) opBinUnicode(at int, op byte) error {
	b, err := u.readSized(at, op)
	if err != nil {
		return err
	}
	return u.pushOrErr(pickleStr(at, b))
}

func (u *unpickler) opUnicode(at int, _ byte) error {
	b, err := u.readLine(at)
	if err != nil {
		return err
	}
	return u.pushOrErr(pickleRawUnicodeEscape(at, b))
}

// opBinBytes handles SHORT_BINBYTES and BINBYTES.
func (u *unpickler) opBinBytes(at int, op byte) error {
	b, err := u.readSized(at, op)
	if err != nil {
		return err
	}
	u.push(append(pyBytes(nil), b...))
	return nil
}

// Numbers, bools and None.

func (u *unpickler) opBinInt1(at int, _ byte) error {
	n, err := u.readUint(at, 1)
	return u.pushOrErr(int64(n), err)
}

func (u *unpickler) opBinInt2(at int, _ byte) error {
	n, err := u.readUint(at, 2)
	return u.pushOrErr(int64(n), err)
}

func (u *unpickler) opBinInt(at int, _ byte) error {
	n, err := u.readUint(at, 4)
	return u.pushOrErr(int64(int32(uint32(n))), err)
}

// opLongN handles LONG1 and LONG4.
func (u *unpickler) opLongN(at int, op byte) error {
	n, err := u.readUint(at, pickleArgSize[op])
	if err != nil {
		return err
	}
	if op == opLong4 && int32(uint32(n)) < 0 {
		return pickleRefused(at, "LONG4 with a negative length")
	}
	b, err := u.read(at, n)
	if err != nil {
		return err
	}
	return u.pushOrErr(pickleDecodeLong(at, b))
}

// opInt reads protocol 0's INT, which also writes bools as 00 and 01.
func (u *unpickler) opInt(at int, _ byte) error {
	b, err := u.readLine(at)
	if err != nil {
		return err
	}
	switch string(b) {
	case "00":
		u.push(false)
	case "01":
		u.push(true)
	default:
		return u.pushOrErr(pickleParseInt(at, b))
	}
	return nil
}

func (u *unpickler) opLong(at int, _ byte) error {
	b, err := u.readLine(at)
	if err != nil {
		return err
	}
	return u.pushOrErr(pickleParseInt(at, bytes.TrimSuffix(b, []byte("L"))))
}

func (u *unpickler) opBinFloat(at int, _ byte) error {
	b, err := u.read(at, 8)
	if err != nil {
		return err
	}
	return u.pushOrErr(pickleFloat(at, math.Float64frombits(binary.BigEndian.Uint64(b))))
}

func (u *unpickler) opFloat(at int, _ byte) error {
	b, err := u.readLine(at)
	if err != nil {
		return err
	}
	f, perr := strconv.ParseFloat(string(b), 64)
	// A range error is an infinity (refused below) or an underflow to 0.
	if perr != nil && !errors.Is(perr, strconv.ErrRange) || strings.Trim(string(b), "0123456789.eE+-") != "" {
		return pickleRefused(at, "has a malformed float %q", pickleQuote(b))
	}
	return u.pushOrErr(pickleFloat(at, f))
}

func (u *unpickler) opNewTrue(int, byte) error {
	u.push(true)
	return nil
}

func (u *unpickler) opNewFalse(int, byte) error {
	u.push(false)
	return nil
}

func (u *unpickler) opNone(int, byte) error {
	u.push(nil)
	return nil
}

// The memo.

func (u *unpickler) opMemoize(at int, _ byte) error {
	return u.put(at, uint64(len(u.memo)))
}

// opBinPut handles BINPUT and LONG_BINPUT.
func (u *unpickler) opBinPut(at int, op byte) error {
	n, err := u.readUint(at, pickleArgSize[op])
	if err != nil {
		return err
	}
	return u.put(at, n)
}

func (u *unpickler) opPut(at int, _ byte) error {
	n, err := u.readMemoIndex(at)
	if err != nil {
		return err
	}
	return u.put(at, n)
}

// opBinGet handles BINGET and LONG_BINGET.
func (u *unpickler) opBinGet(at int, op byte) error {
	n, err := u.readUint(at, pickleArgSize[op])
	if err != nil {
		return err
	}
	return u.get(at, n)
}

func (u *unpickler) opGet(at int, _ byte) error {
	n, err := u.readMemoIndex(at)
	if err != nil {
		return err
	}
	return u.get(at, n)
}

// readMemoIndex reads the text memo index of PUT and GET.
func (u *unpickler) readMemoIndex(at int) (uint64, error) {
	b, err := u.readLine(at)
	if err != nil {
		return 0, err
	}
	return pickleMemoIndex(at, b)
}

// The whitelisted calls.

func (u *unpickler) opGlobal(at int, _ byte) error {
	mod, err := u.readLine(at)
	if err != nil {
		return err
	}
	name, err := u.readLine(at)
	if err != nil {
		return err
	}
	return u.pushOrErr(pickleGlobal(at, string(mod), string(name)))
}

func (u *unpickler) opStackGlobal(at int, _ byte) error {
	vs, err := u.pop(at, 2)
	if err != nil {
		return err
	}
	mod, ok1 := vs[0].(string)
	name, ok2 := vs[1].(string)
	if !ok1 || !ok2 {
		return pickleRefused(at, "STACK_GLOBAL of a %s and a %s", pyTypeName(vs[0]), pyTypeName(vs[1]))
	}
	return u.pushOrErr(pickleGlobal(at, mod, name))
}

func (u *unpickler) opReduce(at int, _ byte) error {
	vs, err := u.pop(at, 2)
	if err != nil {
		return err
	}
	return u.pushOrErr(pickleCall(at, vs[0], vs[1]))
}
