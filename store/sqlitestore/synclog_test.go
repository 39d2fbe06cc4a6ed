package sqlitestore_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// TestSyncLogEmailFoldBlank: an entry whose email is already folded stores email_lc empty, and
// the email filter finds it; rows written before migration 0006 (email_lc = the folded email,
// or a folded copy of an address written in capitals) are blanked by it where they repeated the
// email, and every one is still found by the filter.
func TestSyncLogEmailFoldBlank(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ms, err := sqlitestore.Migrations(sqlitestore.PrefixDefault)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m sqlitestore.Migration) bool { return m.Version == 6 })
	if i < 0 {
		t.Fatal("no migration 6")
	}
	db := openHostDB(t, filepath.Join(t.TempDir(), "lms.db"))
	migrationsTo(t, db, ms[:i])
	// Two rows as the store wrote them before 0006.
	if _, err := db.ExecContext(ctx, `INSERT INTO hubsync_sync_log (school, at, direction, email, email_lc, outcome, reason) VALUES
		('a', 1, 'to_hubspot', 'jane@example.com', 'jane@example.com', 'created', ''),
		('a', 2, 'to_hubspot', 'Jane@Example.com', 'jane@example.com', 'updated', '')`); err != nil {
		t.Fatal(err)
	}
	s, err := sqlitestore.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendSyncLog(ctx,
		hubsync.SyncLogEntry{School: "a", At: time.Unix(3, 0), Direction: hubsync.DirectionToHubSpot, Email: "jane@example.com", Outcome: hubsync.OutcomeUnchanged},
		hubsync.SyncLogEntry{School: "a", At: time.Unix(4, 0), Direction: hubsync.DirectionToHubSpot, Email: " JANE@example.com", Outcome: hubsync.OutcomeSkipped},
		hubsync.SyncLogEntry{School: "a", At: time.Unix(5, 0), Direction: hubsync.DirectionToHubSpot, Email: "bob@example.com", Outcome: hubsync.OutcomeCreated},
	); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListSyncLog(ctx, "a", hubsync.LogFilter{Email: "JANE@EXAMPLE.COM"})
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, e := range got {
		emails = append(emails, e.Email)
	}
	if want := []string{" JANE@example.com", "jane@example.com", "Jane@Example.com", "jane@example.com"}; !slices.Equal(emails, want) {
		t.Fatalf("filter by email found %q, want %q", emails, want)
	}
	rows, err := db.QueryContext(ctx, `SELECT email, email_lc FROM hubsync_sync_log ORDER BY at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lcs []string
	for rows.Next() {
		var e, lc string
		if err := rows.Scan(&e, &lc); err != nil {
			t.Fatal(err)
		}
		lcs = append(lcs, lc)
	}
	if want := []string{"", "jane@example.com", "", "jane@example.com", ""}; !slices.Equal(lcs, want) {
		t.Fatalf("email_lc column = %q, want %q", lcs, want)
	}
}
