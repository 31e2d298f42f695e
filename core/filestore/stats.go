package filestore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cloakroom/cloakroom/core"
)

// Stats reports the session files in the directory (see core.Stats): live
// and expired ones, and the size distribution of the live ones. Files that
// cannot be read as sessions count as expired, as ClearExpired treats them
// alike.
func (s *Store) Stats(ctx context.Context) (core.Stats, error) {
	var st core.Stats
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return st, fmt.Errorf("filestore: stats: %w", err)
	}
	now := s.now()
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("filestore: stats: %w", err)
		}
		name := e.Name()
		if !strings.HasPrefix(name, s.prefix) || !core.ValidKey(name[len(s.prefix):]) || !e.Type().IsRegular() {
			continue
		}
		b, err := readFile(filepath.Join(s.dir, name), -1)
		if err != nil {
			continue // removed meanwhile, or not ours to read
		}
		data, expiry, err := decode(b)
		st.Add(int64(len(data)), err == nil && expiry.After(now))
	}
	return st, nil
}
