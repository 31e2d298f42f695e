package filestore

import "context"

// HoldLock takes the directory lock of s as Save, Delete and ClearExpired
// do, for tests that make them wait; call the returned function to release.
func HoldLock(s *Store) (unlock func(), err error) {
	return lockDir(context.Background(), s.lockPath)
}
