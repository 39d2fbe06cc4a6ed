package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

// AppendSyncLog adds entries to the per-record sync log in one statement; a zero At becomes the
// clock's time. It fails, adding nothing, when an entry has no school, or on a database error.
func (s *Store) AppendSyncLog(ctx context.Context, entries ...hubsync.SyncLogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	now := s.now()
	n := len(entries)
	schools, ats, dirs, emails, outcomes, reasons := make([]string, n), make([]time.Time, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range entries {
		if e.School == "" {
			return fmt.Errorf("pgstore: sync log entry %d has no school", i)
		}
		at := e.At
		if at.IsZero() {
			at = now
		}
		schools[i], ats[i], dirs[i], emails[i], outcomes[i], reasons[i] = string(e.School), at.UTC(), string(e.Direction), e.Email, string(e.Outcome), e.Reason
	}
	// WITH ORDINALITY keeps the given order, so ids grow in append order.
	_, err := s.db.Exec(ctx, `INSERT INTO sync_log (school, at, direction, email, outcome, reason)
		SELECT school, at, direction, email, outcome, reason
		FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[])
			WITH ORDINALITY AS e(school, at, direction, email, outcome, reason, n)
		ORDER BY n`, schools, ats, dirs, emails, outcomes, reasons)
	if err != nil {
		return fmt.Errorf("pgstore: appending %d sync log entries: %w", n, err)
	}
	return nil
}

// foldEmailSQL is hubsync.FoldEmail in SQL, for the stored email column: ASCII white space
// trimmed, lower-cased. (FoldEmail also trims Unicode spaces, which no address carries.)
const foldEmailSQL = `lower(btrim(email, E' \t\n\x0B\f\r'))`

// ListSyncLog returns a school's log entries matching f (hubsync.LogFilter.Match, stated in SQL),
// newest first (entries with equal At: last appended first), at most f.Limit of them
// (hubsync.LogLimitDefault when 0). It fails with an error wrapping hubsync.ErrInvalidValue on a
// filter LogFilter.Validate refuses, or on a database error.
func (s *Store) ListSyncLog(ctx context.Context, school hubsync.SchoolID, f hubsync.LogFilter) ([]hubsync.SyncLogEntry, error) {
	f, err := f.Normalized()
	if err != nil {
		return nil, fmt.Errorf("pgstore: listing the sync log of school %q: %w", school, err)
	}
	rows, err := s.db.Query(ctx, `SELECT id, at, direction, email, outcome, reason FROM sync_log
		WHERE school = $1
		  AND ($2 = '' OR outcome = $2)
		  AND ($3 = '' OR `+foldEmailSQL+` = $3)
		  AND ($4::timestamptz IS NULL OR at >= $4)
		ORDER BY at DESC, id DESC
		LIMIT $5`, string(school), string(f.Outcome), f.Email, nullTime(f.Since), f.Limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: listing the sync log of school %q: %w", school, err)
	}
	var out []hubsync.SyncLogEntry
	var e hubsync.SyncLogEntry
	var dir, outcome string
	_, err = pgx.ForEachRow(rows, []any{&e.ID, &e.At, &dir, &e.Email, &outcome, &e.Reason}, func() error {
		e.School, e.At, e.Direction, e.Outcome = school, e.At.UTC(), hubsync.Direction(dir), hubsync.LogOutcome(outcome)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: listing the sync log of school %q: %w", school, err)
	}
	return out, nil
}
