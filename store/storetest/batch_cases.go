package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
)

// The cases of the batched lease operations (AckMany, ReleaseMany): one atomic write for a batch,
// a lost lease reported by id without keeping the batch's other jobs from being finished. They
// are listed in queueCases.
func init() {
	queueCases = append(queueCases,
		testCase{"AckManyAcksEveryJob", testAckManyAll},
		testCase{"AckManyWithLostLeases", testAckManyLost},
		testCase{"AckManyOfNothing", testAckManyNothing},
		testCase{"AckManyAcrossSchools", testAckManySchools},
		testCase{"AckManyOfAJobTwice", testAckManyTwice},
		testCase{"AckManyUnblocksTheKey", testAckManyKey},
		testCase{"ReleaseMany", testReleaseMany},
		testCase{"ReleaseManyWithLostLeases", testReleaseManyLost},
	)
}

func ackMany(t *testing.T, x fixture, jobs []hubsync.Job) []int64 {
	t.Helper()
	lost, err := x.q.AckMany(x.ctx, jobs)
	must(t, "AckMany", err)
	return lost
}

func releaseMany(t *testing.T, x fixture, jobs []hubsync.Job, runAt time.Time) []int64 {
	t.Helper()
	lost, err := x.q.ReleaseMany(x.ctx, jobs, runAt)
	must(t, "ReleaseMany", err)
	return lost
}

// enqueueKeys enqueues n live jobs of school, keys k0..k(n-1).
func enqueueKeys(t *testing.T, x fixture, school hubsync.SchoolID, n int) {
	t.Helper()
	for i := range n {
		enqueue(t, x, live(school, fmt.Sprint("k", i), fmt.Sprint(i)))
	}
}

// testAckManyAll: every job held is acked, in one call; after it each is gone, and a second
// AckMany or an Ack of any of them is a lost lease.
func testAckManyAll(t *testing.T, x fixture) {
	enqueueKeys(t, x, "a", 5)
	jobs := dequeue(t, x, hubsync.DequeueOptions{Worker: "w1", Max: 5})
	mustEqual(t, "dequeued", len(jobs), 5)
	mustEqual(t, "lost", ackMany(t, x, jobs), []int64(nil))
	stats(t, x, "a", hubsync.QueueStats{})
	dequeueNone(t, x, "every job was acked")
	mustEqual(t, "lost on a second AckMany", ackMany(t, x, jobs), ids(jobs...))
	if err := x.q.Ack(x.ctx, jobs[2]); !errors.Is(err, hubsync.ErrLeaseLost) {
		t.Fatalf("Ack after AckMany: err = %v, want hubsync.ErrLeaseLost", err)
	}
}

// testAckManyLost: the jobs whose lease is lost (taken over, acked already, released, unknown)
// are reported, in the order given, and left alone; the others are acked, an expired lease nobody
// took over included.
func testAckManyLost(t *testing.T, x fixture) {
	enqueueKeys(t, x, "a", 5)
	jobs := dequeueShort(t, x, "w1", 5, 5)
	must(t, "Ack job 3", x.q.Ack(x.ctx, jobs[3]))
	must(t, "Release job 4", x.q.Release(x.ctx, jobs[4], x.clk.Now().Add(time.Hour)))
	x.clk.Advance(heartbeat)
	// Jobs 0 to 2 expired; another worker takes over job 0 (the first in serving order).
	taken := dequeueShort(t, x, "w2", 1, 1)[0]
	mustEqual(t, "taken over", taken.ID, jobs[0].ID)
	unknown := hubsync.Job{ID: jobs[4].ID + 1000, LeaseToken: jobs[1].LeaseToken}
	batch := append([]hubsync.Job{unknown}, jobs...)

	mustEqual(t, "lost", ackMany(t, x, batch), ids(unknown, jobs[0], jobs[3], jobs[4]))
	// Left: job 0 under w2's lease and job 4 released for later.
	stats(t, x, "a", hubsync.QueueStats{Leased: 1, Scheduled: 1})
	must(t, "Ack by the worker that took job 0 over", x.q.Ack(x.ctx, taken))
	x.clk.Advance(time.Hour)
	j4 := dequeueOne(t, x)
	mustEqual(t, "the released job", j4.ID, jobs[4].ID)
	must(t, "Ack of the released job", x.q.Ack(x.ctx, j4))
	stats(t, x, "a", hubsync.QueueStats{})
}

// testAckManyNothing: AckMany and ReleaseMany of no jobs do nothing.
func testAckManyNothing(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "p"))
	j := dequeueOne(t, x)
	mustEqual(t, "lost of nil", ackMany(t, x, nil), []int64(nil))
	mustEqual(t, "lost of empty", ackMany(t, x, []hubsync.Job{}), []int64(nil))
	mustEqual(t, "lost of a nil release", releaseMany(t, x, nil, time.Time{}), []int64(nil))
	stats(t, x, "a", hubsync.QueueStats{Leased: 1})
	must(t, "Ack", x.q.Ack(x.ctx, j))
}

