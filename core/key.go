package core

import (
	"crypto/rand"
	"fmt"
)

// KeyLength is the length of the keys [NewKey] generates.
const KeyLength = 32

// Key bounds accepted by [ValidKey]. MaxKeyLength matches the varchar(40)
// session_key column of Django's django_session table.
const (
	MinKeyLength = 8
	MaxKeyLength = 40
)

const keyAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// NewKey returns a fresh random session key: [KeyLength] characters from
// [a-z0-9] drawn from crypto/rand without modulo bias (about 165 bits).
func NewKey() (string, error) {
	var out [KeyLength]byte
	var buf [KeyLength + 8]byte
	n := 0
	for n < KeyLength {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("cloakroom: reading random key: %w", err)
		}
		for _, b := range buf {
			// 252 is the largest multiple of 36 not above 256: rejecting
			// bytes from 252 up keeps every character equally likely.
			if b >= 252 {
				continue
			}
			out[n] = keyAlphabet[b%36]
			n++
			if n == KeyLength {
				break
			}
		}
	}
	return string(out[:]), nil
}

// ValidKey reports whether key may name a session: between [MinKeyLength] and
// [MaxKeyLength] characters, each in [a-z0-9]. Keys that fail are treated as
// absent and never reach a store, so no path separator, NUL, quote, space or
// control character can reach a file name, SQL statement or cache key.
func ValidKey(key string) bool {
	if len(key) < MinKeyLength || len(key) > MaxKeyLength {
		return false
	}
	i := 0
	for ; i+8 <= len(key); i += 8 {
		if !keyWord(le64(key[i : i+8])) {
			return false
		}
	}
	for ; i < len(key); i++ {
		c := key[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// le64 reads the first eight bytes of s as a little-endian word (one load
// once compiled).
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// keyWord reports whether each of the eight bytes in x is in [a-z0-9],
// eight at a time: for bytes below 0x80, adding 0x80-lo sets a byte's high
// bit exactly when the byte is at least lo, with no carry into the next.
func keyWord(x uint64) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	if x&high != 0 {
		return false
	}
	lower := (x + (0x80-'a')*ones) &^ (x + (0x80-'z'-1)*ones)
	digit := (x + (0x80-'0')*ones) &^ (x + (0x80-'9'-1)*ones)
	return (lower|digit)&high == high
}
