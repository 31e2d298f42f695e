package core

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
)

// The session's size is counted as the JSON object of its values, the
// codec's input: {"k1":v1,"k2":v2}. Each entry adds its key and value, the
// key's two quotes, the colon and a comma or the closing brace, so the
// object's size is one (the opening brace) plus the sum of entrySize over
// its entries, or 2 when it is empty. Keys are counted as they are, before
// any JSON escaping.
//
// s.size holds that sum while s.sized is set. It is computed from scratch
// on the first check after the session loaded (sizeLocked) and then kept up
// to date by every change, so that Set costs the size of its own value, not
// of the session. Code that replaces s.values wholesale clears s.sized. With
// no limit (MaxSessionBytes < 0) nothing is counted.

// entrySize is what one entry adds to the session's JSON object.
func entrySize(key string, raw json.RawMessage) int { return len(key) + len(raw) + 4 }

// activityReserve is the most the activity timestamp (LastActivityKey,
// Unix seconds) adds to a session when a save with IdleTimeout on writes it.
var activityReserve = len(LastActivityKey) + 4 + len("-9223372036854775808")

// sizeLocked returns the sum of entrySize over the session's values,
// computing it once after a load. s.mu must be held and the session loaded.
func (s *Session) sizeLocked() int {
	if !s.sized {
		n := 0
		for k, v := range s.values {
			n += entrySize(k, v)
		}
		s.size, s.sized = clampSize(n), true
	}
	return int(s.size)
}

// clampSize stores n in the int32 of the Session (a session of 2 GiB cannot
// be held in memory anyway).
func clampSize(n int) int32 { return int32(min(max(n, 0), math.MaxInt32)) }

// deltaLocked is how much storing raw under key changes the session's size.
func (s *Session) deltaLocked(key string, raw json.RawMessage) int {
	d := entrySize(key, raw)
	if old, ok := s.values[key]; ok {
		d -= entrySize(key, old)
	}
	return d
}

// setValueLocked stores raw under key, keeping the size up to date. It does
// not mark the session modified nor record the change.
func (s *Session) setValueLocked(key string, raw json.RawMessage) {
	if s.sized {
		s.size = clampSize(int(s.size) + s.deltaLocked(key, raw))
	}
	s.values[key] = raw
}

// fitsLocked returns an error wrapping ErrTooLarge when growing the session
// by delta bytes of JSON would leave it over MaxSessionBytes. A change that
// does not grow the session always fits, so that an oversized session can
// still shrink. key names the value in the error ("" for several).
func (s *Session) fitsLocked(key string, delta int) error {
	limit := s.m.cfg.MaxSessionBytes
	if limit < 0 || delta <= 0 {
		return nil
	}
	n := 1 + s.sizeLocked() + delta
	if s.m.cfg.IdleTimeout > 0 {
		if _, ok := s.values[LastActivityKey]; !ok {
			n += activityReserve // the save adds it
		}
	}
	if n <= limit {
		return nil
	}
	what := "values"
	if key != "" {
		what = fmt.Sprintf("value %q", key)
	}
	return fmt.Errorf("cloakroom: session %s not stored: %w: %d bytes of JSON with it, over Config.MaxSessionBytes (%d)", what, ErrTooLarge, n, limit)
}

// saveSizeErrLocked returns an error wrapping ErrTooLarge when the session
// as it would be stored is over MaxSessionBytes.
func (s *Session) saveSizeErrLocked() error {
	limit := s.m.cfg.MaxSessionBytes
	if limit < 0 {
		return nil
	}
	n := max(1+s.sizeLocked(), 2)
	if n <= limit {
		return nil
	}
	return fmt.Errorf("cloakroom: session not saved: %w: %d bytes of JSON, over Config.MaxSessionBytes (%d)", ErrTooLarge, n, limit)
}

// lateLocked returns an error wrapping ErrResponseStarted when the session
// was already committed, so that a change named op can no longer be saved
// nor reach the client. It logs the first such change of the request.
func (s *Session) lateLocked(op string) error {
	if !s.committed {
		return nil
	}
	if !s.lateLogged {
		s.lateLogged = true
		s.m.cfg.Logger.LogAttrs(s.context(), slog.LevelWarn,
			"cloakroom: session changed after the response headers were sent; the change is not saved (change the session before writing the response)",
			slog.String("method", op))
	}
	return fmt.Errorf("cloakroom: session %s after the response started: %w", op, ErrResponseStarted)
}
