package hubsync_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// The engine over real HTTP when an answer is late, cut off or trickles (issue 13, item 10): for
// each fault, every change lands with its latest value, nothing is applied twice (one contact per
// learner, one learner per contact, a once-only timeline event once), and the log says what
// happened without an email address or a token.

const (
	upsertPath   = "/crm/objects/2026-03/contacts/batch/upsert"
	batchReadHS  = "/crm/objects/2026-03/contacts/batch/read"
	timelinePath = "/integrators/timeline"
)

// everyAttempt is how many requests one HubSpot client call makes before it gives up and the
// engine's failure policy takes over.
const everyAttempt = 1 + hubspot.DefaultMaxRetries

var faultEmails = []string{"ann@school.example", "bob@school.example", "cy@school.example"}

// changeAll changes each learner twice; the second value ("FR") is the one that must land.
func (r *faultRig) changeAll() {
	r.t.Helper()
	for _, e := range faultEmails {
		r.change(hubsync.Learner{Email: e, Values: map[string]any{"country": "GR"}})
		r.change(hubsync.Learner{Email: e, Values: map[string]any{"country": "FR", "first_name": "N" + e[:1]}})
	}
}

// landed reports whether every learner's contact holds the latest values.
func (r *faultRig) landed() bool {
	for _, e := range faultEmails {
		if c := r.contact(e); c["country"] != "FR" || c["firstname"] != "N"+e[:1] {
			return false
		}
	}
	return true
}

// oneContactEach checks HubSpot holds exactly one contact per learner, and the engine recorded
// what it wrote: the same change again costs no request.
func (r *faultRig) oneContactEach(t *testing.T) {
	t.Helper()
	if n := len(r.hs.Contacts()); n != len(faultEmails) {
		t.Errorf("%d contacts, want %d", n, len(faultEmails))
	}
	before := r.hs.Stats().Requests
	for _, e := range faultEmails {
		r.change(hubsync.Learner{Email: e, Values: map[string]any{"country": "FR", "first_name": "N" + e[:1]}})
	}
	r.run()
	if got := r.hs.Stats().Requests - before; got != 0 {
		t.Errorf("the recorded state is wrong: unchanged learners cost %d HubSpot requests", got)
	}
}

// TestFaultHubSpotTimeout: every attempt of the first batch upsert waits past the client's
// timeout (HubSpot never carries it out). The client's retries run out, the engine puts the jobs
// back as an outage and sends them again; each learner lands once with its latest values.
func TestFaultHubSpotTimeout(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t, rigOptions{realHubSpot: true})
	r.connect()
	r.settings(hubsync.Settings{Mappings: basicMapping})
	r.hs.InjectFault(hubspottest.Fault{PathPrefix: upsertPath, Latency: time.Hour, Times: everyAttempt})
	r.changeAll()
	r.runUntil("landed", r.landed)
	r.oneContactEach(t)
	r.settled(t)
	r.logs.mustHave(t, "level=WARN", "service is unavailable", "batch/upsert", "Client.Timeout exceeded")
	r.logs.clean(t, r.secrets()...)
}

// TestFaultHubSpotSlowBody: HubSpot carries out every attempt of the first batch upsert but
// sends its answer a byte every 50 ms, so the client's timeout ends each one mid-body. The
// engine sends the batch again; the writes, applied several times by HubSpot, hold once: one
// contact per learner, latest values.
func TestFaultHubSpotSlowBody(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t, rigOptions{realHubSpot: true})
	r.connect()
	r.settings(hubsync.Settings{Mappings: basicMapping})
	r.hs.InjectFault(hubspottest.Fault{PathPrefix: upsertPath, SlowBody: 50 * time.Millisecond, Times: everyAttempt})
	r.changeAll()
	r.runUntil("landed", r.landed)
	if n := r.hs.Stats().ByRoute["POST "+upsertPath]; n <= everyAttempt {
		t.Errorf("%d upserts reached HubSpot, want the %d slow ones and the engine's retry", n, everyAttempt)
	}
	r.oneContactEach(t)
	r.settled(t)
	r.logs.mustHave(t, "level=WARN", "service is unavailable", "reading response", "Client.Timeout")
	r.logs.clean(t, r.secrets()...)
}

