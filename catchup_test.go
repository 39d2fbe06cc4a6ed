package hubsync_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// outageStart is when the catch-up tests' portal is seeded (the harness clock starts at year 1).
var outageStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// catchUpHarness is a harness whose engine has automatic catch-ups on (the shared harness turns
// them off), over a portal of n contacts each matched by a learner, all synced (country GR, no
// company), with webhooks mounted.
func catchUpHarness(t *testing.T, n int) *harness {
	t.Helper()
	h := newHarness(t)
	h.freeze()
	h.clk.Set(outageStart)
	h.thaw()
	h.eng = h.engine(h.catchUpConfig())
	h.connect()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	for i := range n {
		email := outageEmail(i)
		if _, err := h.hs.SeedContact(map[string]string{"email": email, "country": "GR", "lastmodifieddate": outageStart.Add(-time.Hour).Format(time.RFC3339)}); err != nil {
			t.Fatal(err)
		}
		h.lms.Put(school, hubsync.Learner{Email: email, Username: fmt.Sprintf("l%d", i), Values: map[string]any{"country": "GR"}})
	}
	h.withWebhooks()
	return h
}

func (h *harness) catchUpConfig() hubsync.Config {
	cfg := h.config(h.store, h.lms)
	cfg.CatchUp = hubsync.CatchUp{Every: -1} // Silence and Overlap at their defaults
	return cfg
}

func outageEmail(i int) string { return fmt.Sprintf("learner%06d@school.example", i) }

// goDown points HubSpot's webhooks at a dead address: every delivery from now on fails.
func (h *harness) goDown() {
	h.t.Helper()
	dead := httptest.NewServer(http.NotFoundHandler())
	u := dead.URL + "/hubspot/webhooks"
	dead.Close()
	h.hs.SetWebhookTarget(u)
}

// failForGood makes HubSpot give up on every pending delivery (10 failed attempts each).
func (h *harness) failForGood() {
	h.t.Helper()
	for range 10_000 {
		if h.hs.WebhookStats().Pending == 0 {
			return
		}
		_ = h.hs.FlushWebhooks(h.ctx) // fails: the target is gone
	}
	h.t.Fatalf("webhooks still pending: %+v", h.hs.WebhookStats())
}

// editDuringOutage spreads edits of contacts 0..edits-1 (company "Edited <i>") over d of fake
// time, while the service is down.
func (h *harness) editDuringOutage(edits int, d time.Duration, stride int) {
	h.t.Helper()
	h.freeze()
	defer h.thaw()
	step := d / time.Duration(edits+1)
	for i := range edits {
		h.clk.Advance(step)
		if _, err := h.hs.AdminUpsertContact(outageEmail(i*stride), map[string]string{"company": fmt.Sprintf("Edited %d", i)}, hubspottest.SourceCRMUI); err != nil {
			h.t.Fatal(err)
		}
	}
	h.clk.Advance(d - step*time.Duration(edits))
}

func (h *harness) requireEdited(edits, stride int) {
	h.t.Helper()
	for i := range edits {
		l, ok := h.lms.Get(school, outageEmail(i*stride))
		if !ok || l.Values["company"] != fmt.Sprintf("Edited %d", i) {
			h.t.Fatalf("learner %d after the catch-up: %+v (found %v)", i*stride, l.Values, ok)
		}
	}
}

