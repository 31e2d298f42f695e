package csrf

import "errors"

// ErrInvalid means an unsafe request carried no token or a wrong one.
// [Verify]'s error wraps it, after saying which ("csrf: no token: ...");
// [Reject] answers 403 Forbidden to any error that wraps it.
var ErrInvalid = errors.New("missing or invalid CSRF token")
