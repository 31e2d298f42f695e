package core

// SizeBounds are the upper edges, in bytes, of the size buckets in [Stats];
// the last bucket holds larger sessions.
var SizeBounds = [...]int64{256, 1 << 10, 4 << 10, 16 << 10, 64 << 10}

// Stats describes what a store holds, for operators (cloakroom stats).
// Stores that can count their records report it from a Stats method.
type Stats struct {
	// Live and Expired count records; Expired counts those still stored
	// after their expiry (cleared by ClearExpired).
	Live, Expired int64
	// Bytes is the total size of the live records' data.
	Bytes int64
	// Sizes counts live records by data size: Sizes[i] holds those no
	// larger than SizeBounds[i], the last entry the rest.
	Sizes [len(SizeBounds) + 1]int64
}

// Add counts one record of size bytes, live or expired.
func (s *Stats) Add(size int64, live bool) {
	if !live {
		s.Expired++
		return
	}
	s.Live++
	s.Bytes += size
	for i, b := range SizeBounds {
		if size <= b {
			s.Sizes[i]++
			return
		}
	}
	s.Sizes[len(SizeBounds)]++
}
