package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/djangocodec"
)

// The commands an operator on call uses on single sessions and users:
// sessions (list a user's), show (one session's keys and sizes) and revoke
// (one session, or all of a user's). They work on the keys as the store
// keeps them: with core/hashkeys in the application, those are the hashes
// of the cookie values, which is what sessions lists.

// errNothing marks a command that found nothing to act on (no such
// session, a user without sessions): exit status 3. Such errors are made
// by nothing, whose message is its own.
var errNothing = errors.New("nothing found")

type nothingFound struct{ error }

func (nothingFound) Is(target error) bool { return target == errNothing }

// nothing returns an error matching errNothing with the message format
// and args give.
func nothing(format string, args ...any) error {
	return nothingFound{fmt.Errorf(format, args...)}
}

// maxStdinKeys bounds the keys revoke reads from standard input.
const maxStdinKeys = 100_000

// djangoSecretEnv names the environment variable holding Django's
// SECRET_KEY for show -codec django.
const djangoSecretEnv = "DJANGO_SECRET_KEY"

// userIndex returns the store's user index, or the reason it has none.
func (o *opened) userIndex() (core.UserIndex, error) {
	if o.noUserIndex != nil {
		return nil, fmt.Errorf("%s: %w", o.name, o.noUserIndex)
	}
	if !core.Supports(o.store, core.CapUserIndex) {
		return nil, fmt.Errorf("%s keeps no user index: %w", o.name, core.ErrUnsupported)
	}
	return o.store.(core.UserIndex), nil
}

// keyArgs returns the session keys named on the command line: the
// arguments, or, for a single "-", the lines of stdin (so that live keys
// need not appear in the process list). Every key must be a valid key.
func keyArgs(args []string, stdin io.Reader) ([]string, error) {
	if len(args) == 1 && args[0] == "-" {
		var keys []string
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 1024), 1024)
		for sc.Scan() {
			if k := strings.TrimSpace(sc.Text()); k != "" {
				if len(keys) == maxStdinKeys {
					return nil, fmt.Errorf("%w: more than %d keys on standard input", errUsage, maxStdinKeys)
				}
				keys = append(keys, k)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%w: reading keys from standard input: %w", errUsage, err)
		}
		args = keys
	}
	for _, k := range args {
		if !core.ValidKey(k) {
			if len(k) > 48 {
				k = k[:48] + "..."
			}
			return nil, fmt.Errorf("%w: %q is not a session key (%d to %d letters and digits)", errUsage, k, core.MinKeyLength, core.MaxKeyLength)
		}
	}
	return args, nil
}

// sessionInfo is what sessions and show print of one session.
type sessionInfo struct {
	Key     string    `json:"key"`
	Expires time.Time `json:"expires"`
	Bytes   int       `json:"bytes"`
	User    string    `json:"user,omitempty"`
	Keys    []keyInfo `json:"keys,omitempty"`
}

// keyInfo is one key of a session: its name, the size of its JSON value
// and, with show -values, the value.
type keyInfo struct {
	Name  string          `json:"name"`
	Bytes int             `json:"bytes"`
	Value json.RawMessage `json:"value,omitempty"`
}

// decode fills in the session's keys (and its user) from data.
func (si *sessionInfo) decode(codec core.Codec, data []byte, values bool) error {
	vals, err := codec.Decode(data)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(vals))
	for name := range vals {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		ki := keyInfo{Name: name, Bytes: len(vals[name])}
		if values {
			ki.Value = vals[name]
		}
		si.Keys = append(si.Keys, ki)
	}
	var user string
	if json.Unmarshal(vals[core.UserIDKey], &user) == nil {
		si.User = user
	}
	return nil
}

