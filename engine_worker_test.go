package hubsync_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestLMSBacklogDoesNotDelayLiveHubSpotWork: 5,000 HubSpot -> LMS writes queue up behind
// LearnWorlds' real limit (30 requests per 10 s, each write a read and a write: about an hour of
// work), then a learner changes in the LMS. The change lands in HubSpot while the LMS lane has
// made only a few more LearnWorlds requests (at 3 a second, 15 is 5 s of LearnWorlds' budget):
// live HubSpot-bound work never waits behind the LMS budget. Had it waited for a worker to finish
// one batch of the backlog, 200 requests would have gone by.
//
// The clock is fake and races ahead whenever every goroutine waits on it, so the LMS's own
// request count, not the clock, measures how long the change waited.
func TestLMSBacklogDoesNotDelayLiveHubSpotWork(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	lw, learners := h.learnWorlds()
	eng := h.engine(h.config(h.store, learners))
	h.eng = eng
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeTwoWay, Mappings: inboundMapping})
	const backlog = 5000
	if err := lw.Seed(backlog, func(i int, u *learnworldstest.User) { u.Fields = map[string]any{"country": "GR"} }); err != nil {
		t.Fatal(err)
	}
	for i := range backlog {
		h.admin(fmt.Sprintf("learner%d@example.com", i), map[string]string{"country": "FR"})
	}
	h.flush()
	if st, err := h.store.Stats(h.ctx, school); err != nil || st.Ready < backlog/100 {
		t.Fatalf("backlog not queued: %+v, %v", st, err)
	}

	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	// Let the LMS workers get into the backlog (the fake clock races through their waits).
	for start := h.clk.Now(); h.clk.Now().Sub(start) < 30*time.Second; {
		runtime.Gosched()
	}
	before := lw.Stats().Requests
	h.change(hubsync.Learner{Email: "live@school.example", Values: map[string]any{"country": "PT"}})
	for h.contact("live@school.example")["country"] != "PT" {
		if n := lw.Stats().Requests - before; n > 15 {
			st, _ := h.store.Stats(h.ctx, school)
			t.Fatalf("the live change has not reached HubSpot after %d more LearnWorlds requests of the backlog (queue %+v)", n, st)
		}
		runtime.Gosched()
	}
	t.Logf("live change landed after %d LearnWorlds requests of the backlog, behind %d queued LMS writes", lw.Stats().Requests-before, backlog)
	if u, _ := lw.User("learner0@example.com"); u.Fields["country"] != "FR" {
		t.Logf("the LMS backlog is still being worked through (learner0 country %v)", u.Fields["country"])
	}
}

// stallingBackend is the in-memory LMS whose first Update stalls until the test lets it go.
type stallingBackend struct {
	*hubsynctest.Learners
	once             sync.Once
	entered, release chan struct{}
}

func (b *stallingBackend) Update(ctx context.Context, s hubsync.SchoolID, id string, values map[string]any) (hubsync.Learner, error) {
	first := false
	b.once.Do(func() { first = true })
	if first {
		close(b.entered)
		select {
		case <-b.release:
		case <-ctx.Done():
			return hubsync.Learner{}, ctx.Err()
		}
	}
	return b.Learners.Update(ctx, s, id, values)
}

// TestHeartbeatKeepsALongBatchsJobs: a batch that runs for twice its 15 s lease (its LMS write
// stalls) renews its leases while it runs, so another engine on the same database does not take
// the jobs over and apply them a second time; the learner is written once.
func TestHeartbeatKeepsALongBatchsJobs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sa, sb := sharedStores(t, "sqlite", h.clk)
	backend := &stallingBackend{Learners: h.lms, entered: make(chan struct{}), release: make(chan struct{})}
	engine := func(s storeQueue) *hubsync.Engine {
		cfg := h.config(s, backend)
		cfg.Lease, cfg.Heartbeat = 15*time.Second, 0 // the heartbeat this test is about
		e := h.engine(cfg)
		return e
	}
	a, b := engine(sa), engine(sb)
	h.eng = a
	h.connect()
	h.withWebhooks()
	h.settings(hubsync.Settings{Mode: hubsync.ModeToLMS, Mappings: inboundMapping})
	h.lms.Put(school, hubsync.Learner{Email: "ann@school.example", Values: map[string]any{"country": "GR"}})
	h.admin("ann@school.example", map[string]string{"country": "FR"})
	h.flush()

	doneA := make(chan error, 1)
	go func() { _, err := a.RunOnce(h.ctx); doneA <- err }()
	<-backend.entered // engine A holds the batch and stalls in the LMS write
	h.freeze()
	// heartbeatSet waits for the batch's heartbeat to set its timer (the only thing waiting on
	// the clock while the batch stalls); the bound only turns a missing heartbeat into a failure
	// instead of a hang.
	heartbeatSet := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
		defer cancel()
		if err := h.clk.BlockUntil(ctx, 1); err != nil {
			t.Fatalf("no heartbeat is waiting on the clock while the batch runs: %v", err)
		}
	}
	for range 6 { // 30 s, twice the lease, one heartbeat period at a time
		heartbeatSet()
		h.clk.Advance(5 * time.Second)
	}
	heartbeatSet() // the last renewal is done
	if n, err := b.RunOnce(h.ctx); err != nil || n != 0 {
		t.Fatalf("engine B took %d jobs (%v) of a batch whose lease engine A keeps renewing", n, err)
	}
	h.thaw()
	close(backend.release)
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	if got := h.lms.Stats().Updates; got != 1 {
		t.Fatalf("%d LMS writes, want 1", got)
	}
	if l, _ := h.lms.Get(school, "ann@school.example"); l.Values["country"] != "FR" {
		t.Fatalf("learner = %+v", l)
	}
	if st, _ := sa.Stats(h.ctx, school); st.Ready+st.Scheduled+st.Leased+st.Dead != 0 {
		t.Fatalf("queue = %+v", st)
	}
}

// TestHeartbeatMustBeShorterThanTheLease: a heartbeat at or past the lease would let leases expire
// between renewals; New refuses it, naming the field.
func TestHeartbeatMustBeShorterThanTheLease(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, c := range []struct {
		lease, heartbeat time.Duration
		ok               bool
	}{
		{0, 0, true}, {0, -1, true}, {0, 5 * time.Second, true}, {0, hubsync.LeaseDefault, false},
		{time.Minute, 30 * time.Second, true}, {time.Minute, time.Minute, false}, {time.Minute, time.Hour, false},
	} {
		cfg := h.config(h.store, h.lms)
		cfg.Lease, cfg.Heartbeat = c.lease, c.heartbeat
		_, err := hubsync.New(cfg)
		if c.ok != (err == nil) || (err != nil && (!errors.Is(err, hubsync.ErrInvalidSettings) || !strings.Contains(err.Error(), "Config.Heartbeat"))) {
			t.Errorf("Lease %v, Heartbeat %v: err = %v, want ok %v (or an error naming Config.Heartbeat)", c.lease, c.heartbeat, err, c.ok)
		}
	}
}
