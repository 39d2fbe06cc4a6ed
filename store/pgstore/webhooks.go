package pgstore

import (
	"context"
	"fmt"
	"time"
)

// MarkWebhookSeen records a webhook event id from source and reports whether this is the first
// time it was seen; of racing callers with one id exactly one gets true (primary key on
// (source, event_id)). It fails on an empty source or id, or a database error.
func (s *Store) MarkWebhookSeen(ctx context.Context, source, eventID string, at time.Time) (bool, error) {
	if source == "" || eventID == "" {
		return false, fmt.Errorf("pgstore: MarkWebhookSeen needs a source and an event id (source %q, id empty: %t)", source, eventID == "")
	}
	if at.IsZero() {
		at = s.now()
	}
	tag, err := s.db.Exec(ctx, `INSERT INTO webhooks_seen (source, event_id, seen_at) VALUES ($1, $2, $3)
		ON CONFLICT (source, event_id) DO NOTHING`, source, eventID, at.UTC())
	if err != nil {
		return false, fmt.Errorf("pgstore: recording %s webhook event: %w", source, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ForgetWebhooksBefore deletes dedupe records seen before t and returns how many went.
func (s *Store) ForgetWebhooksBefore(ctx context.Context, t time.Time) (int, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM webhooks_seen WHERE seen_at < $1`, t.UTC())
	if err != nil {
		return 0, fmt.Errorf("pgstore: forgetting webhook events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
