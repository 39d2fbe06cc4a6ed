package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// readOnlyRoute reports whether a fake HubSpot route pattern only reads.
func readOnlyRoute(route string) bool {
	return strings.HasPrefix(route, "GET ") || strings.HasSuffix(route, "/batch/read") || strings.HasSuffix(route, "/search") ||
		strings.Contains(route, "/oauth/")
}

// TestDryRunPlanMatchesRealRun is the "done when": a dry run of a 10,000-learner school
// writes nothing to either fake (their request counts show only reads) nor to the store, and its
// plan matches what the real run then does, record for record (the plan against the real run's
// sync log).
func TestDryRunPlanMatchesRealRun(t *testing.T) {
	t.Parallel()
	const n = 10_000
	f := newFixture(t)
	seedSchool(t, f.lw, n)
	// A tenth of the learners already have a contact, with another country: updates.
	for i := 0; i < n; i += 10 {
		if _, err := f.hs.SeedContact(map[string]string{"email": learnerEmail(i), "country": "XX"}); err != nil {
			t.Fatal(err)
		}
	}
	f.connect(t)
	if r := f.run(t, "settings", "apply", "-f", f.writeFile(t, "settings.json", settingsFile)); r.code != 0 {
		t.Fatalf("settings apply: exit %d\n%s", r.code, r.stderr)
	}
	f.hs.ResetStats()
	lwBefore := f.lw.Stats()

	plan := filepath.Join(f.dir, "plan.jsonl")
	r := f.run(t, "sync", "--dry-run", "--plan", plan)
	if r.code != 0 {
		t.Fatalf("sync --dry-run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	wantTotals := fmt.Sprintf("Plan (to_hubspot): %d records: %d create, %d update, 0 unchanged, 0 skip, 0 fail.", n, n*9/10, n/10)
	if !strings.Contains(r.stdout, wantTotals) {
		t.Fatalf("dry run output lacks %q:\n%s", wantTotals, r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, "learner00000@") || !strings.Contains(r.stdout, `country "XX" -> "`) {
		t.Fatalf("dry run output: full emails, or no masked change:\n%s", r.stdout)
	}
	// Nothing written to either fake.
	for route, c := range f.hs.Stats().ByRoute {
		if !readOnlyRoute(route) {
			t.Errorf("the dry run sent %d requests to HubSpot's %s", c, route)
		}
	}
	reads := 0
	for route, c := range f.hs.Stats().ByRoute {
		if strings.HasSuffix(route, "/contacts/batch/read") {
			reads += c
		}
	}
	if reads != n/100 { // one batch read for every batch upsert the real run makes
		t.Errorf("the dry run read contacts %d times, want %d: %v", reads, n/100, f.hs.Stats().ByRoute)
	}
	if w := f.lw.Stats().Writes - lwBefore.Writes; w != 0 {
		t.Errorf("the dry run sent %d writes to LearnWorlds", w)
	}
	if c := f.hs.Contacts(); len(c) != n/10 {
		t.Errorf("HubSpot holds %d contacts after the dry run, want the %d seeded", len(c), n/10)
	}
	// Nor to the store: no sync log, no sync state, no health record, no manual checkpoint.
	st, err := sqlitestore.Open(t.Context(), f.db)
	if err != nil {
		t.Fatal(err)
	}
	school := hubsync.SchoolID("default")
	logs, err := st.ListSyncLog(t.Context(), school, hubsync.LogFilter{Limit: 2 * n})
	states, err2 := st.ListSyncStates(t.Context(), school, "", 10)
	health, err3 := st.ListSyncHealth(t.Context(), school, hubsync.HealthFilter{})
	_, err4 := st.GetCheckpoint(t.Context(), school, "manual")
	if err := errors.Join(err, err2, err3); err != nil || len(logs)+len(states)+len(health) != 0 || !errors.Is(err4, hubsync.ErrNotFound) {
		t.Fatalf("the dry run wrote to the store: %d log entries, %d states, %d health records, checkpoint %v (%v)", len(logs), len(states), len(health), err4, err)
	}
	st.Close()

	// The plan file: one record a learner, full emails.
	planned := map[string]hubsync.PlanRecord{}
	fh, err := os.Open(plan)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var p hubsync.PlanRecord
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("plan line %q: %v", sc.Text(), err)
		}
		if _, dup := planned[p.Email]; dup {
			t.Fatalf("%s planned twice", hubsync.MaskEmail(p.Email))
		}
		planned[p.Email] = p
	}
	fh.Close()
	if len(planned) != n {
		t.Fatalf("the plan holds %d records, want %d", len(planned), n)
	}
	if p := planned[learnerEmail(10)]; p.Action != hubsync.PlanUpdate || !containsChange(p.Changes, "country", "XX", countries[10%len(countries)]) {
		t.Fatalf("plan of learner 10 = %+v", p)
	}

	// The real run does what the plan said, record for record.
	if r := f.run(t, "sync"); r.code != 0 {
		t.Fatalf("sync: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	st, err = sqlitestore.Open(t.Context(), f.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logs, err = st.ListSyncLog(t.Context(), school, hubsync.LogFilter{Limit: 2 * n})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != n {
		t.Fatalf("the real run logged %d records, want %d", len(logs), n)
	}
	for _, l := range logs {
		p, ok := planned[l.Email]
		if !ok || p.Action.Outcome() != l.Outcome || p.Reason != l.Reason || p.Direction != l.Direction {
			t.Fatalf("%s: real run %s %q, plan %+v", hubsync.MaskEmail(l.Email), l.Outcome, l.Reason, p)
		}
	}
}

func containsChange(ch []hubsync.FieldChange, field, old, new string) bool {
	for _, c := range ch {
		if c.Field == field && c.Old == old && c.New == new {
			return true
		}
	}
	return false
}
