package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
)

// This file holds the queue cases of Queue.Extend, the lease heartbeat; they are listed in
// queueCases.

// heartbeat is the short lease the Extend cases use, as a worker renewing its leases would.
const heartbeat = 15 * time.Second

// extend calls Extend and fails t on an error.
func extend(t *testing.T, x fixture, jobs []hubsync.Job, until time.Time) []int64 {
	t.Helper()
	lost, err := x.q.Extend(x.ctx, jobs, until)
	must(t, "Extend", err)
	return lost
}

// dequeueShort dequeues up to max jobs under the short heartbeat lease and fails unless exactly
// want came back.
func dequeueShort(t *testing.T, x fixture, worker string, max, want int) []hubsync.Job {
	t.Helper()
	jobs := dequeue(t, x, hubsync.DequeueOptions{Worker: worker, Max: max, Lease: heartbeat})
	if len(jobs) != want {
		t.Fatalf("Dequeue by %s returned %d jobs, want %d", worker, len(jobs), want)
	}
	return jobs
}

func ids(jobs ...hubsync.Job) []int64 {
	out := make([]int64, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

// testExtendKeepsLease: a job whose lease was extended is not taken over after its first lease
// ends, nor is its key's next job leased; at the new end it is ready again.
func testExtendKeepsLease(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "first"))
	j := dequeueShort(t, x, "w1", 1, 1)[0]
	enqueue(t, x, live("a", "k", "second"))
	x.clk.Advance(10 * time.Second)
	until := x.clk.Now().Add(heartbeat) // 25 s after the Dequeue
	mustEqual(t, "lost", extend(t, x, []hubsync.Job{j}, until), []int64(nil))

	x.clk.Advance(10 * time.Second) // 5 s past the first lease
	dequeueNone(t, x, "the extended lease has 5 s left, and it blocks its key")
	x.clk.Advance(5*time.Second - time.Millisecond)
	dequeueNone(t, x, "the extended lease has a millisecond left")
	x.clk.Advance(time.Millisecond)
	taken := dequeueShort(t, x, "w2", 10, 1)
	mustEqual(t, "job taken over at the extended lease's end", taken[0].ID, j.ID)
	mustEqual(t, "attempts after the extended lease expired", taken[0].Attempts, 1)
}

// testExtendAfterTakeover: a job taken over after its lease expired is lost to its old holder,
// and the old holder's Extend leaves the new holder's lease as it was.
func testExtendAfterTakeover(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "work"))
	old := dequeueShort(t, x, "dies", 1, 1)[0]
	x.clk.Advance(heartbeat)
	taken := dequeueShort(t, x, "survivor", 1, 1)[0]
	mustEqual(t, "taken-over job", taken.ID, old.ID)

	mustEqual(t, "lost", extend(t, x, []hubsync.Job{old}, x.clk.Now().Add(time.Hour)), []int64{old.ID})
	x.clk.Advance(heartbeat - time.Millisecond)
	stats(t, x, "a", hubsync.QueueStats{Leased: 1})
	x.clk.Advance(time.Millisecond)
	stats(t, x, "a", hubsync.QueueStats{Ready: 1}) // the new holder's lease ended when it would have
	if err := x.q.Ack(x.ctx, old); !errors.Is(err, hubsync.ErrLeaseLost) {
		t.Fatalf("old holder's Ack after its lost Extend: err = %v, want hubsync.ErrLeaseLost", err)
	}
	must(t, "new holder's Ack", x.q.Ack(x.ctx, taken))
	stats(t, x, "a", hubsync.QueueStats{})
}

// testExtendFinished: jobs acked, released, retried or killed already come back lost, and
// Extend leases none of them again.
func testExtendFinished(t *testing.T, x fixture) {
	for _, k := range []string{"acked", "released", "retried", "killed"} {
		enqueue(t, x, live("a", k, k))
	}
	jobs := dequeueShort(t, x, "w1", 4, 4)
	by := map[string]hubsync.Job{}
	for _, j := range jobs {
		by[j.Key] = j
	}
	must(t, "Ack", x.q.Ack(x.ctx, by["acked"]))
	must(t, "Release", x.q.Release(x.ctx, by["released"], time.Time{}))
	must(t, "Retry", x.q.Retry(x.ctx, by["retried"], x.clk.Now().Add(time.Hour), "later"))
	must(t, "Kill", x.q.Kill(x.ctx, by["killed"], "never"))
	stats(t, x, "a", hubsync.QueueStats{Ready: 1, Scheduled: 1, Dead: 1})

	lost := extend(t, x, jobs, x.clk.Now().Add(time.Hour))
	mustEqual(t, "lost (every job, in the order given)", lost, ids(jobs...))
	stats(t, x, "a", hubsync.QueueStats{Ready: 1, Scheduled: 1, Dead: 1})
	again := dequeueShort(t, x, "w2", 10, 1)
	mustEqual(t, "the released job is ready, not leased by Extend", again[0].Key, "released")
}