// TestFaultHubSpotResetMidBody: HubSpot carries out every attempt of the first batch upsert and
// of the first timeline batch, and each answer is cut off after its headers and half its body.
// Contacts land once with their latest values; the once-only sign-up event and a repeatable
// enrolment are on the timeline once each, also after a second report of the sign-up.
func TestFaultHubSpotResetMidBody(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t, rigOptions{})
	r.connect()
	r.settings(hubsync.Settings{Mappings: basicMapping})
	r.hs.InjectFault(hubspottest.Fault{PathPrefix: upsertPath, TruncateBody: true, Times: everyAttempt})
	r.hs.InjectFault(hubspottest.Fault{PathPrefix: timelinePath, TruncateBody: true, Times: everyAttempt})
	r.changeAll()
	at := r.clk.Now()
	for _, e := range faultEmails {
		r.record(hubsync.Activity{Kind: hubsync.EventSignedUp, Email: e, SourceID: "su-1", At: at})
		r.record(hubsync.Activity{Kind: hubsync.EventEnrolled, Email: e, SubjectID: "c1", Subject: "Course 1", SourceID: "en-1", At: at})
	}
	delivered := func() bool {
		su, en := r.events(hubsync.EventSignedUp), r.events(hubsync.EventEnrolled)
		return r.landed() && len(su) == len(faultEmails) && len(en) == len(faultEmails)
	}
	r.runUntil("landed", delivered)
	// The sign-up reported again (another webhook delivery): still once.
	for _, e := range faultEmails {
		r.record(hubsync.Activity{Kind: hubsync.EventSignedUp, Email: e, SourceID: "su-2", At: at.Add(time.Second)})
	}
	r.run()
	for kind, counts := range map[hubsync.EventKind]map[string]int{
		hubsync.EventSignedUp: r.events(hubsync.EventSignedUp), hubsync.EventEnrolled: r.events(hubsync.EventEnrolled),
	} {
		for _, e := range faultEmails {
			if counts[e] != 1 {
				t.Errorf("%s: %d %s events, want 1", e, counts[e], kind)
			}
		}
	}
	if st := r.hs.Stats(); st.Faults != 2*everyAttempt {
		t.Errorf("%d answers cut, want %d", st.Faults, 2*everyAttempt)
	}
	r.oneContactEach(t)
	r.settled(t)
	r.logs.mustHave(t, "level=DEBUG", "reading the answer failed", "unexpected EOF")
	r.logs.mustHave(t, "level=WARN", "service is unavailable", "reading response", "unexpected EOF")
	r.logs.clean(t, r.secrets()...)
}

// TestFaultHubSpotReadResetMidBody: a HubSpot contact change (webhook) is applied to the LMS once,
// although every attempt of the engine's first read of the contact is cut off mid-body.
func TestFaultHubSpotReadResetMidBody(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t, rigOptions{})
	r.connect()
	r.withWebhooks()
	r.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	r.lms.Put(school, hubsync.Learner{Email: "ann@school.example", Values: map[string]any{"country": "GR"}})
	r.hs.InjectFault(hubspottest.Fault{PathPrefix: batchReadHS, TruncateBody: true, Times: everyAttempt})
	r.admin("ann@school.example", map[string]string{"country": "FR"})
	r.flush()
	r.runUntil("applied", func() bool {
		l, _ := r.lms.Get(school, "ann@school.example")
		return l.Values["country"] == "FR"
	})
	r.run()
	if n := r.lms.Stats().Updates; n != 1 {
		t.Errorf("%d LMS updates, want 1", n)
	}
	r.settled(t)
	r.logs.mustHave(t, "level=WARN", "service is unavailable", "batch/read", "unexpected EOF")
	r.logs.clean(t, r.secrets()...)
}

// TestFaultLearnWorldsResetMidBody: HubSpot -> LearnWorlds with creation on. The LMS's answers
// are cut off mid-body: the first read of a learner, the first update (carried out), and the
// first creation (carried out: the learner exists, the engine does not know). Every change lands
// once: the known learner has the new value, the new contact became exactly one learner.
func TestFaultLearnWorldsResetMidBody(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t, rigOptions{lw: true})
	r.connect()
	r.withWebhooks()
	r.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping, Inbound: hubsync.InboundSettings{CreateLearners: true}})
	if _, err := r.lw.AddUser(learnworldstest.User{Email: "ann@school.example", Fields: map[string]any{"country": "GR"}}); err != nil {
		t.Fatal(err)
	}
	r.lw.InjectFault(learnworldstest.Fault{Method: http.MethodGet, Path: "/v2/users/", TruncateBody: true})
	r.lw.InjectFault(learnworldstest.Fault{Method: http.MethodPut, Path: "/v2/users/", TruncateBody: true})
	r.lw.InjectFault(learnworldstest.Fault{Method: http.MethodPost, Path: "/v2/users", TruncateBody: true})
	r.admin("ann@school.example", map[string]string{"country": "FR"})
	r.admin("neo@school.example", map[string]string{"country": "NL"})
	r.flush()
	r.runUntil("applied", func() bool {
		a, _ := r.lw.User("ann@school.example")
		n, ok := r.lw.User("neo@school.example")
		return a.Fields["country"] == "FR" && ok && n.Fields["country"] == "NL" && r.lw.Stats().Faults == 3
	})
	r.run()
	if n := len(r.lw.Users()); n != 2 {
		t.Errorf("%d learners, want 2 (no learner created twice)", n)
	}
	r.settled(t)
	r.logs.mustHave(t, "level=WARN", "service is unavailable", "learnworlds: read", "unexpected EOF")
	r.logs.clean(t, r.secrets()...)
}

