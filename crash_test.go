package hubsync_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// deadQueue is a real queue whose process "dies" after its first batch: nothing it leased is ever
// acked, retried or released, exactly as when a host is killed mid-batch.
type deadQueue struct {
	hubsync.Queue
	dead atomic.Bool
}

var errDead = errors.New("process killed")

func (q *deadQueue) Dequeue(ctx context.Context, o hubsync.DequeueOptions) ([]hubsync.Job, error) {
	if q.dead.Load() {
		return nil, nil
	}
	jobs, err := q.Queue.Dequeue(ctx, o)
	if len(jobs) > 0 {
		q.dead.Store(true)
	}
	return jobs, err
}
func (q *deadQueue) Ack(context.Context, hubsync.Job) error { return errDead }
func (q *deadQueue) Retry(context.Context, hubsync.Job, time.Time, string) error {
	return errDead
}
func (q *deadQueue) Release(context.Context, hubsync.Job, time.Time) error { return errDead }
func (q *deadQueue) Kill(context.Context, hubsync.Job, string) error       { return errDead }

// TestCrashMidBatchLosesNothingAndSendsNoOnceEventTwice: an engine on SQLite dies after sending a
// batch but before acking it; a new engine on the same database file takes the jobs over when
// their lease expires. Every change lands, with the latest values, and each once-event is on the
// timeline once.
func TestCrashMidBatchLosesNothingAndSendsNoOnceEventTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	path := filepath.Join(t.TempDir(), "hubsync.db")
	open := func() *sqlitestore.Store {
		s, err := sqlitestore.Open(h.ctx, path, sqlitestore.WithClock(h.clk))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	engine := func(s hubsync.Store, q hubsync.Queue) *hubsync.Engine {
		cfg := h.config(nil, h.lms)
		cfg.Store, cfg.Queue, cfg.Lease = s, q, time.Minute
		e := h.engine(cfg)
		return e
	}
	first := open()
	dq := &deadQueue{Queue: first}
	a := engine(first, dq)
	h.eng = a // connect and save settings through the first engine
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping, UpdateLifecycleStage: true})

	for _, e := range []string{"c1@school.example", "c2@school.example"} {
		if err := a.Record(h.ctx, school, hubsync.Activity{Kind: hubsync.EventSignedUp, Email: e, At: h.clk.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 150 {
		if err := a.LearnerChanged(h.ctx, school, hubsync.Learner{Email: "c" + itoa(i) + "@school.example", Values: map[string]any{"country": "GR"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.RunOnce(h.ctx); err != nil {
		t.Fatal(err)
	}
	if !dq.dead.Load() {
		t.Fatal("the first engine never took a batch")
	}
	countSignups := func() int {
		n := 0
		for _, ev := range h.hs.TimelineEvents() {
			if ev.Properties["kind"] == "signed_up" {
				n++
			}
		}
		return n
	}
	if n := countSignups(); n != 2 {
		t.Fatalf("the first engine sent %d sign-ups before dying, want 2 (the test needs them in its batch)", n)
	}
	// While it lies dead, learners keep changing.
	if err := a.LearnerChanged(h.ctx, school, hubsync.Learner{Email: "c0@school.example", Values: map[string]any{"country": "FR"}}); err != nil {
		t.Fatal(err)
	}

	// A new engine on the same database file.
	nb := open()
	b := engine(nb, nb)
	h.clk.Advance(2 * time.Minute) // the dead engine's leases expire
	for range 5 {
		if _, err := b.RunOnce(h.ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 150 {
		want := "GR"
		if i == 0 {
			want = "FR"
		}
		if got := h.contact("c" + itoa(i) + "@school.example")["country"]; got != want {
			t.Fatalf("c%d: country %q, want %q", i, got, want)
		}
	}
	if signups := countSignups(); signups != 2 {
		t.Fatalf("%d sign-up events after the takeover, want 2 (one per learner)", signups)
	}
	st, err := b.Status(h.ctx, school)
	if err != nil {
		t.Fatal(err)
	}
	if q := st.Queue; q.Ready+q.Scheduled+q.Leased+q.Dead != 0 {
		t.Fatalf("queue not drained: %+v", q)
	}
}