// TestCatchUpAfterOutage is the acceptance test: the service is down for 72 hours of fake
// time while 1,000 contacts of the portal are edited in HubSpot, every webhook of the outage
// failing for good; after the restart every edit lands in the LMS, and the HubSpot requests
// spent (reported by the catch-up, and counted by the fake) are at least 10 times fewer than a
// manual sync of the portal. A manual sync reads every learner's contact, 100 per batch read,
// so it costs at least portal/100 requests (1,000 for 100,000 contacts) before any write.
//
// The portal holds 100,000 contacts, seeded straight into the fake (about 4 s in all); with
// -short, 50,000.
func TestCatchUpAfterOutage(t *testing.T) {
	t.Parallel()
	portal := 100_000
	if testing.Short() {
		portal = 50_000
	}
	const edits = 1_000
	stride := portal / edits
	h := catchUpHarness(t, portal)
	if _, err := h.eng.CheckCatchUps(h.ctx); err != nil { // the process starts: the watermark starts now
		t.Fatal(err)
	}
	// Live before the outage: a webhook lands and moves the watermark.
	h.admin(outageEmail(1), map[string]string{"country": "FR"})
	h.flush()
	h.run()
	h.goDown()
	h.editDuringOutage(edits, 72*time.Hour, stride)
	h.failForGood()

	// Restart: a new process on the same store.
	h.hs.ResetStats()
	h.eng = h.engine(h.catchUpConfig())
	queued, err := h.eng.CheckCatchUps(h.ctx)
	if err != nil || queued != 1 {
		t.Fatalf("CheckCatchUps at restart = %d, %v; want 1 catch-up queued", queued, err)
	}
	h.run()
	h.requireEdited(edits, stride)
	rep, err := h.eng.LastCatchUp(h.ctx, school, hubsync.CatchUpHubSpot)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Source != "search" || rep.Reason != "restart" || rep.Found < edits || rep.Queued < edits || rep.Requests == 0 {
		t.Errorf("report = %+v", rep)
	}
	if got := rep.To.Sub(rep.From); got < 72*time.Hour {
		t.Errorf("interval %v, want at least the 72 h outage", got)
	}
	st := h.hs.Stats()
	manual := (portal + hubspot.BatchLimit - 1) / hubspot.BatchLimit
	t.Logf("portal %d contacts, %d edited during a 72 h outage: catch-up found %d, queued %d, spent %d HubSpot requests itself; %d HubSpot requests in all after the restart (%v); a manual sync needs at least %d (%.0fx more)",
		portal, edits, rep.Found, rep.Queued, rep.Requests, st.Requests, st.ByRoute, manual, float64(manual)/float64(st.Requests))
	if st.Requests*10 > manual {
		t.Errorf("%d HubSpot requests after the restart; a manual sync needs %d: want at least 10x fewer", st.Requests, manual)
	}
	if st.Unknown != 0 {
		t.Errorf("%d requests to unknown routes", st.Unknown)
	}
	status, err := h.eng.Status(h.ctx, school)
	if err != nil || len(status.CatchUps) != 1 || status.CatchUps[0].Found != rep.Found {
		t.Errorf("Status catch-ups = %+v, %v", status.CatchUps, err)
	}
}

