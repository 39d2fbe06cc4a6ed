package hubsync_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

func TestHealthOf(t *testing.T) {
	t.Parallel()
	en := func(email string, o hubsync.LogOutcome, reason string) hubsync.SyncLogEntry {
		return hubsync.SyncLogEntry{School: "s", Direction: hubsync.DirectionToHubSpot, Email: email, Outcome: o, Reason: reason}
	}
	for _, c := range []struct {
		name      string
		en        hubsync.SyncLogEntry
		learner   string
		ok        bool
		status    hubsync.HealthStatus
		exclusion hubsync.Exclusion
		reason    string
	}{
		{"created", en("A@x.example", hubsync.OutcomeCreated, ""), "", true, hubsync.HealthInSync, "", ""},
		{"partial update is in sync", en("a@x.example", hubsync.OutcomeUpdated, "partial: cf_x"), "", true, hubsync.HealthInSync, "", ""},
		{"unchanged", en("a@x.example", hubsync.OutcomeUnchanged, ""), "", true, hubsync.HealthInSync, "", ""},
		{"failed", en("a@x.example", hubsync.OutcomeFailed, "hubspot: 400"), "", true, hubsync.HealthFailing, "", "hubspot: 400"},
		{"no consent", en("a@x.example", hubsync.OutcomeSkipped, "GDPR toolkit on and the learner has not accepted marketing cookies"), "", true, hubsync.HealthExcluded, hubsync.ExcludedNoConsent, ""},
		{"invalid email", en("nope", hubsync.OutcomeSkipped, "learner has no valid email: *** is not a valid email address"), "", true, hubsync.HealthExcluded, hubsync.ExcludedInvalidEmail, ""},
		{"no email", en("", hubsync.OutcomeSkipped, "learner has no valid email: email is empty"), "L1", true, hubsync.HealthExcluded, hubsync.ExcludedNoEmail, ""},
		{"no contact", en("a@x.example", hubsync.OutcomeSkipped, "no HubSpot contact with this email"), "", true, hubsync.HealthExcluded, hubsync.ExcludedNoContact, ""},
		{"other skip", en("a@x.example", hubsync.OutcomeSkipped, "a second learner with this email on the same page"), "", true, hubsync.HealthExcluded, hubsync.ExcludedOther, "a second learner with this email on the same page"},
		{"timeline event sent says nothing", en("a@x.example", hubsync.OutcomeCreated, "timeline event signed_up"), "", false, "", "", ""},
		{"timeline event skipped says nothing", en("a@x.example", hubsync.OutcomeSkipped, "timeline event signed_up is switched off"), "", false, "", "", ""},
		{"timeline event failing is failing", en("a@x.example", hubsync.OutcomeFailed, "timeline event signed_up: 400"), "", true, hubsync.HealthFailing, "", "timeline event signed_up: 400"},
		{"a long failure is clipped", en("a@x.example", hubsync.OutcomeFailed, strings.Repeat("é", 150)), "", true, hubsync.HealthFailing, "", strings.Repeat("é", 98) + "…"},
		{"no email and no learner", en("", hubsync.OutcomeFailed, "undecodable contact job"), "", false, "", "", ""},
	} {
		h, ok := hubsync.HealthOf(c.en, c.learner)
		if ok != c.ok || h.Status != c.status || h.Exclusion != c.exclusion || h.Reason != c.reason {
			t.Errorf("%s: HealthOf = %+v, %v; want %v %q %q %q", c.name, h, ok, c.ok, c.status, c.exclusion, c.reason)
		}
		if ok && (h.Email != hubsync.FoldEmail(c.en.Email) || h.LearnerID != map[bool]string{true: c.learner}[c.en.Email == ""]) {
			t.Errorf("%s: key %q %q", c.name, h.Email, h.LearnerID)
		}
	}
}

// healthList walks a whole list in pages of size, checking every page's size.
func healthList(t *testing.T, h *harness, status hubsync.HealthStatus, size int) []hubsync.HealthEntry {
	t.Helper()
	var out []hubsync.HealthEntry
	q := hubsync.HealthQuery{Status: status, Limit: size}
	for range 100 {
		page, err := h.eng.SyncHealth(h.ctx, school, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) > size || (page.Next != "" && len(page.Entries) != size) {
			t.Fatalf("%s page of %d entries, next %q", status, len(page.Entries), page.Next)
		}
		out = append(out, page.Entries...)
		if page.Next == "" {
			return out
		}
		q.Cursor = page.Next
	}
	t.Fatal("health list never ended")
	return nil
}

