package cachedstore

// leaveAlone reports whether the cache failed recently enough that it
// should not be called now.
func (s *Store) leaveAlone() bool {
	if !s.trouble.Load() {
		return false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down && now.Before(s.retryAt)
}

// failed records a failed cache call; the first of a burst is logged.
// Loads and pings are reads; every other op is a write.
func (s *Store) failed(op string, err error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.down {
		s.down, s.downSince, s.failures = true, now, 0
		s.log.Warn("cachedstore: cache failing; using the database only until it answers again",
			"op", op, "err", err, "retry_interval", s.retry)
	}
	s.failures++
	s.writesFail = s.writesFail || (op != "load" && op != "ping")
	s.retryAt = now.Add(s.retry)
	s.trouble.Store(true)
}

// succeeded records a cache call that worked; the end of a burst is logged.
// A read that works does not end a burst in which writes failed (a cache
// can answer reads and refuse writes).
func (s *Store) succeeded(write bool) {
	if !s.trouble.Load() {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writesFail && !write {
		return
	}
	s.writesFail = false
	if s.down {
		s.down = false
		s.log.Info("cachedstore: cache answers again",
			"down_for", now.Sub(s.downSince), "failed_calls", s.failures)
	}
	s.trouble.Store(false)
}
