package cookiestore

import (
	"fmt"

	"github.com/cloakroom/cloakroom/core"
)

// The errors of Open, without per-call detail and allocated once, so that
// refusing a forged cookie costs no allocation. Open returns them as they
// are, so each is a whole message: it names the package once, says what was
// wrong, and wraps the core sentinel callers test with [errors.Is].
var (
	// errNotCookie: too long, or without this store's version prefix.
	errNotCookie = fmt.Errorf("cookiestore: not a session cookie: %w", core.ErrTampered)
	// errMalformedSig: no signature of the right length or encoding.
	errMalformedSig = fmt.Errorf("cookiestore: malformed signature: %w", core.ErrTampered)
	// errBadSig: the signature matches none of the secrets.
	errBadSig = fmt.Errorf("cookiestore: bad signature: %w", core.ErrTampered)
	// errMalformed: a signed payload that does not decode (only a holder
	// of a secret can make one).
	errMalformed = fmt.Errorf("cookiestore: malformed value: %w", core.ErrTampered)
	// errExpired: past the session's expiry or older than the max age.
	errExpired = fmt.Errorf("cookiestore: session expired: %w", core.ErrNotFound)
	// errInflate: compressed data that is corrupt or inflates past the
	// bound of WithMaxDecompressed.
	errInflate = fmt.Errorf("cookiestore: bad or oversized compressed data: %w", core.ErrTampered)
)