func healthEmails(es []hubsync.HealthEntry) string {
	var s []string
	for _, e := range es {
		id := ""
		if e.Email == "" {
			id = e.LearnerID
		}
		s = append(s, e.Email+"/"+id+"/"+string(e.Exclusion))
	}
	return strings.Join(s, " ")
}

// The health lists of a school with the GDPR toolkit on: learners in sync, excluded (no
// consent, an invalid email, no email) and failing (a value that no longer converts), paged;
// fixing the value moves the learner back to in sync, and its record goes.
func TestSyncHealthLists(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cat, _ := hubsync.LearnWorldsCatalog(hubsync.CatalogOptions{Custom: []hubsync.CustomField{{Name: "score", Type: hubsync.TypeNumber}}})
	h.lms.SetCatalog(school, cat)
	if err := h.hs.AddProperty(hubspottest.Property{Name: "lw_score", Type: "number", FieldType: "number"}); err != nil {
		t.Fatal(err)
	}
	h.connect()
	h.settings(hubsync.Settings{GDPRToolkit: true, Mappings: append(append([]hubsync.Mapping(nil), basicMapping...), hubsync.Mapping{LMSField: "cf_score", HubSpotProperty: "lw_score"})})
	for i := range 5 {
		h.lms.Put(school, hubsync.Learner{Email: fmt.Sprintf("ok%d@school.example", i), MarketingConsent: true, Values: map[string]any{"cf_score": float64(i)}})
	}
	h.lms.Put(school, hubsync.Learner{Email: "fail@school.example", MarketingConsent: true, Values: map[string]any{"cf_score": 1.0}})
	h.lms.Put(school, hubsync.Learner{Email: "shy@school.example"})
	h.lms.Put(school, hubsync.Learner{Email: "not-an-email", MarketingConsent: true})
	noEmail := h.lms.Put(school, hubsync.Learner{MarketingConsent: true})
	h.manual("")
	h.lms.Put(school, hubsync.Learner{Email: "fail@school.example", MarketingConsent: true, Values: map[string]any{"cf_score": "lots"}})
	if p := h.manual(""); p.Failed != 1 || p.Skipped != 3 {
		t.Fatalf("second run = %+v", p)
	}

	if got, want := healthEmails(healthList(t, h, hubsync.HealthInSync, 2)),
		"ok0@school.example// ok1@school.example// ok2@school.example// ok3@school.example// ok4@school.example//"; got != want {
		t.Fatalf("in sync = %s, want %s", got, want)
	}
	if got, want := healthEmails(healthList(t, h, hubsync.HealthExcluded, 1)),
		"/"+noEmail.ID+"/no_email not-an-email//invalid_email shy@school.example//no_consent"; got != want {
		t.Fatalf("excluded = %s, want %s", got, want)
	}
	failing := healthList(t, h, hubsync.HealthFailing, 10)
	if len(failing) != 1 || failing[0].Email != "fail@school.example" || !strings.Contains(failing[0].Reason, "cf_score") {
		t.Fatalf("failing = %+v", failing)
	}
	sum, err := h.eng.SyncHealthSummary(h.ctx, school)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failing != 1 || sum.Excluded[hubsync.ExcludedNoConsent] != 1 || sum.Excluded[hubsync.ExcludedNoEmail] != 1 ||
		sum.Excluded[hubsync.ExcludedInvalidEmail] != 1 || len(sum.FirstFailing) != 1 || sum.Capped {
		t.Fatalf("summary = %+v", sum)
	}
	if b, _ := json.Marshal(sum); strings.Contains(string(b), "fail@") != true {
		// the summary is data for a screen: emails in full, as the sync log; screens mask them
		t.Fatalf("summary JSON = %s", b)
	}

	// Fixed: the learner is in sync again and its record is gone.
	h.change(hubsync.Learner{Email: "fail@school.example", MarketingConsent: true, Values: map[string]any{"cf_score": 7.0}})
	h.run()
	if n := len(healthList(t, h, hubsync.HealthFailing, 10)); n != 0 {
		t.Fatalf("%d failing after the fix", n)
	}
	if n := len(healthList(t, h, hubsync.HealthInSync, 4)); n != 6 {
		t.Fatalf("%d in sync after the fix, want 6", n)
	}
	n := 0
	for e, err := range h.eng.SyncHealthAll(h.ctx, school, hubsync.HealthExcluded, "") {
		if err != nil {
			t.Fatal(err)
		}
		n++
		_ = e
	}
	if n != 3 {
		t.Fatalf("SyncHealthAll walked %d excluded, want 3", n)
	}
	if _, err := h.eng.SyncHealth(h.ctx, school, hubsync.HealthQuery{Status: hubsync.HealthFailing, Cursor: "garbage!"}); err == nil {
		t.Fatal("a bad cursor was taken")
	}
}
