//go:build !unix

package filestore_test

import "errors"

func diskUsage(string) (int64, error) {
	return 0, errors.New("disk usage: not measured on this platform")
}
