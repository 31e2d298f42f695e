package gormstore

import (
	"context"
	"fmt"

	"github.com/cloakroom/cloakroom/core"
)

// Stats reports how many sessions the table holds, live and expired, and
// the size distribution of the live ones (see core.Stats), in one
// aggregate query.
func (s *Store) Stats(ctx context.Context) (core.Stats, error) {
	t := quote(s.db, s.table)
	d, e := quote(s.db, colData), quote(s.db, colExpiry)
	length := "LENGTH(" + d + ")"
	if s.q.kind == dPostgres {
		length = "OCTET_LENGTH(" + d + ")"
	}
	cols := fmt.Sprintf("COUNT(CASE WHEN %s > ? THEN 1 END), COUNT(CASE WHEN %s <= ? THEN 1 END), COALESCE(SUM(CASE WHEN %s > ? THEN %s ELSE 0 END), 0)", e, e, e, length)
	now := s.q.timeArg(s.now())
	args := []any{now, now, now}
	lower := "-1"
	for _, b := range core.SizeBounds {
		cols += fmt.Sprintf(", COUNT(CASE WHEN %s > ? AND %s > %s AND %s <= %d THEN 1 END)", e, length, lower, length, b)
		args = append(args, now)
		lower = fmt.Sprint(b)
	}
	cols += fmt.Sprintf(", COUNT(CASE WHEN %s > ? AND %s > %s THEN 1 END)", e, length, lower)
	args = append(args, now)
	var st core.Stats
	dest := []any{&st.Live, &st.Expired, &st.Bytes}
	for i := range st.Sizes {
		dest = append(dest, &st.Sizes[i])
	}
	row := s.db.WithContext(ctx).Raw("SELECT "+cols+" FROM "+t, args...).Row()
	if err := row.Scan(dest...); err != nil {
		return core.Stats{}, fmt.Errorf("gormstore: stats of %s: %w", s.table, err)
	}
	return st, nil
}