// listSessions prints the live sessions of a user, soonest expiry first.
func listSessions(ctx context.Context, o *opened, user string, limit int, asJSON bool, w io.Writer) error {
	if _, err := o.userIndex(); err != nil {
		return err
	}
	lister, ok := o.records().(core.UserSessionLister)
	if !ok {
		return fmt.Errorf("%s cannot list a user's sessions: %w", o.name, core.ErrUnsupported)
	}
	keys, err := lister.UserSessionKeys(ctx, user)
	if err != nil {
		return err
	}
	var list []sessionInfo
	for _, key := range keys[:min(limit, len(keys))] {
		rec, err := o.store.Load(ctx, key)
		if errors.Is(err, core.ErrNotFound) {
			continue // ended since it was listed
		} else if err != nil {
			return err
		}
		list = append(list, sessionInfo{Key: key, Expires: rec.Expiry.UTC(), Bytes: len(rec.Data)})
	}
	more := len(keys) - min(limit, len(keys))
	if asJSON {
		if list == nil {
			list = []sessionInfo{}
		}
		err = writeJSON(w, struct {
			Store    string        `json:"store"`
			User     string        `json:"user"`
			Sessions []sessionInfo `json:"sessions"`
			More     int           `json:"more"`
		}{o.name, user, list, more})
	} else {
		fmt.Fprintf(w, "%s\nuser %q: %s\n", o.name, user, plural(len(list)+more, "live session"))
		if len(list) > 0 {
			fmt.Fprintf(w, "  %-40s  %-20s  %-12s  %s\n", "KEY", "EXPIRES (UTC)", "IN", "BYTES")
		}
		now := time.Now()
		for _, si := range list {
			fmt.Fprintf(w, "  %-40s  %-20s  %-12s  %d\n", si.Key, si.Expires.Format(time.DateTime), until(si.Expires.Sub(now)), si.Bytes)
		}
		if more > 0 {
			fmt.Fprintf(w, "  ... and %d more (raise -limit to list them)\n", more)
		}
	}
	if err == nil && len(list)+more == 0 {
		return nothing("user %q has no live sessions", user)
	}
	return err
}

// showSession prints one session: expiry, size, user and its keys with
// the size of each value, and the values themselves only when asked.
func showSession(ctx context.Context, o *opened, key string, codec core.Codec, values, asJSON bool, w io.Writer) error {
	rec, err := o.store.Load(ctx, key)
	if errors.Is(err, core.ErrNotFound) {
		return nothing("%s: no live session %s", o.name, key)
	} else if err != nil {
		return err
	}
	si := sessionInfo{Key: key, Expires: rec.Expiry.UTC(), Bytes: len(rec.Data)}
	decodeErr := si.decode(codec, rec.Data, values)
	if asJSON {
		if si.Keys == nil && decodeErr == nil {
			si.Keys = []keyInfo{}
		}
		if err := writeJSON(w, struct {
			Store string `json:"store"`
			sessionInfo
		}{o.name, si}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "session %s\n  store    %s\n  expires  %s UTC (in %s)\n", key, o.name, si.Expires.Format(time.DateTime), until(time.Until(si.Expires)))
		if si.User != "" {
			fmt.Fprintf(w, "  user     %s\n", si.User)
		}
		fmt.Fprintf(w, "  stored   %d bytes", si.Bytes)
		if decodeErr == nil {
			fmt.Fprintf(w, ", %d keys", len(si.Keys))
		}
		fmt.Fprintln(w)
		width := 0
		for _, k := range si.Keys {
			width = max(width, len(k.Name))
		}
		for _, k := range si.Keys {
			fmt.Fprintf(w, "    %-*s  %6d B", width, k.Name, k.Bytes)
			if values {
				fmt.Fprintf(w, "  %s", k.Value)
			}
			fmt.Fprintln(w)
		}
	}
	if decodeErr != nil {
		return fmt.Errorf("the session's data (%d bytes) does not decode with -codec %s (another codec, or encrypted): %w", si.Bytes, codecName(codec), decodeErr)
	}
	return nil
}

