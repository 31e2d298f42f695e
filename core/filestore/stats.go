package filestore

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/cloakroom/cloakroom/core"
)

// Stats reports the session files in the directory (see core.Stats): live
// and expired ones, and the size distribution of the live ones. Corrupt
// files (see [Store.ClearExpired]) count as expired, so Expired is what
// ClearExpired would remove now. Files of other users, special files and
// files that cannot be read are not counted. No file is read past
// the bound of [WithMaxFileBytes]. With fan-out it walks the
// subdirectories as ClearExpired does.
func (s *Store) Stats(ctx context.Context) (core.Stats, error) {
	var st core.Stats
	err := s.eachEntry(ctx, func(dir, keyStart string, e fs.DirEntry) error {
		if !s.sessionFile(keyStart, e) || !e.Type().IsRegular() {
			return nil
		}
		state, size, err := s.inspect(filepath.Join(dir, e.Name()), true)
		if err != nil {
			return nil // unreadable (ClearExpired stops there with the error)
		}
		switch state {
		case fileLive:
			st.Add(size, true)
		case fileExpired, fileCorrupt:
			st.Add(0, false)
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("filestore: stats: %w", err)
	}
	return st, nil
}
