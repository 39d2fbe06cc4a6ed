package hubsync_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// logOf returns the sync log entries of one email.
func logOf(h *harness, email string) []hubsync.SyncLogEntry {
	h.t.Helper()
	got, err := h.store.ListSyncLog(h.ctx, school, hubsync.LogFilter{Email: email})
	if err != nil {
		h.t.Fatal(err)
	}
	return got
}

// A learner created from HubSpot with one field refused is one created entry naming the field,
// never created and failed both.
func TestInboundCreateWithARefusedFieldIsOneEntry(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cat, _ := hubsync.LearnWorldsCatalog(hubsync.CatalogOptions{Custom: []hubsync.CustomField{
		{Name: "code", Type: hubsync.TypeString, Validation: hubsync.FieldRules{Pattern: `[A-Z]{3}`}},
	}})
	h.lms.SetCatalog(school, cat)
	if err := h.hs.AddProperty(hubspottest.Property{Name: "lw_code", Type: "string", FieldType: "text"}); err != nil {
		t.Fatal(err)
	}
	h.connect()
	h.withWebhooks()
	rows := append(append([]hubsync.Mapping(nil), inboundMapping...), hubsync.Mapping{LMSField: "cf_code", HubSpotProperty: "lw_code"})
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: rows, Inbound: hubsync.InboundSettings{CreateLearners: true, ValidateData: true}})
	h.admin("new@school.example", map[string]string{"lw_code": "abc1", "country": "IT"})
	h.flush()
	h.run()
	l, ok := h.lms.Get(school, "new@school.example")
	if !ok || l.Values["country"] != "IT" || l.Values["cf_code"] != nil {
		t.Fatalf("learner %v %+v", ok, l)
	}
	got := logOf(h, "new@school.example")
	if len(got) != 1 || got[0].Outcome != hubsync.OutcomeCreated || !strings.HasPrefix(got[0].Reason, "partial: ") || !strings.Contains(got[0].Reason, "cf_code") {
		t.Fatalf("log = %+v, want one created entry whose reason names cf_code", got)
	}
}

// A manual sync's counts add up to the records it handled, also on a page with a value that
// does not convert.
func TestManualCountsSumToDone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cat, _ := hubsync.LearnWorldsCatalog(hubsync.CatalogOptions{Custom: []hubsync.CustomField{{Name: "score", Type: hubsync.TypeNumber}}})
	h.lms.SetCatalog(school, cat)
	if err := h.hs.AddProperty(hubspottest.Property{Name: "lw_score", Type: "number", FieldType: "number"}); err != nil {
		t.Fatal(err)
	}
	h.connect()
	h.settings(hubsync.Settings{Mappings: append(append([]hubsync.Mapping(nil), basicMapping...), hubsync.Mapping{LMSField: "cf_score", HubSpotProperty: "lw_score"})})
	for i := range 10 {
		var score any = float64(i)
		if i == 3 {
			score = "not a number"
		}
		h.lms.Put(school, hubsync.Learner{Email: fmt.Sprintf("m%04d@school.example", i), Values: map[string]any{"country": "GR", "cf_score": score}})
	}
	p := h.manual("")
	if sum := p.Created + p.Updated + p.Unchanged + p.Skipped + p.Failed; p.State != hubsync.ManualDone || sum != p.Done || p.Done != 10 || p.Partial != 1 {
		t.Fatalf("progress = %+v: counts sum to %d", p, sum)
	}
	got := logOf(h, "m0003@school.example")
	if len(got) != 1 || got[0].Outcome != hubsync.OutcomeCreated || !strings.Contains(got[0].Reason, "cf_score") {
		t.Fatalf("log = %+v, want one created entry naming cf_score", got)
	}
}

// A learner whose email HubSpot would refuse is skipped with a reason in every phase of a manual
// sync, and the counts still add up.
func TestManualSkipsABadEmailWithAReason(t *testing.T) {
	t.Parallel()
	for _, mode := range []hubsync.SyncMode{hubsync.ModeToHubSpot, hubsync.ModeToLMS, hubsync.ModeTwoWay} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.connect()
			h.settings(hubsync.Settings{Mode: mode, Mappings: inboundMapping})
			seedLearners(h, 3, "GR")
			h.lms.Put(school, hubsync.Learner{Email: "jane@nodot", Values: map[string]any{"country": "GR"}})
			p := h.manual("")
			if sum := p.Created + p.Updated + p.Unchanged + p.Skipped + p.Failed; p.State != hubsync.ManualDone || sum != p.Done {
				t.Fatalf("progress = %+v: counts sum to %d", p, sum)
			}
			got := logOf(h, "jane@nodot")
			if len(got) == 0 {
				t.Fatal("the bad email was not logged")
			}
			for _, en := range got {
				if en.Outcome != hubsync.OutcomeSkipped || !strings.Contains(en.Reason, "j***@nodot") || strings.Contains(en.Reason, "jane@nodot") {
					t.Errorf("entry %+v: want skipped, the reason naming the masked email", en)
				}
			}
		})
	}
}

