package hubsync_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
)

// Issue 13: live inbound applies only the rows whose HubSpot property the webhook says changed.

func TestInboundEditOfAnOutboundOnlyPropertyWritesAndReadsNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeTwoWay, Mappings: []hubsync.Mapping{
		{LMSField: "email", HubSpotProperty: "email"},
		{LMSField: "country", HubSpotProperty: "country"},
		{LMSField: "first_name", HubSpotProperty: "firstname", Direction: hubsync.DirectionToHubSpot},
	}})
	h.lms.Put(school, hubsync.Learner{Email: "o@school.example", Values: map[string]any{"country": "GR", "first_name": "Olga"}})
	// HubSpot's country differs, unannounced (no webhook): only a country event may bring it over.
	if _, err := h.hs.SeedContact(map[string]string{"email": "o@school.example", "country": "FR", "firstname": "Olga"}); err != nil {
		t.Fatal(err)
	}
	h.hs.ResetStats()
	h.admin("o@school.example", map[string]string{"firstname": "O."}) // outbound only
	h.admin("o@school.example", map[string]string{"phone": "123"})    // unmapped
	h.flush()
	h.run()
	if n := lmsWrites(h); n != 0 {
		t.Errorf("%d LMS writes, want 0", n)
	}
	if n := contactReads(h); n != 0 {
		t.Errorf("%d HubSpot contact reads, want 0 (%v)", n, h.hs.Stats().ByRoute)
	}
	if got := country(h, "o@school.example"); got != "GR" {
		t.Errorf("country = %q, want GR", got)
	}
	// A country edit still applies.
	h.admin("o@school.example", map[string]string{"country": "IT"})
	h.flush()
	h.run()
	if got := country(h, "o@school.example"); got != "IT" {
		t.Errorf("country = %q after a country edit, want IT", got)
	}
}

func TestInboundFiftyUnmappedEditsWriteNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	for i := range 50 {
		email := fmt.Sprintf("u%02d@school.example", i)
		h.lms.Put(school, hubsync.Learner{Email: email, Values: map[string]any{"country": "GR", "company": "Acme"}})
		if _, err := h.hs.SeedContact(map[string]string{"email": email, "country": "FR"}); err != nil {
			t.Fatal(err)
		}
	}
	h.hs.ResetStats()
	for i := range 50 {
		h.admin(fmt.Sprintf("u%02d@school.example", i), map[string]string{"phone": itoa(i)})
	}
	h.flush()
	if n := h.run(); n == 0 {
		t.Fatal("no inbound job ran")
	}
	if n := lmsWrites(h); n != 0 {
		t.Errorf("%d LMS writes for 50 unmapped edits, want 0", n)
	}
	if n := contactReads(h); n != 0 {
		t.Errorf("%d HubSpot contact reads for 50 unmapped edits, want 0", n)
	}
}

func TestInboundCoalescedEditsOfTwoPropertiesBothApply(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	u := h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	h.lms.Put(school, hubsync.Learner{Email: "c@school.example", Values: map[string]any{"country": "GR", "company": "Acme"}})
	id, err := h.hs.SeedContact(map[string]string{"email": "c@school.example", "country": "FR", "company": "Globex"})
	if err != nil {
		t.Fatal(err)
	}
	h.hs.ResetStats()
	// Two deliveries, one per property, both waiting before a worker runs.
	t0 := h.clk.Now()
	post(t, h, u, []string{event(h.hs.PortalID(), 1, id, "country", "FR", t0)})
	post(t, h, u, []string{event(h.hs.PortalID(), 2, id, "company", "Globex", t0.Add(time.Millisecond))})
	h.run()
	l, _ := h.lms.Get(school, "c@school.example")
	if l.Values["country"] != "FR" || l.Values["company"] != "Globex" {
		t.Fatalf("learner = %+v, want both edits applied", l.Values)
	}
	if n := h.lms.Stats().Updates; n != 1 {
		t.Errorf("%d LMS updates, want 1 for one contact", n)
	}
	if n := contactReads(h); n != 1 {
		t.Errorf("%d HubSpot contact reads, want 1", n)
	}
}

// A job queued by an older version (key "inbound|<id>", no property list) applies every row.
func TestInboundJobWithoutAPropertyListAppliesAllRows(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	h.lms.Put(school, hubsync.Learner{Email: "old@school.example", Values: map[string]any{"country": "GR", "company": "Acme"}})
	id, err := h.hs.SeedContact(map[string]string{"email": "old@school.example", "country": "FR", "company": "Globex"})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"contact_id": id, "occurred_at": h.clk.Now()})
	if err := h.store.Enqueue(h.ctx, hubsync.JobSpec{School: school, Kind: hubsync.JobInbound, Key: "inbound|" + id, Payload: payload, Priority: hubsync.PriorityLive}); err != nil {
		t.Fatal(err)
	}
	h.run()
	l, _ := h.lms.Get(school, "old@school.example")
	if l.Values["country"] != "FR" || l.Values["company"] != "Globex" {
		t.Fatalf("learner = %+v, want every row applied", l.Values)
	}
}

// With creation on, a contact without a learner becomes one at an edit of a mapped inbound
// property or of its email (with every row's value), never at an edit of an unmapped one.
func TestInboundCreationFollowsMappedAndEmailEdits(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: []hubsync.Mapping{
		{LMSField: "country", HubSpotProperty: "country"},
		{LMSField: "company", HubSpotProperty: "company"},
	}, Inbound: hubsync.InboundSettings{CreateLearners: true}})
	for _, e := range []string{"a@school.example", "b@school.example", "c@school.example"} {
		if _, err := h.hs.SeedContact(map[string]string{"email": e, "country": "FR", "company": "Acme"}); err != nil {
			t.Fatal(err)
		}
	}
	h.hs.ResetStats()
	h.admin("a@school.example", map[string]string{"phone": "1"}) // unmapped: nothing
	h.flush()
	h.run()
	if n, r := lmsWrites(h), contactReads(h); n != 0 || r != 0 {
		t.Fatalf("an unmapped edit: %d LMS writes, %d contact reads; want none", n, r)
	}
	h.admin("b@school.example", map[string]string{"company": "Globex"})          // mapped
	h.admin("c@school.example", map[string]string{"email": "c2@school.example"}) // its email
	h.flush()
	h.run()
	if l, ok := h.lms.Get(school, "b@school.example"); !ok || l.Values["country"] != "FR" || l.Values["company"] != "Globex" {
		t.Errorf("after a mapped edit: created %v, %+v (want every row's value)", ok, l.Values)
	}
	if l, ok := h.lms.Get(school, "c2@school.example"); !ok || l.Values["country"] != "FR" {
		t.Errorf("after an email edit: created %v, %+v", ok, l.Values)
	}
	if _, ok := h.lms.Get(school, "a@school.example"); ok {
		t.Error("an unmapped edit created a learner")
	}
}

// With creation on and no inbound row, a new contact still becomes a learner.
func TestInboundCreationWithoutInboundRows(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Inbound: hubsync.InboundSettings{CreateLearners: true}})
	h.admin("new@school.example", map[string]string{"firstname": "Nia"})
	h.flush()
	h.run()
	if _, ok := h.lms.Get(school, "new@school.example"); !ok {
		t.Fatal("a new contact did not become a learner")
	}
}
