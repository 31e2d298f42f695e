package redisstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cloakroom/cloakroom/core"
)

// errIndexRace is what a save returns when the session's user changed
// between every round of raising the session's entry in its user's set
// (see the package comment): concurrent logins on one session, over and
// over. It carries no package name: the method that returns it adds
// "redisstore: " in front.
var errIndexRace = errors.New("the session's user kept changing while its user index entry was raised")

// errEmptyUser is what LinkUser and DeleteUserSessions return for an empty
// user id.
var errEmptyUser = errors.New("empty user id")

// wrap names the package and the operation in front of an error from
// go-redis. A key holding another type than the store's hash (WRONGTYPE:
// a value this package did not write) also wraps [core.ErrTampered].
func wrap(op string, err error) error {
	if strings.Contains(err.Error(), "WRONGTYPE") {
		return fmt.Errorf("redisstore: %s: %w: %w", op, core.ErrTampered, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}
