package sqlitestore

import (
	"context"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlstore"
)

// The statements of this file (see sqlText).
var (
	deleteSyncHealthSQL = sqlText(`DELETE FROM {p}sync_health WHERE school = ? AND email = ? AND learner_id = ? AND direction = ?`)
	putSyncHealthSQL    = sqlText(`INSERT OR REPLACE INTO {p}sync_health (school, email, learner_id, direction, status, exclusion, reason, at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	listSyncHealthSQL = sqlText(`SELECT email, learner_id, direction, status, exclusion, reason, at FROM {p}sync_health
		WHERE school = ? AND (email, learner_id, direction) > (?, ?, ?)`)
)

// HealthPut deletes or replaces each row's record, in one transaction.
func (x *executor) HealthPut(ctx context.Context, entries []sqlstore.HealthRow) error {
	return x.write(ctx, func(q querier) error {
		for _, h := range entries {
			var err error
			if h.Status == string(hubsync.HealthInSync) {
				_, err = q.ExecContext(ctx, x.sql(deleteSyncHealthSQL), h.School, h.Email, h.LearnerID, h.Direction)
			} else {
				_, err = q.ExecContext(ctx, x.sql(putSyncHealthSQL), h.School, h.Email, h.LearnerID, h.Direction,
					h.Status, h.Exclusion, h.Reason, ns(h.At))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// HealthList reads in the primary key's order, so a page reads only its own rows and the ones it
// skips.
func (x *executor) HealthList(ctx context.Context, f sqlstore.HealthQuery) ([]sqlstore.HealthRow, error) {
	query := x.sql(listSyncHealthSQL)
	args := []any{f.School, f.AfterEmail, f.AfterLearner, f.AfterDirection}
	if f.Status != "" {
		query += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Direction != "" {
		query += ` AND direction = ?`
		args = append(args, f.Direction)
	}
	query += ` ORDER BY email, learner_id, direction LIMIT ?`
	args = append(args, f.Limit)
	rows, err := x.reader().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sqlstore.HealthRow
	for rows.Next() {
		h := sqlstore.HealthRow{School: f.School}
		var at int64
		if err := rows.Scan(&h.Email, &h.LearnerID, &h.Direction, &h.Status, &h.Exclusion, &h.Reason, &at); err != nil {
			return nil, err
		}
		h.At = fromNS(at)
		out = append(out, h)
	}
	return out, rows.Err()
}
