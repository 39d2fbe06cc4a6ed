package pgstore

import (
	"context"
	"fmt"

	"github.com/hubsync/hubsync"
)

var _ hubsync.KindStatser = (*Store)(nil)

var statsByKindSQL = sqlStmt(`SELECT kind,
			count(*) FILTER (WHERE (state = 'waiting' AND run_at <= $2) OR (state = 'leased' AND lease_until <= $2)),
			count(*) FILTER (WHERE state = 'waiting' AND run_at > $2),
			count(*) FILTER (WHERE state = 'leased' AND lease_until > $2),
			count(*) FILTER (WHERE state = 'dead')
		FROM {schema}.jobs WHERE school = $1 GROUP BY kind`)

// StatsByKind counts a school's jobs by kind and state, as Stats does for all kinds together
// (the engine's hubsync.queue.jobs metric). A kind with no job is absent.
func (s *Store) StatsByKind(ctx context.Context, school hubsync.SchoolID) (map[hubsync.JobKind]hubsync.QueueStats, error) {
	rows, err := s.db.Query(ctx, s.sql(statsByKindSQL), string(school), s.now())
	if err != nil {
		return nil, interpretError(fmt.Sprintf("counting jobs of school %q by kind", school), err)
	}
	defer rows.Close()
	out := map[hubsync.JobKind]hubsync.QueueStats{}
	for rows.Next() {
		var kind string
		var ready, scheduled, leased, dead int64
		if err := rows.Scan(&kind, &ready, &scheduled, &leased, &dead); err != nil {
			return nil, interpretError(fmt.Sprintf("counting jobs of school %q by kind", school), err)
		}
		out[hubsync.JobKind(kind)] = hubsync.QueueStats{Ready: int(ready), Scheduled: int(scheduled), Leased: int(leased), Dead: int(dead)}
	}
	if err := rows.Err(); err != nil {
		return nil, interpretError(fmt.Sprintf("counting jobs of school %q by kind", school), err)
	}
	return out, nil
}