// A contact whose email is learner A's and one of whose additional emails is learner B's writes
// A, says so in A's entry, and leaves B alone; with no learner under its email and two learners
// under its additional emails, it writes neither and says why.
func TestInboundAdditionalEmailCollision(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping, Inbound: hubsync.InboundSettings{CreateLearners: true}})
	for _, e := range []string{"anna@school.example", "bob@school.example", "cleo@school.example", "fay@school.example", "gus@school.example"} {
		h.lms.Put(school, hubsync.Learner{Email: e, Values: map[string]any{"country": "GR"}})
	}
	h.admin("anna@school.example", map[string]string{"country": "FR", "hs_additional_emails": "bob@school.example"})
	h.admin("dora@school.example", map[string]string{"country": "IT", "hs_additional_emails": "cleo@school.example"})
	h.admin("eve@school.example", map[string]string{"country": "SE", "hs_additional_emails": "fay@school.example;gus@school.example"})
	h.flush()
	h.run()
	if l, _ := h.lms.Get(school, "anna@school.example"); l.Values["country"] != "FR" {
		t.Errorf("primary-email match not written: %+v", l)
	}
	if l, _ := h.lms.Get(school, "bob@school.example"); l.Values["country"] != "GR" {
		t.Errorf("the other learner was written: %+v", l)
	}
	if _, ok := h.lms.Get(school, "eve@school.example"); ok {
		t.Error("an ambiguous contact became a new learner")
	}
	for _, e := range []string{"fay@school.example", "gus@school.example"} {
		if l, _ := h.lms.Get(school, e); l.Values["country"] != "GR" {
			t.Errorf("an ambiguous contact wrote %+v", l)
		}
	}
	wants := map[string]struct {
		o     hubsync.LogOutcome
		words []string
	}{
		"anna@school.example": {hubsync.OutcomeUpdated, []string{"collision", "a***@school.example", "b***@school.example"}},
		"dora@school.example": {hubsync.OutcomeUpdated, []string{"matched by additional email c***@school.example"}},
		"eve@school.example":  {hubsync.OutcomeSkipped, []string{"e***@school.example", "f***@school.example", "g***@school.example"}},
	}
	for email, w := range wants {
		got := logOf(h, email)
		if len(got) != 1 || got[0].Outcome != w.o {
			t.Errorf("%s: log = %+v, want one %s entry", email, got, w.o)
			continue
		}
		for _, word := range w.words {
			if !strings.Contains(got[0].Reason, word) {
				t.Errorf("%s: reason %q lacks %q", email, got[0].Reason, word)
			}
		}
		if strings.Contains(got[0].Reason, "@school.example") && strings.Contains(got[0].Reason, email) {
			t.Errorf("%s: reason %q holds a full email", email, got[0].Reason)
		}
	}

	// A manual sync skips the learner whose address is only an additional email of another
	// learner's contact, naming both.
	p := h.manual("")
	if sum := p.Created + p.Updated + p.Unchanged + p.Skipped + p.Failed; p.State != hubsync.ManualDone || sum != p.Done {
		t.Fatalf("progress = %+v: counts sum to %d", p, sum)
	}
	for _, e := range []string{"bob@school.example", "fay@school.example", "gus@school.example"} {
		if l, _ := h.lms.Get(school, e); l.Values["country"] != "GR" {
			t.Errorf("the manual sync wrote %+v", l)
		}
	}
	got, _ := h.store.ListSyncLog(h.ctx, school, hubsync.LogFilter{Email: "bob@school.example", Outcome: hubsync.OutcomeSkipped})
	if len(got) == 0 || !strings.Contains(got[0].Reason, "collision") || !strings.Contains(got[0].Reason, "a***@school.example") {
		t.Errorf("manual log of the other learner = %+v", got)
	}
}
