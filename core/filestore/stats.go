package filestore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cloakroom/cloakroom/core"
)

// Stats reports the session files in the directory (see core.Stats): live
// and expired ones, and the size distribution of the live ones. Corrupt
// files (see [Store.ClearExpired]) count as expired, so Expired is what
// ClearExpired would remove now. Files of other users, special files and
// files that cannot be read are not counted. No file is read past
// the bound of [WithMaxFileBytes].
func (s *Store) Stats(ctx context.Context) (core.Stats, error) {
	var st core.Stats
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return st, fmt.Errorf("filestore: stats: %w", err)
	}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("filestore: stats: %w", err)
		}
		name := e.Name()
		if !s.isSessionName(name) || !e.Type().IsRegular() {
			continue
		}
		state, size, err := s.inspect(filepath.Join(s.dir, name), true)
		if err != nil {
			continue // unreadable (ClearExpired stops there with the error)
		}
		switch state {
		case fileLive:
			st.Add(size, true)
		case fileExpired, fileCorrupt:
			st.Add(0, false)
		}
	}
	return st, nil
}
