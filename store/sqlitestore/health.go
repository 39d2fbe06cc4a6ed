package sqlitestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hubsync/hubsync"
)

// The statements of this file (see sqlText).
var (
	deleteSyncHealthSQL = sqlText(`DELETE FROM {p}sync_health WHERE school = ? AND email = ? AND learner_id = ? AND direction = ?`)
	putSyncHealthSQL    = sqlText(`INSERT OR REPLACE INTO {p}sync_health (school, email, learner_id, direction, status, exclusion, reason, at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	listSyncHealthSQL = sqlText(`SELECT email, learner_id, direction, status, exclusion, reason, at FROM {p}sync_health
		WHERE school = ? AND (email, learner_id, direction) > (?, ?, ?)`)
	listSyncStatesSQL = sqlText(`SELECT email, learner_id, contact_id, sent_to_hubspot, sent_to_lms,
		lifecycle_stage, updated_at FROM {p}sync_states WHERE school = ? AND email > ? ORDER BY email LIMIT ?`)
)

// PutSyncHealth deletes the row of each in-sync entry and replaces the others', in order, in one
// transaction.
func (s *Store) PutSyncHealth(ctx context.Context, entries ...hubsync.HealthEntry) error {
	if len(entries) == 0 {
		return nil
	}
	for _, h := range entries {
		if err := h.Status.Validate(); err != nil {
			return fmt.Errorf("sqlitestore: put sync health: %w", err)
		}
	}
	return s.write(ctx, func(q querier) error {
		for _, h := range entries {
			email := hubsync.FoldEmail(h.Email)
			var err error
			if h.Status == hubsync.HealthInSync {
				_, err = q.ExecContext(ctx, s.sql(deleteSyncHealthSQL),
					string(h.School), email, h.LearnerID, string(h.Direction))
			} else {
				_, err = q.ExecContext(ctx, s.sql(putSyncHealthSQL), string(h.School), email, h.LearnerID, string(h.Direction),
					string(h.Status), string(h.Exclusion), h.Reason, ns(h.At))
			}
			if err != nil {
				return interpretError("put sync health", err)
			}
		}
		return nil
	})
}

// ListSyncHealth returns a school's rows matching f, by email, learner id and direction (the
// primary key's order, so a page reads only its own rows and the ones it skips).
func (s *Store) ListSyncHealth(ctx context.Context, school hubsync.SchoolID, f hubsync.HealthFilter) ([]hubsync.HealthEntry, error) {
	f, err := f.Normalized()
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list sync health of %s: %w", school, err)
	}
	query := s.sql(listSyncHealthSQL)
	args := []any{string(school), f.AfterEmail, f.AfterLearner, string(f.AfterDirection)}
	if f.Status != "" {
		query += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if f.Direction != "" {
		query += ` AND direction = ?`
		args = append(args, string(f.Direction))
	}
	query += ` ORDER BY email, learner_id, direction LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.reader().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, interpretError(fmt.Sprintf("list sync health of %s", school), err)
	}
	defer rows.Close()
	var out []hubsync.HealthEntry
	for rows.Next() {
		h := hubsync.HealthEntry{School: school}
		var dir, status, excl string
		var at int64
		if err := rows.Scan(&h.Email, &h.LearnerID, &dir, &status, &excl, &h.Reason, &at); err != nil {
			return nil, interpretError(fmt.Sprintf("list sync health of %s", school), err)
		}
		h.Direction, h.Status, h.Exclusion, h.At = hubsync.Direction(dir), hubsync.HealthStatus(status), hubsync.Exclusion(excl), fromNS(at)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, interpretError(fmt.Sprintf("list sync health of %s", school), err)
	}
	return out, nil
}

// ListSyncStates returns a school's sync states after the email after, by email (the primary key).
func (s *Store) ListSyncStates(ctx context.Context, school hubsync.SchoolID, after string, limit int) ([]hubsync.SyncState, error) {
	if limit <= 0 {
		limit = hubsync.LogLimitDefault
	}
	rows, err := s.reader().QueryContext(ctx, s.sql(listSyncStatesSQL), string(school), after, limit)
	if err != nil {
		return nil, interpretError(fmt.Sprintf("list sync states of %s", school), err)
	}
	defer rows.Close()
	var out []hubsync.SyncState
	for rows.Next() {
		st := hubsync.SyncState{School: school}
		var toHS, toLMS string
		var updated int64
		if err := rows.Scan(&st.Email, &st.LearnerID, &st.ContactID, &toHS, &toLMS, &st.LifecycleStage, &updated); err != nil {
			return nil, interpretError(fmt.Sprintf("list sync states of %s", school), err)
		}
		if err := errors.Join(json.Unmarshal([]byte(toHS), &st.SentToHubSpot), json.Unmarshal([]byte(toLMS), &st.SentToLMS)); err != nil {
			return nil, fmt.Errorf("sqlitestore: decode sync state of %s in %s: %w", hubsync.MaskEmail(st.Email), school, err)
		}
		st.UpdatedAt = fromNS(updated)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, interpretError(fmt.Sprintf("list sync states of %s", school), err)
	}
	return out, nil
}
