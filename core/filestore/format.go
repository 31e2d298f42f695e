package filestore

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"strconv"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// A session file is one header line followed by the data:
//
//	cloakroom-session-v1 <expiry-seconds>.<nanoseconds> <data-length> <crc32c-hex>\n<data>
//
// The expiry is absolute Unix time (seconds and nanoseconds, so every
// [time.Time] from year 1 to 9999 round-trips at nanosecond precision). The
// CRC-32C covers the header line up to the space before the checksum and
// then the data; with the length it lets a reader tell a complete file from a
// truncated or corrupted one, including a corrupted expiry.
const magic = "cloakroom-session-v1"

// maxHeader bounds the header line; a longer first line is corrupt.
const maxHeader = 128

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// encode returns the file content for data expiring at expiry.
func encode(data []byte, expiry time.Time) []byte {
	buf := make([]byte, 0, maxHeader+len(data))
	buf = append(buf, magic...)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, expiry.Unix(), 10)
	buf = append(buf, '.')
	buf = strconv.AppendInt(buf, int64(expiry.Nanosecond()), 10)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, int64(len(data)), 10)
	sum := crc32.Update(crc32.Checksum(buf, crcTable), crcTable, data)
	buf = append(buf, ' ')
	buf = strconv.AppendUint(buf, uint64(sum), 16)
	buf = append(buf, '\n')
	return append(buf, data...)
}

// header is the parsed first line of a session file.
type header struct {
	expiry time.Time
	length int
	crc    uint32
	size   int    // bytes taken by the header line, newline included
	signed []byte // the part of the header line the checksum covers
}

// parseHeader parses the first line of b, which may hold only the beginning
// of a file. Errors wrap [core.ErrTampered].
func parseHeader(b []byte) (header, error) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 || nl > maxHeader {
		return header{}, corrupt("no header line")
	}
	f := bytes.Split(b[:nl], []byte{' '})
	if len(f) != 4 || string(f[0]) != magic {
		return header{}, corrupt("bad header")
	}
	secs, nanos, ok := bytes.Cut(f[1], []byte{'.'})
	if !ok {
		return header{}, corrupt("bad expiry")
	}
	sec, err1 := strconv.ParseInt(string(secs), 10, 64)
	nsec, err2 := strconv.ParseInt(string(nanos), 10, 64)
	n, err3 := strconv.ParseInt(string(f[2]), 10, 0)
	sum, err4 := strconv.ParseUint(string(f[3]), 16, 32)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || nsec < 0 || nsec > 999_999_999 || n < 0 {
		return header{}, corrupt("bad header field")
	}
	return header{expiry: time.Unix(sec, nsec), length: int(n), crc: uint32(sum), size: nl + 1,
		signed: b[:bytes.LastIndexByte(b[:nl], ' ')]}, nil
}

// decode parses a whole session file and returns its data (a sub-slice of
// b) and expiry. Errors wrap [core.ErrTampered].
func decode(b []byte) ([]byte, time.Time, error) {
	h, err := parseHeader(b)
	if err != nil {
		return nil, time.Time{}, err
	}
	data := b[h.size:]
	if len(data) != h.length {
		return nil, time.Time{}, corrupt(fmt.Sprintf("data is %d bytes, header says %d", len(data), h.length))
	}
	if crc32.Update(crc32.Checksum(h.signed, crcTable), crcTable, data) != h.crc {
		return nil, time.Time{}, corrupt("checksum mismatch")
	}
	return data, h.expiry, nil
}

func corrupt(why string) error {
	return fmt.Errorf("corrupt session file: %s: %w", why, core.ErrTampered)
}
