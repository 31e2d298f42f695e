package cachedstore

import "errors"

// errUnstamped is what bump, which ends the cache generation, returns in
// unstamped mode ([WithUnstampedEntries]), where there is no generation:
// an entry the cache could not be told of stays until it expires or is
// next written. It carries no package name: the exported method that
// returns it adds "cachedstore: " in front.
var errUnstamped = errors.New("cache entries are unstamped (WithUnstampedEntries): an entry the cache was not told of cannot be ended")