// revokeSessions deletes the sessions under keys, reporting each. Keys
// with no live session are reported and make the result errNothing (their
// expired records, if any, are deleted all the same).
func revokeSessions(ctx context.Context, o *opened, keys []string, w io.Writer) error {
	var missing int
	for _, key := range keys {
		rec, err := o.store.Load(ctx, key)
		found := err == nil
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			return err
		}
		if err := o.store.Delete(ctx, key); err != nil {
			return err
		}
		if !found {
			missing++
			fmt.Fprintf(w, "no live session %s\n", key)
			continue
		}
		var si sessionInfo
		_ = si.decode(core.JSONCodec{}, rec.Data, false)
		if si.User != "" {
			fmt.Fprintf(w, "revoked session %s (user %s)\n", key, si.User)
		} else {
			fmt.Fprintf(w, "revoked session %s\n", key)
		}
	}
	if missing > 0 {
		return nothing("%d of %d keys named no live session", missing, len(keys))
	}
	return nil
}

// revokeUser deletes every session of user through the store's user index.
func revokeUser(ctx context.Context, o *opened, user string, w io.Writer) error {
	idx, err := o.userIndex()
	if err != nil {
		return err
	}
	var n int64
	if d, ok := o.store.(core.UserKeysDeleter); ok {
		keys, err := d.DeleteUserSessionKeys(ctx, user)
		for _, k := range keys {
			fmt.Fprintf(w, "revoked session %s\n", k)
		}
		if err != nil {
			return fmt.Errorf("revoked %d sessions of user %q, then: %w", len(keys), user, err)
		}
		n = int64(len(keys))
	} else if n, err = idx.DeleteUserSessions(ctx, user); err != nil {
		return fmt.Errorf("revoked %d sessions of user %q, then: %w", n, user, err)
	}
	fmt.Fprintf(w, "%s: revoked %s of user %q\n", o.name, plural(int(n), "session"), user)
	if n == 0 {
		return nothing("user %q has no live sessions", user)
	}
	return nil
}

// newCodec returns the codec show decodes with: "json" (cloakroom's own)
// or "django" (Django's signed format, with the SECRET_KEY from the
// environment).
func newCodec(name string) (core.Codec, error) {
	switch name {
	case "json":
		return core.JSONCodec{}, nil
	case "django":
		secret := os.Getenv(djangoSecretEnv)
		if secret == "" {
			return nil, fmt.Errorf("%w: -codec django reads Django's SECRET_KEY from $%s, which is empty", errUsage, djangoSecretEnv)
		}
		return djangocodec.New(secret)
	default:
		return nil, fmt.Errorf("%w: unknown -codec %q (want json or django)", errUsage, name)
	}
}

func codecName(c core.Codec) string {
	if _, ok := c.(*djangocodec.Codec); ok {
		return "django"
	}
	return "json"
}

// until renders a duration to come in days and hours, hours and minutes
// or minutes and seconds.
func until(d time.Duration) string {
	if d < 0 {
		return "expired"
	}
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, d%time.Hour/time.Minute)
	default:
		return fmt.Sprintf("%dm%ds", d/time.Minute, d%time.Minute/time.Second)
	}
}

// plural writes n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// commandFlags are the flags of sessions, show and revoke beyond the
// store's.
type commandFlags struct {
	user, codec  string
	limit        int
	values, json bool
	timeout      time.Duration
}

func (c *commandFlags) register(cmd string, fs *flag.FlagSet) {
	switch cmd {
	case "sessions":
		fs.StringVar(&c.user, "user", "", "the `user` id whose sessions to list (the session's _auth_user_id; required)")
		fs.IntVar(&c.limit, "limit", 100, "list at most `n` sessions (the count covers all)")
	case "revoke":
		fs.StringVar(&c.user, "user", "", "revoke every session of this `user` id (log out everywhere) instead of the keys named")
	case "show":
		fs.BoolVar(&c.values, "values", false, "print the values too (they may hold personal data; by default only keys and sizes)")
		fs.StringVar(&c.codec, "codec", "json", "how the application encodes sessions: json (cloakroom's) or django (Django's signed format; SECRET_KEY from $"+djangoSecretEnv+")")
	}
	if cmd == "sessions" || cmd == "show" {
		fs.BoolVar(&c.json, "json", false, "print JSON instead of text")
	}
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "give up after this `duration`")
}
