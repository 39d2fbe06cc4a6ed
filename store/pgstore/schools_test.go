package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

// TestSchoolIDsMigration: sync states, sync log entries and health entries written before
// migration 0010 (the school as text) read back the same after it, for each of two schools (the
// sent maps in both stored forms, JSON and binary); a state's UpdatedAt is carried exactly, so a
// swap against the value read still writes; new entries go after the old ones in the log (the
// id's sequence carries on), and a school first written after the migration gets an id of its
// own.
func TestSchoolIDsMigration(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema := freshSchema(t)
	ms := migrationsOf(t, schema)
	i := 0
	for i < len(ms) && ms[i].Version < 10 {
		i++
	}
	applyByHand(t, ms[:i])
	tbl := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
	execByHand(t, fmt.Sprintf(`INSERT INTO %s (school, email, learner_id, contact_id, sent_hubspot, sent_lms, lifecycle_stage, updated_at) VALUES
		('north', 'jane@example.com', 'u1', '101', convert_to('{"firstname":"Jane"}', 'UTF8'), NULL, 'lead', '2026-01-01T00:00:00.123456Z'),
		('north', 'bob@example.com', 'u2', '102', '\x020003084a616e65', '\x0200', 'customer', '2026-01-01T00:00:01Z'),
		('south', 'jane@example.com', 'u9', '909', NULL, NULL, '', '2026-01-01T00:00:02Z')`, tbl("sync_state")))
	execByHand(t, fmt.Sprintf(`INSERT INTO %s (school, at, direction, email, outcome, reason) VALUES
		('north', '2026-01-01T00:00:01Z', 1, 'jane@example.com', 1, ''),
		('south', '2026-01-01T00:00:01Z', 1, 'jane@example.com', 2, ''),
		('north', '2026-01-01T00:00:01Z', 2, 'bob@example.com', 5, 'LMS said 422'),
		('north', '2026-01-01T00:00:02Z', 1, 'bob@example.com', 4, 'no consent')`, tbl("sync_log")))
	execByHand(t, fmt.Sprintf(`INSERT INTO %s (school, email, learner_id, direction, status, exclusion, reason, at) VALUES
		('north', 'bob@example.com', '', 'to_lms', 'failing', '', 'LMS said 422', '2026-01-01T00:00:01Z'),
		('south', '', 'u7', 'to_hubspot', 'excluded', 'no_email', '', '2026-01-01T00:00:03Z')`, tbl("sync_health")))
	applyByHand(t, ms[i:])
	applyByHand(t, ms) // every migration again: idempotent over the new tables
	s, err := newChecked(t, schema)
	if err != nil {
		t.Fatal(err)
	}

	at := func(sec int, usec int) time.Time { return time.Date(2026, 1, 1, 0, 0, sec, usec*1000, time.UTC) }
	wantStates := map[hubsync.SchoolID][]hubsync.SyncState{
		"north": {
			{School: "north", Email: "bob@example.com", LearnerID: "u2", ContactID: "102", SentToHubSpot: map[string]string{"firstname": "Jane"},
				SentToLMS: map[string]string{}, LifecycleStage: "customer", UpdatedAt: at(1, 0)},
			{School: "north", Email: "jane@example.com", LearnerID: "u1", ContactID: "101", SentToHubSpot: map[string]string{"firstname": "Jane"},
				LifecycleStage: "lead", UpdatedAt: at(0, 123456)},
		},
		"south": {{School: "south", Email: "jane@example.com", LearnerID: "u9", ContactID: "909", UpdatedAt: at(2, 0)}},
	}
	for school, want := range wantStates {
		got, err := s.ListSyncStates(ctx, school, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("school %s's sync states after migration 0010 (-want +got):\n%s", school, d)
		}
		one, err := s.GetSyncState(ctx, school, "jane@example.com")
		if err != nil || !cmp.Equal(one, want[len(want)-1]) {
			t.Errorf("GetSyncState(%s, jane) = %+v, %v; want %+v", school, one, err, want[len(want)-1])
		}
	}
	jane := wantStates["north"][1]
	next := jane
	next.ContactID = "111"
	conflicts, err := s.SwapSyncStates(ctx, "north", []hubsync.SyncStateSwap{{State: next, Existed: true, UpdatedAt: jane.UpdatedAt}})
	if err != nil || len(conflicts) != 0 {
		t.Fatalf("SwapSyncStates against the migrated UpdatedAt = %v, %v; want it written", conflicts, err)
	}
	if st, err := s.GetSyncState(ctx, "south", "jane@example.com"); err != nil || st.ContactID != "909" {
		t.Fatalf("south's jane after north's swap = %+v, %v; want her own row, untouched", st, err)
	}

	if err := s.AppendSyncLog(ctx, hubsync.SyncLogEntry{School: "north", At: at(1, 0), Direction: hubsync.DirectionToHubSpot,
		Email: "carol@example.com", Outcome: hubsync.OutcomeCreated}); err != nil {
		t.Fatal(err)
	}
	log, err := s.ListSyncLog(ctx, "north", hubsync.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		At      time.Time
		Email   string
		Outcome hubsync.LogOutcome
		Reason  string
	}
	var rows []row
	for _, e := range log {
		rows = append(rows, row{e.At, e.Email, e.Outcome, e.Reason})
	}
	// Newest first; of equal times, the last appended first (the new entry's id follows the old).
	wantLog := []row{
		{at(2, 0), "bob@example.com", hubsync.OutcomeSkipped, "no consent"},
		{at(1, 0), "carol@example.com", hubsync.OutcomeCreated, ""},
		{at(1, 0), "bob@example.com", hubsync.OutcomeFailed, "LMS said 422"},
		{at(1, 0), "jane@example.com", hubsync.OutcomeCreated, ""},
	}
	if d := cmp.Diff(wantLog, rows); d != "" {
		t.Errorf("north's sync log after migration 0010 (-want +got):\n%s", d)
	}
	if south, err := s.ListSyncLog(ctx, "south", hubsync.LogFilter{}); err != nil || len(south) != 1 || south[0].Outcome != hubsync.OutcomeUpdated {
		t.Errorf("south's sync log = %+v, %v; want its one entry", south, err)
	}

	health, err := s.ListSyncHealth(ctx, "south", hubsync.HealthFilter{})
	if err != nil {
		t.Fatal(err)
	}
	wantHealth := []hubsync.HealthEntry{{School: "south", Direction: hubsync.DirectionToHubSpot, LearnerID: "u7", Status: hubsync.HealthExcluded,
		Exclusion: hubsync.ExcludedNoEmail, At: at(3, 0)}}
	if d := cmp.Diff(wantHealth, health); d != "" {
		t.Errorf("south's health after migration 0010 (-want +got):\n%s", d)
	}
	if err := s.PutSyncHealth(ctx, hubsync.HealthEntry{School: "north", Direction: hubsync.DirectionToLMS, Email: "bob@example.com",
		Status: hubsync.HealthInSync, At: at(4, 0)}); err != nil {
		t.Fatal(err)
	}
	if north, err := s.ListSyncHealth(ctx, "north", hubsync.HealthFilter{}); err != nil || len(north) != 0 {
		t.Errorf("north's health after bob is in sync = %+v, %v; want none", north, err)
	}

	// A school first written now gets an id of its own.
	if err := s.PutSyncState(ctx, hubsync.SyncState{School: "east", Email: "jane@example.com", LearnerID: "u5"}); err != nil {
		t.Fatal(err)
	}
	for school, learner := range map[hubsync.SchoolID]string{"east": "u5", "north": "u1", "south": "u9"} {
		if st, err := s.GetSyncState(ctx, school, "jane@example.com"); err != nil || st.LearnerID != learner {
			t.Errorf("GetSyncState(%s, jane) = %+v, %v; want learner %s", school, st, err, learner)
		}
	}
	if n := countRows(t, schema, "schools"); n != 3 {
		t.Errorf("schools holds %d rows, want 3", n)
	}
}

