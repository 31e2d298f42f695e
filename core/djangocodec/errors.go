package djangocodec

import "errors"

// ErrUnrepresentable is wrapped by the error of an Encode, Seal or cache
// write whose session holds a value the configured Django version cannot
// store in that format: an absolute expiry (core.Session.SetExpiryAt) for
// Django before 4.1 in a JSON session (database, cached_db and
// signed_cookies backends), which those versions can only express as
// seconds from each save. Use core.Session.SetExpiry there instead.
var ErrUnrepresentable = errors.New("the configured Django version cannot store this value")

// errNotJSONObject is wrapped by pickleSession's error for session data
// that is not one JSON object (the cache format's EncodeValue given record
// data core.JSONCodec did not write).
var errNotJSONObject = errors.New("session data is not a JSON object")
