package hubsync_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// TestWorkerServesAPortalWithBudgetFirst: two schools, each with its own portal's pacing (one
// request per 10 s here), one live worker. School A's window is spent (its schema was just read)
// and it has the oldest queued change; school B's portal can send now. With the clock stopped,
// the worker serves B's change at once instead of leasing A's and blocking in A's pacing until
// its window frees: a worker dequeues only schools whose portal has a slot soon.
func TestWorkerServesAPortalWithBudgetFirst(t *testing.T) {
	t.Parallel()
	// Both schools connect to the one fake portal: its own limit is off (so it announces none
	// and the clients keep the budget given), and each school's client paces its own budget,
	// as each school's portal does in a fleet.
	h := newHarness(t, hubspottest.WithRateLimit(0, 0))
	q := &dequeueLog{storeQueue: h.store}
	cfg := h.config(h.store, h.lms)
	cfg.Queue = q
	cfg.Workers = 1
	const per = 10 * time.Second
	cfg.HubSpot.RateLimit, cfg.HubSpot.RateInterval = 1, per
	h.eng = h.engine(cfg)
	const a, b = school, hubsync.SchoolID("school-b")
	h.connectAs(a)
	h.connectAs(b)
	save := func(s hubsync.SchoolID) {
		t.Helper()
		if _, err := h.eng.SaveSettings(h.ctx, s, hubsync.Settings{Mappings: basicMapping}); err != nil {
			t.Fatal(err)
		}
	}
	h.freeze()
	frozen := true
	t.Cleanup(func() {
		if frozen {
			h.thaw()
		}
	})
	save(b) // spends B's one request of this window
	h.clk.Advance(per + time.Second)
	save(a) // B's window has passed; A's is spent now, for per
	if err := h.eng.LearnerChanged(h.ctx, a, hubsync.Learner{Email: "a@school.example", Values: map[string]any{"country": "GR"}}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Millisecond) // B's change is the younger
	if err := h.eng.LearnerChanged(h.ctx, b, hubsync.Learner{Email: "b@school.example", Values: map[string]any{"country": "PT"}}); err != nil {
		t.Fatal(err)
	}
	start := h.clk.Now()

	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for len(q.log()) == 0 {
		runtime.Gosched()
	}
	if got := q.log()[0]; got != b {
		t.Fatalf("the worker first leased %s's change, whose portal has no slot for %v, while %s's portal could send now", got, per, b)
	}
	for h.contact("b@school.example")["country"] != "PT" {
		runtime.Gosched()
	}
	if d := h.clk.Now().Sub(start); d != 0 {
		t.Fatalf("B's change landed %v after it was queued, with the clock stopped", d)
	}
	// A's change still goes, once its window frees.
	h.thaw()
	frozen = false
	for h.contact("a@school.example")["country"] != "GR" {
		runtime.Gosched()
	}
	t.Logf("A's change landed %v after it was queued (its window freed after %v)", h.clk.Now().Sub(start), per)
}
