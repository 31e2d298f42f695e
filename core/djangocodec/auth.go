package djangocodec

import (
	"encoding/hex"
	"fmt"

	"github.com/cloakroom/cloakroom/core"
)

// Django's auth session keys.
const (
	UserIDKey      = core.UserIDKey // "_auth_user_id": the user's primary key as a string
	UserBackendKey = "_auth_user_backend"
	UserHashKey    = "_auth_user_hash"
	// ModelBackend is Django's default authentication backend.
	ModelBackend = "django.contrib.auth.backends.ModelBackend"
)

// SessionAuthHash is Django's AbstractBaseUser.get_session_auth_hash: an
// HMAC of the user's stored password hash (the auth_user.password column).
// Django logs a session out when it no longer matches.
func SessionAuthHash(secretKey, passwordHash string) string {
	return hex.EncodeToString(saltedHMAC("django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash", []byte(passwordHash), []byte(secretKey)))
}

// Login logs the user in the way Django's auth.login does, so that Django
// accepts the session: it cycles the key and sets the id, backend and hash.
// passwordHash is the user's auth_user.password value.
func Login(s *core.Session, secretKey, userID, backend, passwordHash string) error {
	if err := s.Login(userID); err != nil {
		return err
	}
	if err := s.Set(UserBackendKey, backend); err != nil {
		return err
	}
	return s.Set(UserHashKey, SessionAuthHash(secretKey, passwordHash))
}

// UserID returns the id of the Django user logged in to s, if any.
func UserID(s *core.Session) (string, bool, error) {
	if err := s.Err(); err != nil {
		return "", false, fmt.Errorf("djangocodec: %w", err)
	}
	id, ok := s.UserID()
	return id, ok, nil
}
