package gormstore

import "time"

// ClearSelect is one of the cursor's SELECTs with sample arguments, for
// tests that look at its plan.
type ClearSelect struct {
	SQL  string
	Args []any
}

// ClearSelects returns the SELECTs of s's clear cursor, limited to 100 rows,
// with arguments as a clear in the middle of a run of equal expiries
// would bind them.
func ClearSelects(s *Store) []ClearSelect {
	q := s.q.clear
	now := s.q.timeArg(time.Now())
	at := s.q.timeArg(time.Now().Add(-time.Minute))
	var tie any = "a"
	if !q.keyTie {
		tie = int64(1)
	}
	return []ClearSelect{
		{q.first + "100", []any{now}},
		{q.after + "100", []any{at, now}},
		{q.run + "100", []any{at}},
		{q.runAfter + "100", []any{at, tie}},
	}
}
