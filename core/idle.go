package core

import (
	"encoding/json"
	"time"
)

// LastActivityKey is the session key under which the time of the last
// recorded access is kept (Unix seconds) when [Config.IdleTimeout] is on.
const LastActivityKey = "_session_last_activity"

// checkIdleLocked ends a session idle for longer than IdleTimeout and records
// activity when the recorded one is older than IdleTouchInterval. It runs
// right after a successful load; s.mu must be held.
func (s *Session) checkIdleLocked() {
	now := s.m.cfg.Now()
	var last int64
	raw, ok := s.values[LastActivityKey]
	if ok && json.Unmarshal(raw, &last) != nil {
		ok = false
	}
	if !ok {
		// Saved before idle timeouts were on: count from now.
		s.modified = true
		return
	}
	seen := time.Unix(last, 0)
	if now.Sub(seen) > s.m.cfg.IdleTimeout {
		// Idle too long: a fresh session under a fresh key. The store's
		// record expires by itself (its expiry never passes the deadline).
		s.values = make(map[string]json.RawMessage)
		s.key = ""
		return
	}
	if now.Sub(seen) >= s.m.cfg.IdleTouchInterval {
		s.modified = true // the commit saves and moves the idle deadline
	}
}
