//go:build unix

package filestore_test

import (
	"io/fs"
	"path/filepath"
	"syscall"
)

// diskUsage adds up the blocks allocated to the files and directories
// under root, as du does.
func diskUsage(root string) (int64, error) {
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			total += int64(st.Blocks) * 512
		}
		return nil
	})
	return total, err
}