// TestFaultLearnWorldsTimeoutAndSlowBody: a manual sync LearnWorlds -> HubSpot reads its pages
// from an LMS whose first listing waits past the client's timeout and whose second trickles its
// body a byte every 50 ms. Both end at the client's timeout; the page is read again and every
// learner lands once.
func TestFaultLearnWorldsTimeoutAndSlowBody(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t, rigOptions{realLW: true})
	r.connect()
	r.settings(hubsync.Settings{Mappings: basicMapping})
	for _, e := range faultEmails {
		if _, err := r.lw.AddUser(learnworldstest.User{Email: e, Fields: map[string]any{"country": "FR"}}); err != nil {
			t.Fatal(err)
		}
	}
	r.lw.InjectFault(learnworldstest.Fault{Method: http.MethodGet, Path: "/v2/users", Latency: time.Hour})
	r.lw.InjectFault(learnworldstest.Fault{Method: http.MethodGet, Path: "/v2/users", SlowBody: 50 * time.Millisecond})
	if _, err := r.eng.StartManualSync(r.ctx, school, hubsync.DirectionToHubSpot); err != nil {
		t.Fatal(err)
	}
	var p hubsync.ManualProgress
	r.runUntil("done", func() bool {
		var err error
		p, err = r.eng.ManualSync(r.ctx, school)
		return err == nil && p.State == hubsync.ManualDone
	})
	if p.Created != len(faultEmails) || p.Failed != 0 {
		t.Errorf("progress = %+v", p)
	}
	for _, e := range faultEmails {
		if c := r.contact(e); c["country"] != "FR" {
			t.Errorf("%s: contact %v", e, c)
		}
	}
	if n := len(r.hs.Contacts()); n != len(faultEmails) {
		t.Errorf("%d contacts, want %d", n, len(faultEmails))
	}
	if n := r.lw.Stats().Faults; n != 2 {
		t.Errorf("%d faults served, want 2", n)
	}
	r.settled(t)
	r.logs.mustHave(t, "level=WARN", "service is unavailable", "learnworlds: GET /v2/users", "Client.Timeout exceeded")
	r.logs.mustHave(t, "level=WARN", "service is unavailable", "learnworlds: read GET /v2/users", "Client.Timeout")
	r.logs.clean(t, r.secrets()...)
}

// TestFaultLearnWorldsSlowWrite: HubSpot -> LearnWorlds; the LMS carries out the first update of
// a learner but trickles its answer past the client's timeout. The engine applies the change
// again; the learner holds the new value.
func TestFaultLearnWorldsSlowWrite(t *testing.T) {
	t.Parallel()
	r := newFaultRig(t, rigOptions{realLW: true})
	r.connect()
	r.withWebhooks()
	r.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	if _, err := r.lw.AddUser(learnworldstest.User{Email: "ann@school.example", Fields: map[string]any{"country": "GR"}}); err != nil {
		t.Fatal(err)
	}
	r.lw.InjectFault(learnworldstest.Fault{Method: http.MethodPut, Path: "/v2/users/", SlowBody: 50 * time.Millisecond})
	r.admin("ann@school.example", map[string]string{"country": "FR"})
	r.flush()
	r.runUntil("applied", func() bool {
		u, _ := r.lw.User("ann@school.example")
		return u.Fields["country"] == "FR" && r.lw.Stats().Faults == 1
	})
	r.run()
	if n := len(r.lw.Users()); n != 1 {
		t.Errorf("%d learners, want 1", n)
	}
	r.settled(t)
	r.logs.mustHave(t, "level=WARN", "service is unavailable", "learnworlds: read PUT", "Client.Timeout")
	r.logs.clean(t, r.secrets()...)
}
