package storetest

import (
	"testing"
	"time"

	"github.com/hubsync/hubsync"
)

// This file holds the queue cases of Queue.Holders and Queue.ExpireLeases, with which an engine
// takes back at once the work of a holder it knows has died; they are listed in queueCases.

// holders calls Holders and fails t on an error.
func holders(t *testing.T, x fixture) []string {
	t.Helper()
	h, err := x.q.Holders(x.ctx)
	must(t, "Holders", err)
	return h
}

// expireLeases calls ExpireLeases and fails t on an error.
func expireLeases(t *testing.T, x fixture, worker string) int {
	t.Helper()
	n, err := x.q.ExpireLeases(x.ctx, worker)
	must(t, "ExpireLeases", err)
	return n
}

// testHoldersListsLiveLeases: Holders names each worker with an unexpired lease once, sorted,
// across schools; not a worker whose jobs were acked or released, whose lease expired, or that
// gave no name.
func testHoldersListsLiveLeases(t *testing.T, x fixture) {
	mustEqual(t, "holders of an empty queue", holders(t, x), []string{})
	enqueue(t, x, live("a", "1", "a1"), live("a", "2", "a2"), live("b", "1", "b1"), live("b", "2", "b2"), live("c", "1", "c1"))
	dequeueShort(t, x, "zed", 2, 2)                                         // both of one school
	dequeueShort(t, x, "amy", 1, 1)                                         // one of the next
	dequeueShort(t, x, "amy", 1, 1)                                         // and another, same worker
	anon := dequeue(t, x, hubsync.DequeueOptions{Max: 1, Lease: heartbeat}) // no name
	if len(anon) != 1 {
		t.Fatalf("Dequeue without a worker name returned %d jobs, want 1", len(anon))
	}
	mustEqual(t, "holders", holders(t, x), []string{"amy", "zed"})

	x.clk.Advance(heartbeat)
	mustEqual(t, "holders once every lease expired", holders(t, x), []string{})
	j := dequeueShort(t, x, "late", 1, 1)[0]
	mustEqual(t, "holders after a take-over", holders(t, x), []string{"late"})
	must(t, "Ack", x.q.Ack(x.ctx, j))
	mustEqual(t, "holders after the Ack", holders(t, x), []string{})
}

// testExpireLeasesTakesBackAtOnce: the jobs of an expired holder are ready at once, taken over
// with the attempt counted; other holders keep theirs; the old token works until the take-over.
func testExpireLeasesTakesBackAtOnce(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "first"), live("a", "other", "x"), live("b", "k", "y"))
	dead := dequeue(t, x, hubsync.DequeueOptions{Worker: "gone", Max: 10, Lease: time.Hour})
	mustEqual(t, "jobs the dying worker leased", len(dead), 2) // both of school a
	enqueue(t, x, live("a", "k", "second"))                    // waits behind the leased "first"
	alive := dequeueShort(t, x, "alive", 10, 1)

	mustEqual(t, "leases ended for an unknown worker", expireLeases(t, x, "nobody"), 0)
	dequeueNone(t, x, "every lease is held for an hour")
	mustEqual(t, "leases ended", expireLeases(t, x, "gone"), 2)
	mustEqual(t, "leases ended again", expireLeases(t, x, "gone"), 0)
	mustEqual(t, "holders", holders(t, x), []string{"alive"})
	stats(t, x, "a", hubsync.QueueStats{Ready: 3}) // two expired leases and the key's second job

	// Until someone takes a job over, its old lease still works (as for any expired lease).
	must(t, "Ack with the old token before a take-over", x.q.Ack(x.ctx, dead[1]))
	taken := dequeueShort(t, x, "rerun", 10, 1)
	mustEqual(t, "job taken over", taken[0].ID, dead[0].ID)
	mustEqual(t, "attempts of the taken-over job", taken[0].Attempts, 1)
	if taken[0].LastError == "" {
		t.Fatal("the taken-over job has no LastError, want the lease's expiry")
	}
	must(t, "the other holder's Ack", x.q.Ack(x.ctx, alive[0]))
}
