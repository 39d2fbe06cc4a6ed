package hubsync_test

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/hubsync/hubsync"
)

// dequeueLog is the harness's real queue, recording which school each dequeue that leased
// jobs served, in the order they returned.
type dequeueLog struct {
	storeQueue
	mu     sync.Mutex
	served []hubsync.SchoolID
}

func (q *dequeueLog) Dequeue(ctx context.Context, o hubsync.DequeueOptions) ([]hubsync.Job, error) {
	jobs, err := q.storeQueue.Dequeue(ctx, o)
	if len(jobs) > 0 {
		q.mu.Lock()
		q.served = append(q.served, jobs[0].School)
		q.mu.Unlock()
	}
	return jobs, err
}

// log returns the schools served so far.
func (q *dequeueLog) log() []hubsync.SchoolID {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]hubsync.SchoolID(nil), q.served...)
}

// TestWorkersAreFairAcrossSchools: one engine serves two schools (as one "hubsync serve" does).
// School A has 5,000 live changes queued (50 batches); once A's backlog is being worked, school
// B gets one live change. B's change is dequeued within Workers dequeues after it was queued
// (counted, not timed), while most of A's backlog is still waiting: the shared worker pool does
// not make a school wait for another school's backlog.
func TestWorkersAreFairAcrossSchools(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	q := &dequeueLog{storeQueue: h.store}
	cfg := h.config(h.store, h.lms)
	cfg.Queue = q
	cfg.Workers = hubsync.WorkersDefault
	h.eng = h.engine(cfg)
	const a, b = school, hubsync.SchoolID("school-b")
	h.connectAs(a)
	h.connectAs(b)
	for _, s := range []hubsync.SchoolID{a, b} {
		if _, err := h.eng.SaveSettings(h.ctx, s, hubsync.Settings{Mappings: basicMapping}); err != nil {
			t.Fatal(err)
		}
	}
	const backlog = 5000
	for i := range backlog {
		h.change(hubsync.Learner{Email: "a" + itoa(i) + "@school.example", Values: map[string]any{"country": "GR"}})
	}

	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for len(q.log()) < 3 { // A's backlog is being worked
		runtime.Gosched()
	}
	if err := h.eng.LearnerChanged(h.ctx, b, hubsync.Learner{Email: "b@school.example", Values: map[string]any{"country": "PT"}}); err != nil {
		t.Fatal(err)
	}
	mark := len(q.log()) // dequeues that returned before B's change was queued
	at := -1
	for at < 0 {
		log := q.log()
		for i, s := range log {
			if s == b {
				at = i
				break
			}
		}
		if at < 0 && len(log)-mark >= backlog/100 {
			t.Fatalf("B's live change was not dequeued in the %d dequeues after it was queued: A's whole backlog went first", len(log)-mark)
		}
		runtime.Gosched()
	}
	for h.contact("b@school.example")["country"] != "PT" {
		runtime.Gosched()
	}
	waited := at - mark // dequeues of A that returned after B's change was queued
	t.Logf("B's change was dequeued after %d more dequeues of A's backlog (dequeue %d of %d so far; A's backlog is %d batches)", waited, at+1, len(q.log()), backlog/100)
	if waited > cfg.Workers {
		t.Fatalf("B's live change waited behind %d dequeues of A's backlog; want at most %d (one per worker already dequeuing)", waited, cfg.Workers)
	}
	if at >= backlog/100/2 {
		t.Fatalf("B was served at dequeue %d, with A's backlog mostly done: the test did not race A's backlog", at+1)
	}
}
