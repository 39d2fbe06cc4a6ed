package hubsync_test

import (
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestCatchUpLMSSideQueuesWhatTheLMSCanShow: after the host's change reports stopped, an LMS
// catch-up over the real LearnWorlds adapter (GET /v2/users with registration_after, on the fake
// over HTTP) brings the learners who registered in the interval to HubSpot, not the ones from
// before it; a learner whose email LearnerChanged would refuse is skipped with a reason, counted
// in the report, never dropped silently.
func TestCatchUpLMSSideQueuesWhatTheLMSCanShow(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	lw, learners := h.learnWorlds()
	cfg := h.config(h.store, learners)
	cfg.CatchUp = hubsync.CatchUp{Every: -1}
	h.eng = h.engine(cfg)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})

	add := func(email string) {
		t.Helper()
		if _, err := lw.AddUser(learnworldstest.User{Email: email, Fields: map[string]any{"country": "CY"}}); err != nil {
			t.Fatal(err)
		}
	}
	h.freeze()
	add("before@school.example")
	h.clk.Advance(3 * time.Hour)
	since := h.clk.Now()
	h.clk.Advance(time.Hour)
	add("during1@school.example")
	add("during2@school.example")
	add("not an email@school.example")
	h.thaw()

	if err := h.eng.CatchUpSince(h.ctx, school, hubsync.CatchUpLMS, since); err != nil {
		t.Fatal(err)
	}
	h.run()
	for _, email := range []string{"during1@school.example", "during2@school.example"} {
		if c := h.contact(email); c["country"] != "CY" {
			t.Errorf("%s in HubSpot: %v, want country CY", email, c)
		}
	}
	if c := h.contact("before@school.example"); c != nil {
		t.Errorf("a learner registered before the interval reached HubSpot: %v", c)
	}
	rep, err := h.eng.LastCatchUp(h.ctx, school, hubsync.CatchUpLMS)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Source != "lms" || rep.Reason != "manual" || rep.Found != 3 || rep.Queued != 2 || rep.Skipped != 1 {
		t.Fatalf("report = %+v, want source lms, 3 found, 2 queued, 1 skipped", rep)
	}
}
