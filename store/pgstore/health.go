package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

var putSyncHealthSQL = sqlStmt(`WITH e AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
				AS e(school, email, learner_id, direction, status, exclusion, reason, at)
		), gone AS (
			DELETE FROM {schema}.sync_health h USING e
			WHERE e.status = 'in_sync' AND h.school = e.school AND h.email = e.email
			  AND h.learner_id = e.learner_id AND h.direction = e.direction
		)
		INSERT INTO {schema}.sync_health (school, email, learner_id, direction, status, exclusion, reason, at)
		SELECT school, email, learner_id, direction, status, exclusion, reason, at FROM e WHERE status <> 'in_sync'
		ON CONFLICT (school, email, learner_id, direction) DO UPDATE SET status = EXCLUDED.status,
			exclusion = EXCLUDED.exclusion, reason = EXCLUDED.reason, at = EXCLUDED.at`)

// PutSyncHealth deletes the row of each in-sync entry and replaces the others', in one
// statement. Of entries sharing a key the last one given wins, as if they were applied in order.
func (s *Store) PutSyncHealth(ctx context.Context, entries ...hubsync.HealthEntry) error {
	if len(entries) == 0 {
		return nil
	}
	type key struct{ school, email, learner, dir string }
	last := map[key]int{}
	for i, h := range entries {
		if err := h.Status.Validate(); err != nil {
			return fmt.Errorf("pgstore: saving sync health: %w", err)
		}
		last[key{string(h.School), hubsync.FoldEmail(h.Email), h.LearnerID, string(h.Direction)}] = i
	}
	var schools, emails, learners, dirs, statuses, excls, reasons []string
	var ats []time.Time
	for i, h := range entries {
		k := key{string(h.School), hubsync.FoldEmail(h.Email), h.LearnerID, string(h.Direction)}
		if last[k] != i {
			continue
		}
		schools, emails, learners, dirs = append(schools, k.school), append(emails, k.email), append(learners, k.learner), append(dirs, k.dir)
		statuses, excls, reasons = append(statuses, string(h.Status)), append(excls, string(h.Exclusion)), append(reasons, h.Reason)
		ats = append(ats, h.At.UTC())
	}
	_, err := s.db.Exec(ctx, s.sql(putSyncHealthSQL),
		schools, emails, learners, dirs, statuses, excls, reasons, ats)
	if err != nil {
		return interpretError(fmt.Sprintf("saving %d sync health records", len(schools)), err)
	}
	return nil
}

var listSyncHealthSQL = sqlStmt(`SELECT email, learner_id, direction, status, exclusion, reason, at FROM {schema}.sync_health
		WHERE school = $1 AND (email, learner_id, direction) > ($2, $3, $4)
		  AND ($5 = '' OR status = $5) AND ($6 = '' OR direction = $6)
		ORDER BY email, learner_id, direction LIMIT $7`)

// ListSyncHealth returns a school's rows matching f, by email, learner id and direction (the
// primary key's order).
func (s *Store) ListSyncHealth(ctx context.Context, school hubsync.SchoolID, f hubsync.HealthFilter) ([]hubsync.HealthEntry, error) {
	f, err := f.Normalized()
	if err != nil {
		return nil, fmt.Errorf("pgstore: listing the sync health of school %q: %w", school, err)
	}
	rows, err := s.db.Query(ctx, s.sql(listSyncHealthSQL),
		string(school), f.AfterEmail, f.AfterLearner, string(f.AfterDirection), string(f.Status), string(f.Direction), f.Limit)
	if err != nil {
		return nil, interpretError(fmt.Sprintf("listing the sync health of school %q", school), err)
	}
	var out []hubsync.HealthEntry
	var h hubsync.HealthEntry
	var dir, status, excl string
	_, err = pgx.ForEachRow(rows, []any{&h.Email, &h.LearnerID, &dir, &status, &excl, &h.Reason, &h.At}, func() error {
		h.School, h.Direction, h.Status, h.Exclusion, h.At = school, hubsync.Direction(dir), hubsync.HealthStatus(status), hubsync.Exclusion(excl), h.At.UTC()
		out = append(out, h)
		return nil
	})
	if err != nil {
		return nil, interpretError(fmt.Sprintf("listing the sync health of school %q", school), err)
	}
	return out, nil
}

var listSyncStatesSQL = sqlStmt(`SELECT email, learner_id, contact_id, sent_hubspot, sent_lms, lifecycle_stage, updated_at
		FROM {schema}.sync_state WHERE school = $1 AND email > $2 ORDER BY email LIMIT $3`)

// ListSyncStates returns a school's sync states after the email after, by email (the primary key).
func (s *Store) ListSyncStates(ctx context.Context, school hubsync.SchoolID, after string, limit int) ([]hubsync.SyncState, error) {
	if limit <= 0 {
		limit = hubsync.LogLimitDefault
	}
	rows, err := s.db.Query(ctx, s.sql(listSyncStatesSQL), string(school), after, limit)
	if err != nil {
		return nil, interpretError(fmt.Sprintf("listing the sync states of school %q", school), err)
	}
	var out []hubsync.SyncState
	var st hubsync.SyncState
	var sentHS, sentLMS []byte
	_, err = pgx.ForEachRow(rows, []any{&st.Email, &st.LearnerID, &st.ContactID, &sentHS, &sentLMS, &st.LifecycleStage, &st.UpdatedAt}, func() error {
		st.School, st.UpdatedAt = school, st.UpdatedAt.UTC()
		st.SentToHubSpot, st.SentToLMS = nil, nil
		if err := decodeMap(sentHS, &st.SentToHubSpot); err != nil {
			return fmt.Errorf("pgstore: decoding sync state of %s: sent_hubspot: %w", hubsync.MaskEmail(st.Email), err)
		}
		if err := decodeMap(sentLMS, &st.SentToLMS); err != nil {
			return fmt.Errorf("pgstore: decoding sync state of %s: sent_lms: %w", hubsync.MaskEmail(st.Email), err)
		}
		out = append(out, st)
		return nil
	})
	if err != nil {
		return nil, interpretError(fmt.Sprintf("listing the sync states of school %q", school), err)
	}
	return out, nil
}
