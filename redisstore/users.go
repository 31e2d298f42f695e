package redisstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloakroom/cloakroom/core"
)

var (
	_ core.UserIndex         = (*Store)(nil)
	_ core.UserKeysDeleter   = (*Store)(nil)
	_ core.UserSessionLister = (*Store)(nil)
)

// index raises the entry of key in user's set to until (see indexScript).
func (s *Store) index(ctx context.Context, user, key string, until, now time.Time) error {
	return indexScript.Run(ctx, s.client, []string{s.userKey(user)}, key, ms(until), ms(now)).Err()
}

// unindex removes key from user's set, if user is not empty. A failure is
// not reported: the entry is harmless (DeleteUserSessions checks the
// session's owner) and goes when its score passes.
func (s *Store) unindex(ctx context.Context, user, key string) {
	if user == "" {
		return
	}
	_ = s.client.ZRem(ctx, s.userKey(user), key).Err()
}

// LinkUser implements [core.UserIndex]: it adds the session to user's set
// (kept until an hour past the session's expiry, or past expiry if later),
// then records user as the session's owner in its hash, and removes the
// session from its previous user's set, if another. Linking a session that
// is gone does nothing. See the package comment for why the order matters.
func (s *Store) LinkUser(ctx context.Context, user, key string, expiry time.Time) error {
	rkey, err := s.begin(ctx, "link user", key)
	if err != nil {
		return err
	}
	if user == "" {
		return fmt.Errorf("redisstore: link user: %w: %w", errEmptyUser, core.ErrInvalidConfig)
	}
	now := s.now()
	until := expiry
	if until.Before(now) {
		until = now
	}
	until = until.Add(indexSlack)
	for range maxIndexRounds {
		if err := s.index(ctx, user, key, until, now); err != nil {
			return wrap("link user", err)
		}
		res, err := linkScript.Run(ctx, s.client, []string{rkey}, user, ms(until)).Slice()
		if err != nil {
			return wrap("link user", err)
		}
		code, arg, err := reply(res)
		if err != nil {
			return wrap("link user", err)
		}
		switch code {
		case 0: // gone meanwhile: nothing to link
			s.unindex(ctx, user, key)
			return nil
		case 1:
			if arg != user {
				s.unindex(ctx, arg, key)
			}
			return nil
		case -2: // the session expires later than expiry: cover that
			e, err := strconv.ParseInt(arg, 10, 64)
			if err != nil {
				return fmt.Errorf("redisstore: link user: session expiry %q: %w", arg, core.ErrTampered)
			}
			until = time.UnixMilli(e).Add(indexSlack)
		default:
			return fmt.Errorf("redisstore: link user: unexpected script reply %v", res)
		}
	}
	return fmt.Errorf("redisstore: link user: %w", errIndexRace)
}

// UnlinkUser implements [core.UserIndex]: it removes the owner from the
// session's hash, then the session from that user's set.
func (s *Store) UnlinkUser(ctx context.Context, key string) error {
	rkey, err := s.begin(ctx, "unlink user", key)
	if err != nil {
		return err
	}
	user, err := unlinkScript.Run(ctx, s.client, []string{rkey}).Text()
	if err != nil {
		return wrap("unlink user", err)
	}
	s.unindex(ctx, user, key)
	return nil
}

// DeleteUserSessions implements [core.UserIndex]: it deletes every session
// in user's set whose hash still names user, and reports how many live
// sessions it deleted.
func (s *Store) DeleteUserSessions(ctx context.Context, user string) (int64, error) {
	keys, err := s.DeleteUserSessionKeys(ctx, user)
	return int64(len(keys)), err
}

// DeleteUserSessionKeys implements [core.UserKeysDeleter]: it is
// [Store.DeleteUserSessions] returning the keys of the live sessions it
// deleted, for a cache in front of the store (core/cachedstore). Each
// session is deleted by a script on its own key that first checks that the
// session still belongs to user; the entries of the sessions deleted or
// gone are then removed from the set. On an error it returns the keys
// deleted so far with the error.
func (s *Store) DeleteUserSessionKeys(ctx context.Context, user string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: delete user sessions: %w", err)
	}
	if user == "" {
		return nil, fmt.Errorf("redisstore: delete user sessions: %w: %w", errEmptyUser, core.ErrInvalidConfig)
	}
	ukey := s.userKey(user)
	members, err := s.client.ZRange(ctx, ukey, 0, -1).Result()
	if err != nil {
		return nil, wrap("delete user sessions", err)
	}
	now := ms(s.now())
	var deleted []string
	var done []any // entries to remove from the set
	var failed error
	for _, key := range members {
		if !core.ValidKey(key) {
			done = append(done, key)
			continue
		}
		n, err := deleteOwnedScript.Run(ctx, s.client, []string{s.sessionKey(key)}, user, now).Int64()
		if err != nil {
			failed = wrap("delete user sessions", err)
			break
		}
		switch n {
		case 1:
			deleted = append(deleted, key)
			done = append(done, key)
		case 0, 2:
			done = append(done, key)
		}
	}
	if len(done) > 0 {
		if err := s.client.ZRem(ctx, ukey, done...).Err(); err != nil && failed == nil {
			failed = wrap("delete user sessions (user index)", err)
		}
	}
	return deleted, failed
}

// UserSessionKeys implements [core.UserSessionLister]: the keys of the live
// sessions in user's set whose hash still names user, soonest expiry
// first. It reads the set, then each session's owner and expiry in one
// pipeline (on Cluster, one round trip per master).
func (s *Store) UserSessionKeys(ctx context.Context, user string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: list user sessions: %w", err)
	}
	if user == "" {
		return nil, fmt.Errorf("redisstore: list user sessions: %w: %w", errEmptyUser, core.ErrInvalidConfig)
	}
	members, err := s.client.ZRange(ctx, s.userKey(user), 0, -1).Result()
	if err != nil {
		return nil, wrap("list user sessions", err)
	}
	members = slices.DeleteFunc(members, func(k string) bool { return !core.ValidKey(k) })
	if len(members) == 0 {
		return nil, nil
	}
	pipe := s.client.Pipeline()
	cmds := make([]*redis.SliceCmd, len(members))
	for i, key := range members {
		cmds[i] = pipe.HMGet(ctx, s.sessionKey(key), "u", "e")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, wrap("list user sessions", err)
	}
	type entry struct {
		key    string
		expiry int64
	}
	now := s.now().UnixMilli()
	var live []entry
	for i, cmd := range cmds {
		v := cmd.Val()
		owner, _ := v[0].(string)
		exp, _ := v[1].(string)
		e, err := strconv.ParseInt(exp, 10, 64)
		if owner == user && err == nil && e > now {
			live = append(live, entry{members[i], e})
		}
	}
	slices.SortFunc(live, func(a, b entry) int {
		if c := cmp.Compare(a.expiry, b.expiry); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	keys := make([]string, len(live))
	for i, e := range live {
		keys[i] = e.key
	}
	return keys, nil
}