// TestCatchUpOnceWithTwoProcesses: two processes restart after the outage and both see the
// silence; one catch-up runs, not two.
func TestCatchUpOnceWithTwoProcesses(t *testing.T) {
	t.Parallel()
	const portal, edits = 2_000, 150
	h := catchUpHarness(t, portal)
	if _, err := h.eng.CheckCatchUps(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.goDown()
	h.editDuringOutage(edits, 72*time.Hour, 1)
	h.failForGood()
	h.hs.ResetStats()
	a, b := h.engine(h.catchUpConfig()), h.engine(h.catchUpConfig())
	for _, e := range []*hubsync.Engine{a, b} {
		if n, err := e.CheckCatchUps(h.ctx); err != nil || n != 1 {
			t.Fatalf("CheckCatchUps = %d, %v", n, err)
		}
	}
	var wg sync.WaitGroup
	for _, e := range []*hubsync.Engine{a, b} {
		wg.Go(func() {
			if _, err := e.RunOnce(h.ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	h.eng = a
	h.run() // whatever the race left queued
	h.requireEdited(edits, 1)
	if got := h.lms.Stats().Updates; got != edits {
		t.Errorf("%d LMS updates, want %d (each edit once)", got, edits)
	}
	if got := h.hs.Stats().ByRoute[searchRoute]; got != 1 {
		t.Errorf("%d search requests, want 1: one catch-up of %d changes (one page)", got, edits)
	}
	// Both processes check again: the watermark is fresh, nothing is queued.
	for _, e := range []*hubsync.Engine{a, b} {
		if n, err := e.CheckCatchUps(h.ctx); err != nil || n != 0 {
			t.Errorf("CheckCatchUps after the catch-up = %d, %v; want 0", n, err)
		}
	}
}

const searchRoute = "POST /crm/objects/2026-03/contacts/search"

// TestCatchUpAndLateWebhookWriteOnce: a change delivered both by a late webhook (HubSpot's retry
// after the restart) and by the catch-up is written once, whichever comes first.
func TestCatchUpAndLateWebhookWriteOnce(t *testing.T) {
	t.Parallel()
	const portal, edits = 500, 40
	h := catchUpHarness(t, portal)
	if _, err := h.eng.CheckCatchUps(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.goDown()
	h.editDuringOutage(edits, 3*time.Hour, 1)
	_ = h.hs.FlushWebhooks(h.ctx) // one failed attempt: HubSpot keeps retrying
	h.eng = h.engine(h.catchUpConfig())
	if _, err := h.eng.CheckCatchUps(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.run() // the catch-up and its inbound jobs
	h.requireEdited(edits, 1)
	h.withWebhooks() // the service is reachable again: HubSpot's retries arrive late
	h.flush()
	h.run()
	if got := h.lms.Stats().Updates; got != edits {
		t.Errorf("%d LMS updates, want %d: each change written once", got, edits)
	}
	if st, _ := h.eng.Status(h.ctx, school); st.Queue.Ready+st.Queue.Scheduled+st.Queue.Dead != 0 {
		t.Errorf("queue after the late webhooks: %+v", st.Queue)
	}
}

// TestWebhookGapQueuesCatchUp: the service stays up, but deliveries are lost for hours (a network
// outage in front of it); the first webhook after it reveals the gap, and a catch-up fills it.
func TestWebhookGapQueuesCatchUp(t *testing.T) {
	t.Parallel()
	const portal, edits = 300, 20
	h := catchUpHarness(t, portal)
	h.admin(outageEmail(portal-1), map[string]string{"country": "FR"}) // the watermark
	h.flush()
	h.run()
	h.goDown()
	h.editDuringOutage(edits, 5*time.Hour, 1)
	h.failForGood()
	h.withWebhooks()
	h.admin(outageEmail(portal-2), map[string]string{"country": "DE"}) // arrives: a 5 h gap
	h.flush()
	h.run()
	h.requireEdited(edits, 1)
	rep, err := h.eng.LastCatchUp(h.ctx, school, hubsync.CatchUpHubSpot)
	if err != nil || rep.Reason != "gap" || rep.Found < edits {
		t.Fatalf("report = %+v, %v", rep, err)
	}
}

// TestCatchUpSinceByHand: CatchUpSince runs one whatever the watermark says.
func TestCatchUpSinceByHand(t *testing.T) {
	t.Parallel()
	h := catchUpHarness(t, 50)
	h.goDown()
	h.freeze()
	h.clk.Advance(2 * time.Hour)
	if _, err := h.hs.AdminUpsertContact(outageEmail(3), map[string]string{"company": "Edited 0"}, hubspottest.SourceImport); err != nil {
		t.Fatal(err)
	}
	h.thaw()
	// No webhook reached the engine (none was flushed), the watermark is fresh: only by hand.
	if err := h.eng.CatchUpSince(h.ctx, school, hubsync.CatchUpHubSpot, h.clk.Now().Add(-150*time.Minute)); err != nil {
		t.Fatal(err)
	}
	h.run()
	if l, _ := h.lms.Get(school, outageEmail(3)); l.Values["company"] != "Edited 0" {
		t.Fatalf("learner = %+v", l.Values)
	}
	rep, err := h.eng.LastCatchUp(h.ctx, school, hubsync.CatchUpHubSpot)
	if err != nil || rep.Reason != "manual" || rep.Found != 1 {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	if err := h.eng.CatchUpSince(h.ctx, school, "elsewhere", time.Time{}); err == nil {
		t.Error("CatchUpSince accepted an unknown side")
	}
}

// TestCatchUpFromJournal: with CatchUp.Journal on, the first catch-up subscribes the portal and
// searches; after a 5 h outage the next reads the journal from the stored offset (no search),
// and each edit lands once.
func TestCatchUpFromJournal(t *testing.T) {
	t.Parallel()
	const portal, edits = 300, 60
	h := catchUpHarness(t, portal)
	cfg := h.catchUpConfig()
	cfg.CatchUp.Journal = true
	h.eng = h.engine(cfg)
	if err := h.eng.CatchUpSince(h.ctx, school, hubsync.CatchUpHubSpot, h.clk.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	h.run()
	if rep, err := h.eng.LastCatchUp(h.ctx, school, hubsync.CatchUpHubSpot); err != nil || rep.Source != "search" || rep.Note == "" {
		t.Fatalf("first catch-up = %+v, %v; want a search, saying the journal starts now", rep, err)
	}
	if subs := h.hs.JournalSubscriptions(); len(subs) != 1 {
		t.Fatalf("journal subscriptions %v", subs)
	}
	h.goDown()
	h.editDuringOutage(edits, 5*time.Hour, 1)
	h.failForGood()
	h.hs.ResetStats()
	h.eng = h.engine(cfg)
	if n, err := h.eng.CheckCatchUps(h.ctx); err != nil || n != 1 {
		t.Fatalf("CheckCatchUps = %d, %v", n, err)
	}
	h.run()
	h.requireEdited(edits, 1)
	rep, err := h.eng.LastCatchUp(h.ctx, school, hubsync.CatchUpHubSpot)
	if err != nil || rep.Source != "journal" || rep.Found != edits || rep.Queued != edits {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	st := h.hs.Stats()
	if st.ByRoute[searchRoute] != 0 {
		t.Errorf("%d searches; the journal should have served the catch-up", st.ByRoute[searchRoute])
	}
	if got := h.lms.Stats().Updates; got != edits {
		t.Errorf("%d LMS updates, want %d", got, edits)
	}
	t.Logf("journal catch-up of %d edits: %d requests of its own, %d in all (%v)", edits, rep.Requests, st.Requests, st.ByRoute)
}