// TestSchoolIDRolledBack: a school first written in a transaction that rolls back takes its row
// in schools with it, and the Store, which read the id in that transaction, does not keep it: the
// school's next write, outside, stores a row that reads back.
func TestSchoolIDRolledBack(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openTest(t)
	errRollBack := errors.New("roll back")
	err := s.RunInTx(ctx, func(ctx context.Context, tx hubsync.Store, _ hubsync.Queue) error {
		if err := tx.PutSyncState(ctx, hubsync.SyncState{School: "new", Email: "jane@example.com", LearnerID: "u1"}); err != nil {
			return err
		}
		if err := tx.AppendSyncLog(ctx, hubsync.SyncLogEntry{School: "new", Email: "jane@example.com", Outcome: hubsync.OutcomeCreated}); err != nil {
			return err
		}
		return errRollBack
	})
	if !errors.Is(err, errRollBack) {
		t.Fatalf("RunInTx = %v, want the rollback", err)
	}
	if _, err := s.GetSyncState(ctx, "new", "jane@example.com"); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("GetSyncState after the rollback: %v, want ErrNotFound", err)
	}
	if err := s.PutSyncState(ctx, hubsync.SyncState{School: "new", Email: "jane@example.com", LearnerID: "u2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendSyncLog(ctx, hubsync.SyncLogEntry{School: "new", Email: "jane@example.com", Outcome: hubsync.OutcomeUpdated}); err != nil {
		t.Fatal(err)
	}
	if st, err := s.GetSyncState(ctx, "new", "jane@example.com"); err != nil || st.LearnerID != "u2" {
		t.Fatalf("GetSyncState after the write outside = %+v, %v; want learner u2", st, err)
	}
	if log, err := s.ListSyncLog(ctx, "new", hubsync.LogFilter{}); err != nil || len(log) != 1 {
		t.Fatalf("ListSyncLog after the write outside = %+v, %v; want one entry", log, err)
	}
	// The same through a second instance, which never saw the school.
	s2 := openSibling(t, s)
	if st, err := s2.GetSyncState(ctx, "new", "jane@example.com"); err != nil || st.LearnerID != "u2" {
		t.Fatalf("a second instance reads %+v, %v; want learner u2", st, err)
	}
}

// TestSchoolIDRace: instances writing a new school's first rows at once (each its own pool) all
// get the school's one id: every row reads back, through either instance.
func TestSchoolIDRace(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s1 := openTest(t)
	s2 := openSibling(t, s1)
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		go func() {
			errs <- s.PutSyncState(ctx, hubsync.SyncState{School: "fresh", Email: fmt.Sprintf("l%d@example.com", i), LearnerID: fmt.Sprint(i)})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []hubsync.Store{s1, s2} {
		got, err := s.ListSyncStates(ctx, "fresh", "", 100)
		if err != nil || len(got) != n {
			t.Fatalf("ListSyncStates = %d states, %v; want %d", len(got), err, n)
		}
	}
	if c := countRows(t, s1.Schema(), "schools"); c != 1 {
		t.Fatalf("schools holds %d rows, want 1", c)
	}
}
