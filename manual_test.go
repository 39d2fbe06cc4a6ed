package hubsync_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

func seedLearners(h *harness, n int, country string) {
	for i := range n {
		h.lms.Put(school, hubsync.Learner{Email: fmt.Sprintf("m%04d@school.example", i), Values: map[string]any{"country": country, "first_name": "L" + itoa(i)}})
	}
}

func (h *harness) manual(dir hubsync.Direction) hubsync.ManualProgress {
	h.t.Helper()
	if _, err := h.eng.StartManualSync(h.ctx, school, dir); err != nil {
		h.t.Fatal(err)
	}
	h.run()
	p, err := h.eng.ManualSync(h.ctx, school)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

func upserts(h *harness) int {
	n := 0
	for route, c := range h.hs.Stats().ByRoute {
		if strings.Contains(route, "batch/upsert") {
			n += c
		}
	}
	return n
}

func TestManualSyncToHubSpot(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	seedLearners(h, 450, "GR")
	h.hs.ResetStats()
	p := h.manual("")
	if p.State != hubsync.ManualDone || p.Done != 450 || p.Created != 450 || p.Failed != 0 || p.Direction != hubsync.DirectionToHubSpot {
		t.Fatalf("progress = %+v", p)
	}
	if p.Rate <= 0 || p.FinishedAt.IsZero() {
		t.Errorf("rate %v, finished %v", p.Rate, p.FinishedAt)
	}
	if n := len(h.hs.Contacts()); n != 450 {
		t.Fatalf("%d contacts", n)
	}
	if c := h.contact("m0449@school.example"); c["firstname"] != "L449" || c["country"] != "GR" {
		t.Fatalf("contact = %v", c)
	}
	if n := upserts(h); n != 5 { // pages of 200, 200, 50: 2 + 2 + 1 batches of at most 100
		t.Errorf("%d batch upserts for 450 learners, want 5", n)
	}
	// Run again: everything is already there; nothing is sent.
	h.hs.ResetStats()
	p = h.manual("")
	if p.Run != 2 || p.Unchanged != 450 || p.Created+p.Updated != 0 {
		t.Fatalf("second run = %+v", p)
	}
	if n := upserts(h); n != 0 {
		t.Errorf("a second run sent %d upserts", n)
	}
	// A new mapping is backfilled by the next run.
	h.settings(hubsync.Settings{Mappings: append(append([]hubsync.Mapping(nil), basicMapping...), hubsync.Mapping{LMSField: "username", HubSpotProperty: "company"})})
	h.lms.Put(school, hubsync.Learner{Email: "m0001@school.example", Username: "one", Values: map[string]any{"country": "GR", "first_name": "L1"}})
	p = h.manual("")
	if p.Updated != 1 || h.contact("m0001@school.example")["company"] != "one" {
		t.Fatalf("backfill of a new mapping: %+v, contact %v", p, h.contact("m0001@school.example"))
	}
}

func TestManualSyncOneAtATimeAndCancel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	seedLearners(h, 300, "GR")
	if _, err := h.eng.StartManualSync(h.ctx, school, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.StartManualSync(h.ctx, school, ""); !errors.Is(err, hubsync.ErrSyncRunning) {
		t.Fatalf("second start: %v", err)
	}
	if err := h.eng.CancelManualSync(h.ctx, school); err != nil {
		t.Fatal(err)
	}
	h.run()
	p, _ := h.eng.ManualSync(h.ctx, school)
	if p.State != hubsync.ManualCancelled || len(h.hs.Contacts()) != 0 {
		t.Fatalf("after cancel: %+v, %d contacts", p, len(h.hs.Contacts()))
	}
	if _, err := h.eng.StartManualSync(h.ctx, school, ""); err != nil {
		t.Fatalf("start after cancel: %v", err)
	}
}

func TestManualSyncResumesAfterACrash(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	seedLearners(h, 450, "GR")
	h.record(hubsync.Activity{Kind: hubsync.EventSignedUp, Email: "m0000@school.example"})
	h.run()
	h.hs.ResetStats()

	// An engine that dies right after its first page.
	ctx, crash := context.WithCancel(h.ctx)
	var once sync.Once
	cfg := h.config(h.store, h.lms)
	cfg.OnProgress = func(hubsync.SchoolID, hubsync.ManualProgress) { once.Do(crash) }
	first := h.engine(cfg)
	if _, err := first.StartManualSync(ctx, school, ""); err != nil {
		t.Fatal(err)
	}
	_, _ = first.RunOnce(ctx)
	mid, _ := h.eng.ManualSync(h.ctx, school)
	if mid.State != hubsync.ManualRunning || mid.Done != 200 {
		t.Fatalf("after the crash: %+v", mid)
	}
	// A new engine on the same store finishes the job without redoing the first page.
	h.run()
	p, _ := h.eng.ManualSync(h.ctx, school)
	if p.State != hubsync.ManualDone || p.Done != 450 || len(h.hs.Contacts()) != 450 {
		t.Fatalf("after resuming: %+v, %d contacts", p, len(h.hs.Contacts()))
	}
	if n := upserts(h); n != 5 {
		t.Errorf("%d batch upserts, want 5: a page was redone", n)
	}
	if n := len(h.hs.TimelineEvents()); n != 1 {
		t.Errorf("%d timeline events, want the one sign-up", n)
	}
}

func TestManualSyncIsolatesABadRecord(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cat, _ := hubsync.LearnWorldsCatalog(hubsync.CatalogOptions{Custom: []hubsync.CustomField{{Name: "code", Type: hubsync.TypeString}}})
	h.lms.SetCatalog(school, cat)
	if err := h.hs.AddProperty(hubspottest.Property{Name: "lw_code", Type: "string", FieldType: "text"}); err != nil {
		t.Fatal(err)
	}
	h.connect()
	h.settings(hubsync.Settings{Mappings: append(append([]hubsync.Mapping(nil), basicMapping...), hubsync.Mapping{LMSField: "cf_code", HubSpotProperty: "lw_code"})})
	// HubSpot turns the property into a number: one learner's code is refused, the rest pass.
	if err := h.hs.DeleteProperty("lw_code"); err != nil {
		t.Fatal(err)
	}
	if err := h.hs.AddProperty(hubspottest.Property{Name: "lw_code", Type: "number", FieldType: "number"}); err != nil {
		t.Fatal(err)
	}
	for i := range 150 {
		code := itoa(i)
		if i == 77 {
			code = "ABC"
		}
		h.lms.Put(school, hubsync.Learner{Email: fmt.Sprintf("m%04d@school.example", i), Values: map[string]any{"country": "GR", "cf_code": code}})
	}
	h.lms.Put(school, hubsync.Learner{Email: "not an email"})
	p := h.manual("")
	if p.State != hubsync.ManualDone || p.Done != 151 || p.Created != 149 || p.Failed != 1 || p.Skipped != 1 {
		t.Fatalf("progress = %+v", p)
	}
	if len(p.Failures) != 1 || !strings.Contains(p.Failures[0], "m***@school.example") || strings.Contains(p.Failures[0], "m0077") {
		t.Errorf("failures = %q (want the reason, with the email masked)", p.Failures)
	}
	if h.contact("m0077@school.example") != nil || h.contact("m0078@school.example")["lw_code"] != "78" {
		t.Error("the bad record was written, or held back its page")
	}
}

func TestManualSyncToLMS(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping, Inbound: hubsync.InboundSettings{CreateLearners: true}})
	seedLearners(h, 250, "GR")
	// HubSpot holds the truth: 100 contacts say FR, the rest GR; one contact has no learner.
	for i := range 250 {
		country := "GR"
		if i%5 == 0 {
			country = "FR"
		}
		if _, err := h.hs.SeedContact(map[string]string{"email": fmt.Sprintf("m%04d@school.example", i), "country": country}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.hs.SeedContact(map[string]string{"email": "hubspot-only@school.example", "country": "SE"}); err != nil {
		t.Fatal(err)
	}
	p := h.manual("")
	if p.State != hubsync.ManualDone {
		t.Fatalf("progress = %+v", p)
	}
	if got := h.lms.Stats().Updates; got != 50 {
		t.Errorf("%d LMS writes, want exactly the 50 learners whose value differs", got)
	}
	if l, _ := h.lms.Get(school, "m0005@school.example"); l.Values["country"] != "FR" {
		t.Errorf("learner = %+v", l)
	}
	if l, ok := h.lms.Get(school, "hubspot-only@school.example"); !ok || l.Values["country"] != "SE" {
		t.Errorf("contact without learner: created %v, %+v", ok, l)
	}
	if p.Created != 1 || p.Updated != 50 {
		t.Errorf("progress = %+v", p)
	}
}

func TestManualSyncTwoWay(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	rows := []hubsync.Mapping{
		{LMSField: "email", HubSpotProperty: "email"},
		{LMSField: "first_name", HubSpotProperty: "firstname", Direction: hubsync.DirectionToHubSpot},
		{LMSField: "company", HubSpotProperty: "company", Direction: hubsync.DirectionToLMS},
	}
	h.settings(hubsync.Settings{Mode: hubsync.ModeTwoWay, Mappings: rows})
	h.lms.Put(school, hubsync.Learner{Email: "t@school.example", Values: map[string]any{"first_name": "Tess", "company": "Old"}})
	if _, err := h.hs.SeedContact(map[string]string{"email": "t@school.example", "firstname": "T", "company": "New"}); err != nil {
		t.Fatal(err)
	}
	p := h.manual("")
	if p.State != hubsync.ManualDone || len(p.Phases) != 2 {
		t.Fatalf("progress = %+v", p)
	}
	if c := h.contact("t@school.example"); c["firstname"] != "Tess" {
		t.Errorf("HubSpot firstname = %q", c["firstname"])
	}
	if l, _ := h.lms.Get(school, "t@school.example"); l.Values["company"] != "New" {
		t.Errorf("LMS company = %v", l.Values["company"])
	}
}

func TestLiveChangesGoAheadOfManualSync(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	seedLearners(h, 400, "GR")
	if _, err := h.eng.StartManualSync(h.ctx, school, ""); err != nil {
		t.Fatal(err)
	}
	h.change(hubsync.Learner{Email: "live@school.example", Values: map[string]any{"country": "NL"}})
	h.run()
	logs, err := h.store.ListSyncLog(h.ctx, school, hubsync.LogFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// Newest first: the live change must be the oldest entry.
	if last := logs[len(logs)-1]; last.Email != "live@school.example" {
		t.Fatalf("first record synced was %s, want the live change", last.Email)
	}
}

func TestStatusShowsConnectionQueueAndSync(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	st, err := h.eng.Status(h.ctx, school)
	if err != nil || st.Connected || st.Mode != hubsync.ModeToHubSpot {
		t.Fatalf("before connecting: %+v, %v", st, err)
	}
	h.connect()
	h.settings(hubsync.Settings{Mappings: append(append([]hubsync.Mapping(nil), basicMapping...), hubsync.Mapping{LMSField: "country", HubSpotProperty: "gone"})})
	seedLearners(h, 10, "GR")
	if _, err := h.eng.StartManualSync(h.ctx, school, ""); err != nil {
		t.Fatal(err)
	}
	st, err = h.eng.Status(h.ctx, school)
	if err != nil || !st.Connected || st.PortalID != h.hs.PortalID() || !st.SyncInProgress || st.Queue.Ready != 1 || st.MappingWarning == "" {
		t.Fatalf("during the sync: %+v, %v", st, err)
	}
	h.run()
	st, _ = h.eng.Status(h.ctx, school)
	if st.SyncInProgress || st.ManualSync == nil || st.ManualSync.State != hubsync.ManualDone {
		t.Fatalf("after the sync: %+v", st)
	}
}

// One school's backfill must not delay another school's live change: the queue serves schools
// fairly and the engine works on each school's own portal budget.
func TestABackfillDoesNotDelayAnotherSchool(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const other = hubsync.SchoolID("school-2")
	h.connect()
	h.connectAs(other)
	h.settings(hubsync.Settings{Mappings: basicMapping})
	if _, err := h.eng.SaveSettings(h.ctx, other, hubsync.Settings{Mappings: basicMapping}); err != nil {
		t.Fatal(err)
	}
	seedLearners(h, 2000, "GR")
	if _, err := h.eng.StartManualSync(h.ctx, school, ""); err != nil {
		t.Fatal(err)
	}
	// Let the backfill get going, then the other school's learner changes.
	var doneWhenLive int
	var mu sync.Mutex
	if err := h.eng.LearnerChanged(h.ctx, other, hubsync.Learner{Email: "elsewhere@other.example", Values: map[string]any{"country": "NO"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.eng.Run(ctx) }()
	for h.contact("elsewhere@other.example") == nil {
		runtime.Gosched()
	}
	p, _ := h.eng.ManualSync(h.ctx, school)
	mu.Lock()
	doneWhenLive = p.Done
	mu.Unlock()
	cancel()
	<-done
	if doneWhenLive > 400 {
		t.Fatalf("the other school's live change waited for %d backfilled learners", doneWhenLive)
	}
}