// testAckManySchools: one AckMany may ack the jobs of several schools (dequeued apart).
func testAckManySchools(t *testing.T, x fixture) {
	enqueueKeys(t, x, "a", 3)
	enqueueKeys(t, x, "b", 3)
	var jobs []hubsync.Job
	for range 2 {
		got := dequeue(t, x, hubsync.DequeueOptions{Worker: "w1", Max: 10})
		mustEqual(t, "dequeued", len(got), 3)
		jobs = append(jobs, got...)
	}
	mustEqual(t, "lost", ackMany(t, x, jobs), []int64(nil))
	stats(t, x, "a", hubsync.QueueStats{})
	stats(t, x, "b", hubsync.QueueStats{})
}

// testAckManyTwice: a job given twice with its lease token is acked once and not reported lost;
// with a stale token beside it, the stale copy is.
func testAckManyTwice(t *testing.T, x fixture) {
	enqueueKeys(t, x, "a", 2)
	jobs := dequeue(t, x, hubsync.DequeueOptions{Worker: "w1", Max: 2})
	mustEqual(t, "dequeued", len(jobs), 2)
	stale := jobs[1]
	stale.LeaseToken = "stale"
	mustEqual(t, "lost", ackMany(t, x, []hubsync.Job{jobs[0], jobs[1], jobs[0], stale}), ids(stale))
	stats(t, x, "a", hubsync.QueueStats{})
}

// testAckManyKey: acking a key's leased job in a batch lets the job enqueued behind it run.
func testAckManyKey(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "first"), live("a", "other", "x"))
	jobs := dequeue(t, x, hubsync.DequeueOptions{Worker: "w1", Max: 10})
	mustEqual(t, "dequeued", len(jobs), 2)
	enqueue(t, x, live("a", "k", "second"))
	dequeueNone(t, x, "the key's first job is leased")
	mustEqual(t, "lost", ackMany(t, x, jobs), []int64(nil))
	next := dequeueOne(t, x)
	mustEqual(t, "the job behind the key", string(next.Payload), "second")
	must(t, "Ack", x.q.Ack(x.ctx, next))
}

// testReleaseMany: every job is given back, to run at runAt, without counting an attempt; a zero
// runAt means now.
func testReleaseMany(t *testing.T, x fixture) {
	enqueueKeys(t, x, "a", 3)
	jobs := dequeue(t, x, hubsync.DequeueOptions{Worker: "w1", Max: 3})
	mustEqual(t, "dequeued", len(jobs), 3)
	mustEqual(t, "lost", releaseMany(t, x, jobs, x.clk.Now().Add(time.Minute)), []int64(nil))
	stats(t, x, "a", hubsync.QueueStats{Scheduled: 3})
	mustEqual(t, "lost on a second ReleaseMany", releaseMany(t, x, jobs, time.Time{}), ids(jobs...))
	dequeueNone(t, x, "released to run in a minute")
	x.clk.Advance(time.Minute)
	again := dequeue(t, x, hubsync.DequeueOptions{Worker: "w1", Max: 3})
	mustEqual(t, "dequeued again", ids(again...), ids(jobs...))
	for _, j := range again {
		mustEqual(t, "attempts after ReleaseMany", j.Attempts, 0)
	}
	mustEqual(t, "lost", releaseMany(t, x, again, time.Time{}), []int64(nil))
	stats(t, x, "a", hubsync.QueueStats{Ready: 3})
	mustEqual(t, "lost", ackMany(t, x, dequeue(t, x, hubsync.DequeueOptions{Worker: "w1", Max: 3})), []int64(nil))
	stats(t, x, "a", hubsync.QueueStats{})
}

// testReleaseManyLost: the lost leases are reported and their jobs left alone.
func testReleaseManyLost(t *testing.T, x fixture) {
	enqueueKeys(t, x, "a", 3)
	jobs := dequeueShort(t, x, "w1", 3, 3)
	must(t, "Ack job 2", x.q.Ack(x.ctx, jobs[2]))
	x.clk.Advance(heartbeat)
	taken := dequeueShort(t, x, "w2", 1, 1)[0]
	mustEqual(t, "taken over", taken.ID, jobs[0].ID)
	mustEqual(t, "lost", releaseMany(t, x, jobs, x.clk.Now().Add(time.Minute)), ids(jobs[0], jobs[2]))
	stats(t, x, "a", hubsync.QueueStats{Leased: 1, Scheduled: 1})
	must(t, "Ack by the worker that took job 0 over", x.q.Ack(x.ctx, taken))
}
