package memcachestore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// A stored value is a fixed header followed by the session data:
//
//	offset  size  field
//	0       2     magic "cR"
//	2       1     format version (1)
//	3       8     expiry, Unix seconds, big-endian int64
//	11      4     expiry, nanoseconds within the second, big-endian uint32
//	15      4     CRC-32C of bytes 0..14 followed by the data
//	19      ...   data
//
// memcached does not return an item's expiration time, so the record's
// exact expiry travels in the value. The checksum catches truncated values
// and values written under the prefix by something else.
const (
	magic0, magic1 = 'c', 'R'
	formatVersion  = 1
	headerLen      = 19
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encode frames data and expiry into a new value.
func encode(data []byte, expiry time.Time) []byte {
	v := make([]byte, headerLen+len(data))
	v[0], v[1], v[2] = magic0, magic1, formatVersion
	binary.BigEndian.PutUint64(v[3:11], uint64(expiry.Unix()))
	binary.BigEndian.PutUint32(v[11:15], uint32(expiry.Nanosecond()))
	copy(v[headerLen:], data)
	sum := crc32.Update(crc32.Checksum(v[:15], castagnoli), castagnoli, v[headerLen:])
	binary.BigEndian.PutUint32(v[15:19], sum)
	return v
}

// decode checks a value made by encode and returns its data (a sub-slice of
// v) and expiry. Every failure wraps [core.ErrTampered].
func decode(v []byte) (data []byte, expiry time.Time, err error) {
	if len(v) < headerLen {
		return nil, time.Time{}, fmt.Errorf("memcachestore: value of %d bytes is shorter than the %d-byte header: %w", len(v), headerLen, core.ErrTampered)
	}
	if v[0] != magic0 || v[1] != magic1 {
		return nil, time.Time{}, fmt.Errorf("memcachestore: value has no cloakroom header: %w", core.ErrTampered)
	}
	if v[2] != formatVersion {
		return nil, time.Time{}, fmt.Errorf("memcachestore: unknown value format %d: %w", v[2], core.ErrTampered)
	}
	sum := crc32.Update(crc32.Checksum(v[:15], castagnoli), castagnoli, v[headerLen:])
	if sum != binary.BigEndian.Uint32(v[15:19]) {
		return nil, time.Time{}, fmt.Errorf("memcachestore: value checksum mismatch: %w", core.ErrTampered)
	}
	nsec := binary.BigEndian.Uint32(v[11:15])
	if nsec >= 1e9 {
		return nil, time.Time{}, fmt.Errorf("memcachestore: expiry nanoseconds %d out of range: %w", nsec, core.ErrTampered)
	}
	sec := int64(binary.BigEndian.Uint64(v[3:11]))
	return v[headerLen:len(v):len(v)], time.Unix(sec, int64(nsec)), nil
}
