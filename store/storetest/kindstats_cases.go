package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hubsync/hubsync"
)

// The optional hubsync.KindStatser, checked for a queue that implements it.
func init() {
	queueCases = append(queueCases, testCase{"StatsByKind", testStatsByKind})
}

func testStatsByKind(t *testing.T, x fixture) {
	ks, ok := x.q.(hubsync.KindStatser)
	if !ok {
		t.Skip("the queue does not implement hubsync.KindStatser")
	}
	const school = hubsync.SchoolID("s1")
	enqueue(t, x,
		hubsync.JobSpec{School: school, Kind: "contact", Key: "a"},
		hubsync.JobSpec{School: school, Kind: "contact", Key: "b"},
		hubsync.JobSpec{School: school, Kind: "event", Key: "e", RunAt: x.clk.Now().Add(time.Hour)},
		hubsync.JobSpec{School: school, Kind: "inbound", Key: "i"},
		hubsync.JobSpec{School: "other", Kind: "contact", Key: "a"},
	)
	dead := dequeue(t, x, hubsync.DequeueOptions{Max: 1, Kinds: []hubsync.JobKind{"inbound"}, Exclude: []hubsync.SchoolID{"other"}})
	if len(dead) != 1 {
		t.Fatalf("dequeued %d inbound jobs, want 1", len(dead))
	}
	must(t, "Kill", x.q.Kill(x.ctx, dead[0], "test"))
	if got := dequeue(t, x, hubsync.DequeueOptions{Max: 1, Kinds: []hubsync.JobKind{"contact"}, Exclude: []hubsync.SchoolID{"other"}}); len(got) != 1 {
		t.Fatalf("dequeued %d contact jobs, want 1", len(got))
	}
	got, err := ks.StatsByKind(x.ctx, school)
	must(t, "StatsByKind", err)
	want := map[hubsync.JobKind]hubsync.QueueStats{
		"contact": {Ready: 1, Leased: 1},
		"event":   {Scheduled: 1},
		"inbound": {Dead: 1},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("StatsByKind (-want +got):\n%s", d)
	}
	none, err := ks.StatsByKind(x.ctx, "nobody")
	must(t, "StatsByKind", err)
	if len(none) != 0 {
		t.Errorf("StatsByKind of a school with no jobs = %v, want empty", none)
	}
}
