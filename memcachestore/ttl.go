package memcachestore

import (
	"math"
	"time"
)

// MaxRelativeTTL is the longest expiration memcached reads as a number of
// seconds from now: a larger number is read as an absolute Unix time, so a
// relative TTL above it (say 31 days) would name an instant in 1970 and the
// item would vanish at once.
const MaxRelativeTTL = 30 * 24 * 60 * 60 // 2592000 seconds

// expiration converts a record's expiry into memcached's expiration field.
// It reports false when the record has already expired at now. Seconds are
// rounded up so that memcached never drops an item before its expiry; the
// exact expiry is checked again on load. Expiries up to [MaxRelativeTTL]
// seconds away are sent as relative TTLs, later ones as absolute Unix times
// (which assumes the servers' clocks agree with this host's). An expiry
// past what memcached's 32-bit field can hold (January 2038) is sent as 0,
// "never expires": the item then lives until memcached evicts it, and loads
// still honour the exact expiry.
func expiration(expiry, now time.Time) (int32, bool) {
	d := expiry.Sub(now)
	if d <= 0 {
		return 0, false
	}
	secs := int64((d + time.Second - 1) / time.Second)
	if secs <= MaxRelativeTTL {
		return int32(secs), true
	}
	abs := expiry.Unix()
	if expiry.Nanosecond() > 0 {
		abs++
	}
	if abs > math.MaxInt32 {
		return 0, true
	}
	return int32(abs), true
}
