package pgstore_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

// TestSyncLogCodesMigration: rows written before migration 0007 (outcome and direction as text)
// read back the same after it, filters included; a value no hubsync writes becomes the empty one
// with its text kept at the start of the reason.
func TestSyncLogCodesMigration(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema := freshSchema(t)
	ms := migrationsOf(t, schema)
	i := 0
	for i < len(ms) && ms[i].Version < 7 {
		i++
	}
	applyByHand(t, ms[:i])
	execByHand(t, fmt.Sprintf(`INSERT INTO %s (school, at, direction, email, outcome, reason) VALUES
		('a', '2026-01-01T00:00:01Z', 'to_hubspot', 'jane@example.com', 'created', ''),
		('a', '2026-01-01T00:00:02Z', 'to_lms', 'bob@example.com', 'failed', 'LMS said 422'),
		('a', '2026-01-01T00:00:03Z', '', 'carol@example.com', 'skipped', 'no consent'),
		('a', '2026-01-01T00:00:04Z', 'sideways', 'dan@example.com', 'exploded', 'boom')`,
		pgx.Identifier{schema, "sync_log"}.Sanitize()))
	applyByHand(t, ms[i:])
	applyByHand(t, ms[i:]) // idempotent: the columns are smallint already
	s, err := newChecked(t, schema)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ListSyncLog(ctx, "a", hubsync.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Direction hubsync.Direction
		Email     string
		Outcome   hubsync.LogOutcome
		Reason    string
	}
	var rows []row
	for _, e := range got {
		rows = append(rows, row{e.Direction, e.Email, e.Outcome, e.Reason})
	}
	want := []row{
		{"", "dan@example.com", "", "(outcome 'exploded') (direction 'sideways') boom"},
		{"", "carol@example.com", hubsync.OutcomeSkipped, "no consent"},
		{hubsync.DirectionToLMS, "bob@example.com", hubsync.OutcomeFailed, "LMS said 422"},
		{hubsync.DirectionToHubSpot, "jane@example.com", hubsync.OutcomeCreated, ""},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Fatalf("sync log after migration 0007 (-want +got):\n%s", d)
	}
	failed, err := s.ListSyncLog(ctx, "a", hubsync.LogFilter{Outcome: hubsync.OutcomeFailed})
	if err != nil || len(failed) != 1 || failed[0].Email != "bob@example.com" {
		t.Fatalf("ListSyncLog by outcome failed = %+v, %v; want bob's entry", failed, err)
	}
	// New entries of every outcome and direction round-trip.
	var entries []hubsync.SyncLogEntry
	for _, o := range hubsync.LogOutcomes() {
		for _, d := range hubsync.Directions() {
			entries = append(entries, hubsync.SyncLogEntry{School: "b", At: got[0].At, Direction: d, Email: "x@example.com", Outcome: o})
		}
	}
	if err := s.AppendSyncLog(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	back, err := s.ListSyncLog(ctx, "b", hubsync.LogFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(back)-1; i < j; i, j = i+1, j-1 {
		back[i], back[j] = back[j], back[i]
	}
	if d := cmp.Diff(entries, back, cmpopts.IgnoreFields(hubsync.SyncLogEntry{}, "ID")); d != "" {
		t.Fatalf("entries of every outcome and direction (-want +got):\n%s", d)
	}
}
