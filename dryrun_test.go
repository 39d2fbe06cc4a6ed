package hubsync_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hubsync/hubsync"
)

// A two-way dry run with new-learner creation: every phase is planned (to HubSpot, to the LMS,
// create learners), nothing is written to the LMS, HubSpot, the sync states or the log, and the
// real manual sync then logs exactly the plan, record for record and in order.
func TestDryRunTwoWayMatchesRealRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mode: hubsync.ModeTwoWay, Mappings: []hubsync.Mapping{
		{LMSField: "email", HubSpotProperty: "email"},
		{LMSField: "first_name", HubSpotProperty: "firstname", Direction: hubsync.DirectionToHubSpot},
		{LMSField: "country", HubSpotProperty: "country", Direction: hubsync.DirectionToLMS},
	}, Inbound: hubsync.InboundSettings{CreateLearners: true}})
	for i := range 30 {
		h.lms.Put(school, hubsync.Learner{Email: fmt.Sprintf("m%02d@school.example", i), Values: map[string]any{"first_name": fmt.Sprint("L", i), "country": "GR"}})
		if i%3 == 0 {
			if _, err := h.hs.SeedContact(map[string]string{"email": fmt.Sprintf("m%02d@school.example", i), "country": "FR"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	h.lms.Put(school, hubsync.Learner{Email: "broken", Values: map[string]any{"first_name": "B"}})
	for i := range 4 { // contacts without a learner: created in the LMS
		if _, err := h.hs.SeedContact(map[string]string{"email": fmt.Sprintf("crm%d@school.example", i), "country": "DE"}); err != nil {
			t.Fatal(err)
		}
	}
	h.hs.ResetStats()
	before := h.lms.Stats()
	contacts := len(h.hs.Contacts())

	var plan []hubsync.PlanRecord
	tot, err := h.eng.DryRun(h.ctx, school, "", func(r hubsync.PlanRecord) error { plan = append(plan, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tot.Phases, []string{hubsync.PhaseToHubSpot, hubsync.PhaseToLMS, hubsync.PhaseCreateLearners}) ||
		tot.Records != len(plan) || tot.Create+tot.Update+tot.Unchanged+tot.Skip+tot.Fail != tot.Records {
		t.Fatalf("totals = %+v (%d records)", tot, len(plan))
	}
	for route, c := range h.hs.Stats().ByRoute {
		if !(route[:4] == "GET " || hasSuffix(route, "/batch/read") || hasSuffix(route, "/search")) {
			t.Errorf("the dry run sent %d requests to HubSpot's %s", c, route)
		}
	}
	if after := h.lms.Stats(); after.Updates != before.Updates || after.Creates != before.Creates || after.TagWrites != before.TagWrites {
		t.Errorf("the dry run wrote to the LMS: %+v -> %+v", before, after)
	}
	if n := len(h.hs.Contacts()); n != contacts {
		t.Errorf("HubSpot holds %d contacts after the dry run, want %d", n, contacts)
	}
	if logs, _ := h.store.ListSyncLog(h.ctx, school, hubsync.LogFilter{Limit: 1000}); len(logs) != 0 {
		t.Fatalf("the dry run logged %d entries", len(logs))
	}
	if st, _ := h.store.ListSyncStates(h.ctx, school, "", 10); len(st) != 0 {
		t.Fatalf("the dry run stored %d sync states", len(st))
	}
	var creates, lmsUpdates int
	for _, r := range plan {
		switch {
		case r.Phase == hubsync.PhaseCreateLearners && r.Action == hubsync.PlanCreate:
			creates++
		case r.Phase == hubsync.PhaseToLMS && r.Action == hubsync.PlanUpdate:
			lmsUpdates++
			if len(r.Changes) != 1 || r.Changes[0].Field != "country" || r.Changes[0].Old != "GR" || r.Changes[0].New != "FR" {
				t.Errorf("to-LMS change of %s = %+v", hubsync.MaskEmail(r.Email), r.Changes)
			}
		}
	}
	if creates != 4 || lmsUpdates != 10 {
		t.Fatalf("plan: %d learners created, %d updated in the LMS; want 4 and 10:\n%+v", creates, lmsUpdates, plan)
	}

	h.manual("")
	logs, err := h.store.ListSyncLog(h.ctx, school, hubsync.LogFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(logs) // oldest first: the order the plan lists
	if len(logs) != len(plan) {
		t.Fatalf("the real run logged %d records, the plan holds %d", len(logs), len(plan))
	}
	for i, l := range logs {
		p := plan[i]
		if p.Email != l.Email || p.Action.Outcome() != l.Outcome || p.Reason != l.Reason || p.Direction != l.Direction {
			t.Errorf("record %d: real %s %s %q, plan %s %s %q", i, hubsync.MaskEmail(l.Email), l.Outcome, l.Reason, hubsync.MaskEmail(p.Email), p.Action, p.Reason)
		}
	}
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }
