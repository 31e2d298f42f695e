package filestore

import (
	"fmt"

	"github.com/cloakroom/cloakroom/core"
)

// errForeign marks a file under a session name that this store must neither
// read nor remove: a symbolic link, FIFO, directory or other special file,
// or a file of another user. It wraps [core.ErrTampered], so Load reports
// such a file as tampered; ClearExpired and Stats skip it.
var errForeign = fmt.Errorf("not a regular file of this user: %w", core.ErrTampered)
