package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

// GetSyncState returns the state of one learner, the email folded with hubsync.FoldEmail; an
// error wrapping hubsync.ErrNotFound when there is none. Errors mask the email.
func (s *Store) GetSyncState(ctx context.Context, school hubsync.SchoolID, email string) (hubsync.SyncState, error) {
	key := hubsync.FoldEmail(email)
	st := hubsync.SyncState{School: school, Email: key}
	var sentHS, sentLMS []byte
	err := s.db.QueryRow(ctx, `SELECT learner_id, contact_id, sent_hubspot, sent_lms, lifecycle_stage, updated_at
		FROM sync_state WHERE school = $1 AND email = $2`, string(school), key).Scan(
		&st.LearnerID, &st.ContactID, &sentHS, &sentLMS, &st.LifecycleStage, &st.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return hubsync.SyncState{}, fmt.Errorf("pgstore: sync state of %s in school %q: %w", hubsync.MaskEmail(email), school, hubsync.ErrNotFound)
	}
	if err != nil {
		return hubsync.SyncState{}, fmt.Errorf("pgstore: reading sync state of %s in school %q: %w", hubsync.MaskEmail(email), school, err)
	}
	st.UpdatedAt = st.UpdatedAt.UTC()
	if err := decodeMap(sentHS, &st.SentToHubSpot); err != nil {
		return hubsync.SyncState{}, fmt.Errorf("pgstore: decoding sync state of %s: sent_hubspot: %w", hubsync.MaskEmail(email), err)
	}
	if err := decodeMap(sentLMS, &st.SentToLMS); err != nil {
		return hubsync.SyncState{}, fmt.Errorf("pgstore: decoding sync state of %s: sent_lms: %w", hubsync.MaskEmail(email), err)
	}
	return st, nil
}

// PutSyncState stores st under its school and folded email (hubsync.FoldEmail), replacing what
// was there, with UpdatedAt set to the clock's time. It fails on an empty school or email, or a
// database error.
func (s *Store) PutSyncState(ctx context.Context, st hubsync.SyncState) error {
	if st.School == "" {
		return errNoSchool
	}
	key := hubsync.FoldEmail(st.Email)
	if key == "" {
		return fmt.Errorf("pgstore: sync state of school %q has no email", st.School)
	}
	sentHS, err := encodeMap(st.SentToHubSpot)
	if err != nil {
		return fmt.Errorf("pgstore: encoding sent_hubspot: %w", err)
	}
	sentLMS, err := encodeMap(st.SentToLMS)
	if err != nil {
		return fmt.Errorf("pgstore: encoding sent_lms: %w", err)
	}
	_, err = s.db.Exec(ctx, `INSERT INTO sync_state (school, email, learner_id, contact_id, sent_hubspot, sent_lms, lifecycle_stage, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (school, email) DO UPDATE SET learner_id = EXCLUDED.learner_id, contact_id = EXCLUDED.contact_id,
			sent_hubspot = EXCLUDED.sent_hubspot, sent_lms = EXCLUDED.sent_lms,
			lifecycle_stage = EXCLUDED.lifecycle_stage, updated_at = EXCLUDED.updated_at`,
		string(st.School), key, st.LearnerID, st.ContactID, sentHS, sentLMS, st.LifecycleStage, s.now())
	if err != nil {
		return fmt.Errorf("pgstore: saving sync state of %s in school %q: %w", hubsync.MaskEmail(st.Email), st.School, err)
	}
	return nil
}

// encodeMap stores a nil map as SQL NULL, so nil and empty maps both round-trip as themselves.
func encodeMap(m map[string]string) ([]byte, error) {
	if m == nil {
		return nil, nil
	}
	return json.Marshal(m)
}

func decodeMap(b []byte, m *map[string]string) error {
	if b == nil {
		*m = nil
		return nil
	}
	return json.Unmarshal(b, m)
}
