package sqlitestore

import (
	"context"
	"fmt"

	"github.com/hubsync/hubsync"
)

// The statements of this file (see sqlText).
var (
	statsByKindSQL = sqlText(`SELECT kind,
			COALESCE(SUM(dead_at IS NULL AND (lease_token IS NULL AND run_at <= ?1 OR lease_token IS NOT NULL AND lease_until <= ?1)), 0),
			COALESCE(SUM(dead_at IS NULL AND lease_token IS NULL AND run_at > ?1), 0),
			COALESCE(SUM(dead_at IS NULL AND lease_token IS NOT NULL AND lease_until > ?1), 0),
			COALESCE(SUM(dead_at IS NOT NULL), 0)
		FROM {p}jobs WHERE school = ?2 GROUP BY kind`)
)

var _ hubsync.KindStatser = (*Store)(nil)

// StatsByKind counts a school's jobs by kind and state, as Stats does for all kinds together
// (the engine's hubsync.queue.jobs metric). A kind with no job is absent.
func (s *Store) StatsByKind(ctx context.Context, school hubsync.SchoolID) (map[hubsync.JobKind]hubsync.QueueStats, error) {
	rows, err := s.reader().QueryContext(ctx, s.sql(statsByKindSQL), ns(s.clk.Now()), string(school))
	if err != nil {
		return nil, interpretError(fmt.Sprintf("stats by kind of %s", school), err)
	}
	defer rows.Close()
	out := map[hubsync.JobKind]hubsync.QueueStats{}
	for rows.Next() {
		var kind string
		var st hubsync.QueueStats
		if err := rows.Scan(&kind, &st.Ready, &st.Scheduled, &st.Leased, &st.Dead); err != nil {
			return nil, interpretError(fmt.Sprintf("stats by kind of %s", school), err)
		}
		out[hubsync.JobKind(kind)] = st
	}
	if err := rows.Err(); err != nil {
		return nil, interpretError(fmt.Sprintf("stats by kind of %s", school), err)
	}
	return out, nil
}