// testExtendMixed: in one batch, the jobs still held are extended (expired ones nobody took over
// included) and exactly the others come back lost.
func testExtendMixed(t *testing.T, x fixture) {
	for i := range 5 {
		enqueue(t, x, live("a", fmt.Sprint("k", i), fmt.Sprint(i)))
	}
	jobs := dequeueShort(t, x, "w1", 5, 5)
	must(t, "Ack job 0", x.q.Ack(x.ctx, jobs[0]))
	x.clk.Advance(heartbeat)
	// Jobs 1 to 4 expired; another worker takes over job 1 (the first in serving order).
	taken := dequeueShort(t, x, "w2", 1, 1)[0]
	mustEqual(t, "taken over", taken.ID, jobs[1].ID)

	until := x.clk.Now().Add(time.Hour)
	mustEqual(t, "lost", extend(t, x, jobs, until), ids(jobs[0], jobs[1]))
	stats(t, x, "a", hubsync.QueueStats{Leased: 4})
	dequeueNone(t, x, "jobs 2 to 4 are extended and job 1 has its new holder")
	x.clk.Advance(heartbeat)
	stats(t, x, "a", hubsync.QueueStats{Ready: 1, Leased: 3}) // job 1's new lease ended, not the extended ones
	x.clk.Advance(time.Hour - heartbeat - time.Millisecond)
	stats(t, x, "a", hubsync.QueueStats{Ready: 1, Leased: 3})
	x.clk.Advance(time.Millisecond)
	stats(t, x, "a", hubsync.QueueStats{Ready: 4})
	for _, j := range jobs[2:] {
		must(t, "Ack of an extended job", x.q.Ack(x.ctx, j))
	}
	must(t, "Ack of the taken-over job", x.q.Ack(x.ctx, taken))
	stats(t, x, "a", hubsync.QueueStats{})
}

// testExtendRejectsPast: an until not after now fails with ErrInvalidValue and extends nothing,
// not even the jobs still held.
func testExtendRejectsPast(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "work"))
	j := dequeueShort(t, x, "w1", 1, 1)[0]
	x.clk.Advance(time.Second)
	for _, until := range []time.Time{x.clk.Now(), x.clk.Now().Add(-time.Second), {}} {
		lost, err := x.q.Extend(x.ctx, []hubsync.Job{j, {ID: j.ID + 1000, LeaseToken: "stale"}}, until)
		if !errors.Is(err, hubsync.ErrInvalidValue) {
			t.Fatalf("Extend to %v at %v: err = %v, want hubsync.ErrInvalidValue", until, x.clk.Now(), err)
		}
		mustEqual(t, "lost with the error", lost, []int64(nil))
	}
	x.clk.Advance(heartbeat - time.Second)
	stats(t, x, "a", hubsync.QueueStats{Ready: 1}) // the lease ended when Dequeue set it
	must(t, "Ack of an expired lease nobody took", x.q.Ack(x.ctx, j))
}

// testExtendNothing: Extend of no jobs does nothing.
func testExtendNothing(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "work"))
	dequeueShort(t, x, "w1", 1, 1)
	for _, jobs := range [][]hubsync.Job{nil, {}} {
		mustEqual(t, "lost", extend(t, x, jobs, x.clk.Now().Add(time.Hour)), []int64(nil))
	}
	x.clk.Advance(heartbeat)
	stats(t, x, "a", hubsync.QueueStats{Ready: 1})
}

// testExtendStats: Stats counts an extended job Leased until the new end, and Ready after it.
func testExtendStats(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "work"))
	j := dequeueShort(t, x, "w1", 1, 1)[0]
	stats(t, x, "a", hubsync.QueueStats{Leased: 1})
	extend(t, x, []hubsync.Job{j}, x.clk.Now().Add(time.Hour))
	x.clk.Advance(30 * time.Minute)
	stats(t, x, "a", hubsync.QueueStats{Leased: 1})
	x.clk.Advance(30*time.Minute - time.Millisecond)
	stats(t, x, "a", hubsync.QueueStats{Leased: 1})
	x.clk.Advance(time.Millisecond)
	stats(t, x, "a", hubsync.QueueStats{Ready: 1})
}

// testExtendThenAck: the holder's Ack works after Extend, past the first lease, and a later
// Extend of the acked job reports it lost. Repeated heartbeats keep working meanwhile.
func testExtendThenAck(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "work"))
	j := dequeueShort(t, x, "w1", 1, 1)[0]
	enqueue(t, x, live("a", "k", "next")) // waits behind the leased job of its key
	// 40 s of heartbeats 10 s apart, well past the first 15 s lease.
	for range 4 {
		x.clk.Advance(10 * time.Second)
		mustEqual(t, "lost", extend(t, x, []hubsync.Job{j}, x.clk.Now().Add(heartbeat)), []int64(nil))
	}
	dequeueNone(t, x, "the head of the key is held by heartbeats")
	must(t, "Ack after Extend", x.q.Ack(x.ctx, j))
	mustEqual(t, "lost after Ack", extend(t, x, []hubsync.Job{j}, x.clk.Now().Add(heartbeat)), []int64{j.ID})
	next := dequeueShort(t, x, "w2", 1, 1)[0]
	mustEqual(t, "the key's next job", string(next.Payload), "next")
}
