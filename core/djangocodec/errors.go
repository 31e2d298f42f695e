package djangocodec

import "errors"

// ErrUnrepresentable is wrapped by the error of an Encode, Seal or cache
// write whose session holds a value the configured Django version cannot
// store in that format: an absolute expiry (core.Session.SetExpiryAt) for
// Django before 4.1 in a JSON session (database, cached_db and
// signed_cookies backends), which those versions can only express as
// seconds from each save. Use core.Session.SetExpiry there instead.
var ErrUnrepresentable = errors.New("djangocodec: the configured Django version cannot store this value")
