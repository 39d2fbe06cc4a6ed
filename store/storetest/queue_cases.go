package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
)

var queueCases = []testCase{
	{"EnqueueDequeueAck", testEnqueueDequeueAck},
	{"EnqueueRejectsBadSpecs", testEnqueueRejects},
	{"CoalesceByKey", testCoalesce},
	{"CoalesceKeepsEarlierRunAtAndHigherPriority", testCoalesceKeeps},
	{"EmptyKeyNeverCoalesces", testEmptyKey},
	{"CoalesceInsideOneEnqueue", testCoalesceOneCall},
	{"KeyRunsInEnqueueOrder", testKeyOrder},
	{"RunAt", testRunAt},
	{"LeaseExpiryTakeover", testLeaseExpiry},
	{"LeaseExpiryDeadLettersAtMaxAttempts", testLeaseExpiryDead},
	{"RetryAndDeadLetter", testRetryDeadLetter},
	{"KillDeadLettersAtOnce", testKill},
	{"KillWithStaleLease", testKillStaleLease},
	{"Release", testRelease},
	{"ReplayUnknown", testReplayUnknown},
	{"ReplayWaitsForLeasedKey", testReplayWaits},
	{"LiveBeforeBackfill", testPriority},
	{"FairAcrossSchools", testFairness},
	{"BackfillDoesNotStarveOtherSchool", testNoStarvation},
	{"MaxBatchOneSchool", testMaxBatch},
	{"KindsAndExclude", testKindsExclude},
	{"OnlySchools", testOnlySchools},
	{"ExcludeLeasedKeys", testExcludeLeasedKeys},
	{"StatsAndNextRunAt", testStatsNextRunAt},
	{"ExtendKeepsLeasePastFirst", testExtendKeepsLease},
	{"ExtendAfterTakeoverIsLost", testExtendAfterTakeover},
	{"ExtendOfFinishedJobsIsLost", testExtendFinished},
	{"ExtendMixedBatch", testExtendMixed},
	{"ExtendRejectsUntilNotAfterNow", testExtendRejectsPast},
	{"ExtendOfNothing", testExtendNothing},
	{"ExtendStatsCountsLeased", testExtendStats},
	{"ExtendThenAck", testExtendThenAck},
	{"HoldersListsLiveLeases", testHoldersListsLiveLeases},
	{"ExpireLeasesTakesBackAtOnce", testExpireLeasesTakesBackAtOnce},
}

const lease = time.Minute

func enqueue(t *testing.T, x fixture, jobs ...hubsync.JobSpec) {
	t.Helper()
	must(t, "Enqueue", x.q.Enqueue(x.ctx, jobs...))
}

func dequeue(t *testing.T, x fixture, opts hubsync.DequeueOptions) []hubsync.Job {
	t.Helper()
	if opts.Lease == 0 {
		opts.Lease = lease
	}
	jobs, err := x.q.Dequeue(x.ctx, opts)
	must(t, "Dequeue", err)
	return jobs
}

// dequeueOne dequeues with Max 1 and fails unless exactly one job came back.
func dequeueOne(t *testing.T, x fixture) hubsync.Job {
	t.Helper()
	jobs := dequeue(t, x, hubsync.DequeueOptions{Worker: "w1"})
	if len(jobs) != 1 {
		t.Fatalf("Dequeue returned %d jobs, want 1", len(jobs))
	}
	return jobs[0]
}

func dequeueNone(t *testing.T, x fixture, why string) {
	t.Helper()
	if jobs := dequeue(t, x, hubsync.DequeueOptions{Worker: "w1", Max: 10}); len(jobs) != 0 {
		t.Fatalf("Dequeue returned %d jobs (first %s %q), want none: %s", len(jobs), jobs[0].Key, jobs[0].Payload, why)
	}
}

func stats(t *testing.T, x fixture, school hubsync.SchoolID, want hubsync.QueueStats) {
	t.Helper()
	got, err := x.q.Stats(x.ctx, school)
	must(t, "Stats", err)
	if got != want {
		t.Fatalf("Stats(%s) = %+v, want %+v", school, got, want)
	}
}

func live(school hubsync.SchoolID, key, payload string) hubsync.JobSpec {
	return hubsync.JobSpec{School: school, Kind: "push", Key: key, Payload: []byte(payload), Priority: hubsync.PriorityLive}
}

func testEnqueueDequeueAck(t *testing.T, x fixture) {
	dequeueNone(t, x, "the queue is empty")
	x.clk.Advance(time.Second)
	enqueue(t, x, live("a", "jane@example.com", `{"v":1}`))
	j := dequeueOne(t, x)
	if j.ID == 0 || j.LeaseToken == "" {
		t.Fatalf("leased job has ID %d and LeaseToken %q; want both set", j.ID, j.LeaseToken)
	}
	mustEqual(t, "job spec", j.JobSpec, hubsync.JobSpec{School: "a", Kind: "push", Key: "jane@example.com", Payload: []byte(`{"v":1}`), Priority: hubsync.PriorityLive, RunAt: x.clk.Now()})
	mustEqual(t, "attempts", j.Attempts, 0)
	mustEqual(t, "last error", j.LastError, "")
	mustEqual(t, "lease until", j.LeaseUntil, x.clk.Now().Add(lease))
	mustEqual(t, "enqueued at", j.EnqueuedAt, x.clk.Now())
	stats(t, x, "a", hubsync.QueueStats{Leased: 1})
	dequeueNone(t, x, "the only job is leased")

	must(t, "Ack", x.q.Ack(x.ctx, j))
	stats(t, x, "a", hubsync.QueueStats{})
	dequeueNone(t, x, "the only job was acked")
	if err := x.q.Ack(x.ctx, j); !errors.Is(err, hubsync.ErrLeaseLost) {
		t.Fatalf("second Ack: err = %v, want hubsync.ErrLeaseLost", err)
	}
	if err := x.q.Retry(x.ctx, j, x.clk.Now(), "late"); !errors.Is(err, hubsync.ErrLeaseLost) {
		t.Fatalf("Retry of an acked job: err = %v, want hubsync.ErrLeaseLost", err)
	}
	// Enqueue of nothing is fine.
	must(t, "Enqueue()", x.q.Enqueue(x.ctx))
}

func testEnqueueRejects(t *testing.T, x fixture) {
	good := live("a", "k", "p")
	for _, tc := range []struct {
		name string
		spec hubsync.JobSpec
	}{
		{"no school", hubsync.JobSpec{Kind: "push"}},
		{"no kind", hubsync.JobSpec{School: "a"}},
		{"unknown priority", hubsync.JobSpec{School: "a", Kind: "push", Priority: 7}},
		{"negative priority", hubsync.JobSpec{School: "a", Kind: "push", Priority: -1}},
	} {
		if err := x.q.Enqueue(x.ctx, good, tc.spec); err == nil {
			t.Fatalf("Enqueue with a job with %s: want an error", tc.name)
		}
	}
	stats(t, x, "a", hubsync.QueueStats{})
	dequeueNone(t, x, "every rejected batch must enqueue nothing")
}

func testCoalesce(t *testing.T, x fixture) {
	for i := range 10 {
		enqueue(t, x, live("a", "jane@example.com", fmt.Sprintf("state-%d", i)))
		x.clk.Advance(time.Millisecond)
	}
	enqueue(t, x, live("a", "bob@example.com", "bob"))
	enqueue(t, x, live("b", "jane@example.com", "other school"))
	stats(t, x, "a", hubsync.QueueStats{Ready: 2})
	jobs := dequeue(t, x, hubsync.DequeueOptions{Max: 10, Exclude: []hubsync.SchoolID{"b"}})
	if len(jobs) != 2 {
		t.Fatalf("Dequeue after 10 changes of one learner and 1 of another returned %d jobs, want 2", len(jobs))
	}
	mustEqual(t, "first job payload (latest state of the first key)", string(jobs[0].Payload), "state-9")
	mustEqual(t, "coalesced job's RunAt (the earliest)", jobs[0].RunAt, epoch)
	mustEqual(t, "second job payload", string(jobs[1].Payload), "bob")

	// Retry keeps attempts across a later coalescing enqueue.
	must(t, "Retry", x.q.Retry(x.ctx, jobs[0], x.clk.Now().Add(time.Hour), "HubSpot 502"))
	enqueue(t, x, live("a", "jane@example.com", "state-10"))
	j := dequeue(t, x, hubsync.DequeueOptions{Exclude: []hubsync.SchoolID{"b"}})
	if len(j) != 1 {
		t.Fatalf("Dequeue after coalescing into a retried job returned %d jobs, want 1 (the earlier, now, RunAt wins)", len(j))
	}
	mustEqual(t, "payload", string(j[0].Payload), "state-10")
	mustEqual(t, "attempts kept by coalescing", j[0].Attempts, 1)
	mustEqual(t, "last error", j[0].LastError, "HubSpot 502")
}

func testCoalesceKeeps(t *testing.T, x fixture) {
	later := epoch.Add(10 * time.Minute)
	enqueue(t, x, hubsync.JobSpec{School: "a", Kind: "backfill", Key: "k", Payload: []byte("1"), Priority: hubsync.PriorityBackfill, RunAt: epoch.Add(5 * time.Minute)})
	enqueue(t, x, hubsync.JobSpec{School: "a", Kind: "push", Key: "k", Payload: []byte("2"), Priority: hubsync.PriorityLive, RunAt: later})
	enqueue(t, x, hubsync.JobSpec{School: "a", Kind: "backfill", Key: "k", Payload: []byte("3"), Priority: hubsync.PriorityBackfill, RunAt: later})
	stats(t, x, "a", hubsync.QueueStats{Scheduled: 1})
	next, ok, err := x.q.NextRunAt(x.ctx)
	must(t, "NextRunAt", err)
	if !ok || !next.Equal(epoch.Add(5*time.Minute)) {
		t.Fatalf("NextRunAt = %v, %v; want the earliest RunAt kept by coalescing, %v", next, ok, epoch.Add(5*time.Minute))
	}
	x.clk.Advance(5 * time.Minute)
	j := dequeueOne(t, x)
	mustEqual(t, "payload", string(j.Payload), "3")
	mustEqual(t, "kind (the latest)", j.Kind, hubsync.JobKind("backfill"))
	mustEqual(t, "priority (the higher)", j.Priority, hubsync.PriorityLive)
	mustEqual(t, "run at (the earlier)", j.RunAt, epoch.Add(5*time.Minute))
}

// testCoalesceOneCall: the jobs of one Enqueue call coalesce as if enqueued one after the other:
// into one job of the key (the latest payload and kind, the higher priority, the earlier RunAt),
// at the place of the key's first job, beside keyless jobs that stay apart; and behind a leased
// job of their key, into one waiting job.
func testCoalesceOneCall(t *testing.T, x fixture) {
	backfill := func(key, payload string, runAt time.Time) hubsync.JobSpec {
		return hubsync.JobSpec{School: "a", Kind: "backfill", Key: key, Payload: []byte(payload), Priority: hubsync.PriorityBackfill, RunAt: runAt}
	}
	enqueue(t, x,
		backfill("k1", "1", epoch),
		backfill("", "p1", epoch),
		hubsync.JobSpec{School: "a", Kind: "push", Key: "k1", Payload: []byte("2"), Priority: hubsync.PriorityLive, RunAt: epoch.Add(time.Minute)},
		backfill("k2", "x", epoch),
		backfill("k1", "3", epoch.Add(time.Minute)),
		backfill("", "p2", epoch),
	)
	stats(t, x, "a", hubsync.QueueStats{Ready: 4})
	jobs := dequeue(t, x, hubsync.DequeueOptions{Max: 10})
	var got []string
	for _, j := range jobs {
		got = append(got, fmt.Sprintf("%s %s %d %s", j.Key, j.Payload, j.Priority, j.RunAt.Sub(epoch)))
	}
	want := []string{
		fmt.Sprintf("k1 3 %d 0s", hubsync.PriorityLive),
		fmt.Sprintf(" p1 %d 0s", hubsync.PriorityBackfill),
		fmt.Sprintf("k2 x %d 0s", hubsync.PriorityBackfill),
		fmt.Sprintf(" p2 %d 0s", hubsync.PriorityBackfill),
	}
	mustEqual(t, "jobs of one Enqueue (key payload priority run-at)", got, want)
	mustEqual(t, "kind of the coalesced job (the latest)", jobs[0].Kind, hubsync.JobKind("backfill"))

	enqueue(t, x, live("b", "k3", "first"))
	first := dequeue(t, x, hubsync.DequeueOptions{Exclude: []hubsync.SchoolID{"a"}})
	if len(first) != 1 {
		t.Fatalf("Dequeue of school b returned %d jobs, want 1", len(first))
	}
	enqueue(t, x, live("b", "k3", "s1"), live("b", "k3", "s2"))
	stats(t, x, "b", hubsync.QueueStats{Ready: 1, Leased: 1})
	must(t, "Ack first", x.q.Ack(x.ctx, first[0]))
	second := dequeue(t, x, hubsync.DequeueOptions{Exclude: []hubsync.SchoolID{"a"}})
	if len(second) != 1 || string(second[0].Payload) != "s2" {
		t.Fatalf("Dequeue after the leased job's ack = %+v, want the one job coalesced behind it (s2)", second)
	}
}

func testEmptyKey(t *testing.T, x fixture) {
	for i := range 3 {
		enqueue(t, x, live("a", "", fmt.Sprint(i)))
	}
	stats(t, x, "a", hubsync.QueueStats{Ready: 3})
	jobs := dequeue(t, x, hubsync.DequeueOptions{Max: 5})
	if len(jobs) != 3 {
		t.Fatalf("Dequeue returned %d keyless jobs, want 3 (an empty key never coalesces or blocks)", len(jobs))
	}
	for i, j := range jobs {
		mustEqual(t, "payload in enqueue order", string(j.Payload), fmt.Sprint(i))
	}
}

func testKeyOrder(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "first"))
	first := dequeueOne(t, x)
	// While the first is leased, new jobs of the key wait behind it, coalesced into one.
	for i := range 5 {
		enqueue(t, x, live("a", "k", fmt.Sprintf("second-%d", i)))
	}
	stats(t, x, "a", hubsync.QueueStats{Ready: 1, Leased: 1})
	dequeueNone(t, x, "a job of the same key is leased")
	must(t, "Ack first", x.q.Ack(x.ctx, first))
	second := dequeueOne(t, x)
	mustEqual(t, "second payload", string(second.Payload), "second-4")

	// A retried head blocks the jobs of its key behind it until it has run again.
	enqueue(t, x, live("a", "k", "third"))
	must(t, "Retry second", x.q.Retry(x.ctx, second, x.clk.Now().Add(time.Minute), "boom"))
	// "third" was enqueued while second was leased: it waits behind second and does not run first.
	dequeueNone(t, x, "the head of the key waits for its retry time")
	x.clk.Advance(time.Minute)
	again := dequeueOne(t, x)
	mustEqual(t, "retried job runs before the later one", string(again.Payload), "second-4")
	dequeueNone(t, x, "the head of the key is leased again")
	must(t, "Ack retried", x.q.Ack(x.ctx, again))
	third := dequeueOne(t, x)
	mustEqual(t, "third payload", string(third.Payload), "third")
	must(t, "Ack third", x.q.Ack(x.ctx, third))
	stats(t, x, "a", hubsync.QueueStats{})
}

func testRunAt(t *testing.T, x fixture) {
	enqueue(t, x, hubsync.JobSpec{School: "a", Kind: "push", Payload: []byte("later"), RunAt: epoch.Add(time.Hour)})
	enqueue(t, x, hubsync.JobSpec{School: "a", Kind: "push", Payload: []byte("past"), RunAt: epoch.Add(-time.Hour)})
	stats(t, x, "a", hubsync.QueueStats{Ready: 1, Scheduled: 1})
	j := dequeueOne(t, x)
	mustEqual(t, "payload", string(j.Payload), "past")
	must(t, "Ack", x.q.Ack(x.ctx, j))
	x.clk.Advance(time.Hour - time.Second)
	dequeueNone(t, x, "the job is due in a second")
	x.clk.Advance(time.Second)
	j = dequeueOne(t, x)
	mustEqual(t, "payload", string(j.Payload), "later")
}

// testLeaseExpiry is the crash test: a worker leases a job and dies; after the lease the job is
// taken over and completed exactly once, and the dead worker's late calls fail with ErrLeaseLost.
func testLeaseExpiry(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "work"))
	dead := dequeue(t, x, hubsync.DequeueOptions{Worker: "dies", Lease: 30 * time.Second})
	if len(dead) != 1 {
		t.Fatalf("Dequeue returned %d jobs, want 1", len(dead))
	}
	x.clk.Advance(30*time.Second - time.Millisecond)
	dequeueNone(t, x, "the lease has a millisecond left")
	stats(t, x, "a", hubsync.QueueStats{Leased: 1})
	x.clk.Advance(time.Millisecond)
	stats(t, x, "a", hubsync.QueueStats{Ready: 1})
	// A new change of the key while the lease is expired but not yet taken over waits behind it.
	enqueue(t, x, live("a", "k", "newer"))

	taken := dequeue(t, x, hubsync.DequeueOptions{Worker: "survivor", Max: 5})
	if len(taken) != 1 {
		t.Fatalf("Dequeue after lease expiry returned %d jobs, want the expired one only", len(taken))
	}
	j := taken[0]
	mustEqual(t, "taken-over job id", j.ID, dead[0].ID)
	mustEqual(t, "taken-over payload", string(j.Payload), "work")
	mustEqual(t, "attempts after a lost lease", j.Attempts, 1)
	if j.LastError == "" || j.LeaseToken == dead[0].LeaseToken {
		t.Fatalf("taken-over job has LastError %q and the old token %v; want a reason and a new token", j.LastError, j.LeaseToken == dead[0].LeaseToken)
	}
	for name, err := range map[string]error{
		"Ack":     x.q.Ack(x.ctx, dead[0]),
		"Retry":   x.q.Retry(x.ctx, dead[0], x.clk.Now(), "late"),
		"Release": x.q.Release(x.ctx, dead[0], x.clk.Now()),
	} {
		if !errors.Is(err, hubsync.ErrLeaseLost) {
			t.Fatalf("dead worker's late %s: err = %v, want hubsync.ErrLeaseLost", name, err)
		}
	}
	must(t, "survivor's Ack", x.q.Ack(x.ctx, j))
	newer := dequeueOne(t, x)
	mustEqual(t, "the change made meanwhile", string(newer.Payload), "newer")
	must(t, "Ack", x.q.Ack(x.ctx, newer))
	stats(t, x, "a", hubsync.QueueStats{})
	dequeueNone(t, x, "the job completed exactly once")

	// An expired lease nobody took over can still be acked by its holder.
	enqueue(t, x, live("a", "k2", "slow"))
	slow := dequeueOne(t, x)
	x.clk.Advance(2 * lease)
	must(t, "Ack of an expired lease nobody took", x.q.Ack(x.ctx, slow))
	dequeueNone(t, x, "the slow job was acked")
}

func testRetryDeadLetter(t *testing.T, x fixture) {
	dl, err := x.q.DeadLetters(x.ctx, "a")
	must(t, "DeadLetters of an empty queue", err)
	mustEqual(t, "dead letters", len(dl), 0)

	enqueue(t, x, live("a", "k", "poison"))
	var id int64
	for attempt := range suiteMaxAttempts {
		j := dequeue(t, x, hubsync.DequeueOptions{Kinds: []hubsync.JobKind{"push"}})
		if len(j) != 1 {
			t.Fatalf("attempt %d: Dequeue returned %d jobs, want 1", attempt, len(j))
		}
		mustEqual(t, "attempts", j[0].Attempts, attempt)
		if attempt > 0 {
			mustEqual(t, "last error", j[0].LastError, fmt.Sprintf("fail %d", attempt-1))
			mustEqual(t, "same job", j[0].ID, id)
		}
		id = j[0].ID
		x.clk.Advance(time.Second)
		must(t, "Retry", x.q.Retry(x.ctx, j[0], x.clk.Now().Add(10*time.Second), fmt.Sprintf("fail %d", attempt)))
		if attempt < suiteMaxAttempts-1 {
			stats(t, x, "a", hubsync.QueueStats{Scheduled: 1})
			dequeueNone(t, x, "the retry is due in 10s")
			x.clk.Advance(10 * time.Second)
		}
	}
	// After MaxAttempts tries the job is dead.
	dl, err = x.q.DeadLetters(x.ctx, "a")
	must(t, "DeadLetters", err)
	if len(dl) != 1 || dl[0].ID != id {
		t.Fatalf("DeadLetters = %+v, want the poison job (id %d)", dl, id)
	}
	mustEqual(t, "dead attempts", dl[0].Attempts, suiteMaxAttempts)
	mustEqual(t, "dead last error", dl[0].LastError, fmt.Sprintf("fail %d", suiteMaxAttempts-1))
	mustEqual(t, "dead payload", string(dl[0].Payload), "poison")
	if err := x.q.Replay(x.ctx, dl[0].ID+1000); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("Replay of an unknown id: err = %v, want hubsync.ErrNotFound", err)
	}
	got, err := x.q.Stats(x.ctx, "a")
	must(t, "Stats", err)
	mustEqual(t, "dead count", got.Dead, 1)

	// A dead job does not block its key.
	enqueue(t, x, live("a", "k", "fresh"))
	fresh := dequeue(t, x, hubsync.DequeueOptions{Max: 5})
	if i := slices.IndexFunc(fresh, func(j hubsync.Job) bool { return string(j.Payload) == "fresh" }); i < 0 {
		t.Fatalf("Dequeue after dead-lettering returned %d jobs without the key's new job", len(fresh))
	} else {
		must(t, "Ack fresh", x.q.Ack(x.ctx, fresh[i]))
	}

	must(t, "Replay", x.q.Replay(x.ctx, id))
	if err := x.q.Replay(x.ctx, id); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("second Replay: err = %v, want hubsync.ErrNotFound", err)
	}
	dl, err = x.q.DeadLetters(x.ctx, "a")
	must(t, "DeadLetters after Replay", err)
	mustEqual(t, "dead letters after replay", len(dl), 0)
	j := dequeue(t, x, hubsync.DequeueOptions{Max: 5})
	i := slices.IndexFunc(j, func(j hubsync.Job) bool { return j.ID == id })
	if i < 0 {
		t.Fatalf("Dequeue after Replay returned %d jobs without the replayed one", len(j))
	}
	mustEqual(t, "replayed attempts", j[i].Attempts, 0)
	mustEqual(t, "replayed payload", string(j[i].Payload), "poison")
}

func testRelease(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "p"))
	j := dequeueOne(t, x)
	must(t, "Release", x.q.Release(x.ctx, j, epoch.Add(time.Minute)))
	stats(t, x, "a", hubsync.QueueStats{Scheduled: 1})
	if err := x.q.Ack(x.ctx, j); !errors.Is(err, hubsync.ErrLeaseLost) {
		t.Fatalf("Ack after Release: err = %v, want hubsync.ErrLeaseLost", err)
	}
	dequeueNone(t, x, "released to run in a minute")
	x.clk.Advance(time.Minute)
	j2 := dequeueOne(t, x)
	mustEqual(t, "attempts after Release", j2.Attempts, 0)
	mustEqual(t, "id", j2.ID, j.ID)
	must(t, "Release now", x.q.Release(x.ctx, j2, x.clk.Now()))
	j3 := dequeueOne(t, x)
	mustEqual(t, "attempts after two Releases", j3.Attempts, 0)
	must(t, "Ack", x.q.Ack(x.ctx, j3))
}

func testReplayUnknown(t *testing.T, x fixture) {
	if err := x.q.Replay(x.ctx, 424242); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("Replay of an unknown id: err = %v, want hubsync.ErrNotFound", err)
	}
	enqueue(t, x, live("a", "k", "p"))
	j := dequeueOne(t, x)
	if err := x.q.Replay(x.ctx, j.ID); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("Replay of a leased (not dead) job: err = %v, want hubsync.ErrNotFound", err)
	}
}

func testPriority(t *testing.T, x fixture) {
	for i := range 3 {
		enqueue(t, x, hubsync.JobSpec{School: "a", Kind: "backfill", Key: fmt.Sprintf("b%d", i), Payload: []byte(fmt.Sprintf("backfill-%d", i)), Priority: hubsync.PriorityBackfill})
	}
	x.clk.Advance(time.Second)
	enqueue(t, x, live("a", "l0", "live-0"), live("a", "l1", "live-1"))
	var got []string
	for range 5 {
		j := dequeueOne(t, x)
		got = append(got, string(j.Payload))
	}
	mustEqual(t, "dequeue order", got, []string{"live-0", "live-1", "backfill-0", "backfill-1", "backfill-2"})
}

func testFairness(t *testing.T, x fixture) {
	schools := []hubsync.SchoolID{"s1", "s2", "s3"}
	for _, s := range schools {
		for i := range 4 {
			enqueue(t, x, live(s, fmt.Sprint(i), fmt.Sprintf("%s-%d", s, i)))
		}
	}
	counts := map[hubsync.SchoolID]int{}
	for round := range 4 {
		seen := map[hubsync.SchoolID]bool{}
		for range len(schools) {
			j := dequeueOne(t, x)
			seen[j.School] = true
			counts[j.School]++
		}
		if len(seen) != len(schools) {
			t.Fatalf("round %d of 3 single-job dequeues served schools %v; want each of the 3 schools once", round, seen)
		}
	}
	for _, s := range schools {
		mustEqual(t, "jobs served for "+string(s), counts[s], 4)
	}
}

func testNoStarvation(t *testing.T, x fixture) {
	var big []hubsync.JobSpec
	for i := range 60 {
		big = append(big, hubsync.JobSpec{School: "big", Kind: "backfill", Key: fmt.Sprint(i), Priority: hubsync.PriorityBackfill})
	}
	enqueue(t, x, big...)
	for range 3 {
		dequeue(t, x, hubsync.DequeueOptions{Max: 10})
	}
	x.clk.Advance(time.Second)
	enqueue(t, x, live("small", "jane@example.com", "live change"))
	for i := range 2 {
		jobs := dequeue(t, x, hubsync.DequeueOptions{Max: 10})
		if len(jobs) > 0 && jobs[0].School == "small" {
			return
		}
		if i == 1 {
			t.Fatal("a school's live job waited behind another school's backfill for two dequeues")
		}
	}
}

func testMaxBatch(t *testing.T, x fixture) {
	for i := range 5 {
		enqueue(t, x, live("a", fmt.Sprint(i), fmt.Sprint(i)), live("b", fmt.Sprint(i), fmt.Sprint(i)))
	}
	enqueue(t, x, live("a", "0", "coalesced"))
	jobs := dequeue(t, x, hubsync.DequeueOptions{Max: 3})
	if len(jobs) != 3 {
		t.Fatalf("Dequeue Max 3 returned %d jobs, want 3", len(jobs))
	}
	first := jobs[0].School
	for _, j := range jobs {
		if j.School != first {
			t.Fatalf("Dequeue returned jobs of schools %s and %s; want one school per call", first, j.School)
		}
	}
	rest := dequeue(t, x, hubsync.DequeueOptions{Max: 100})
	if len(rest) != 5 || rest[0].School == first {
		t.Fatalf("second Dequeue returned %d jobs of %s; want the other school's 5", len(rest), rest[0].School)
	}
	rest = dequeue(t, x, hubsync.DequeueOptions{Max: 100})
	if len(rest) != 2 || rest[0].School != first {
		t.Fatalf("third Dequeue returned %d jobs; want the first school's remaining 2", len(rest))
	}
}

func testKindsExclude(t *testing.T, x fixture) {
	enqueue(t, x,
		hubsync.JobSpec{School: "a", Kind: "push", Payload: []byte("a-push")},
		hubsync.JobSpec{School: "a", Kind: "event", Payload: []byte("a-event")},
		hubsync.JobSpec{School: "b", Kind: "push", Payload: []byte("b-push")},
	)
	j := dequeue(t, x, hubsync.DequeueOptions{Max: 10, Kinds: []hubsync.JobKind{"event"}})
	if len(j) != 1 || string(j[0].Payload) != "a-event" {
		t.Fatalf("Dequeue of kind event returned %d jobs; want a-event only", len(j))
	}
	j = dequeue(t, x, hubsync.DequeueOptions{Max: 10, Exclude: []hubsync.SchoolID{"a"}})
	if len(j) != 1 || string(j[0].Payload) != "b-push" {
		t.Fatalf("Dequeue excluding school a returned %d jobs; want b-push only", len(j))
	}
	dequeue(t, x, hubsync.DequeueOptions{Max: 10, Exclude: []hubsync.SchoolID{"a", "b"}}) // nothing, no error
	j = dequeue(t, x, hubsync.DequeueOptions{Max: 10, Kinds: []hubsync.JobKind{"push", "other"}, Exclude: []hubsync.SchoolID{"b"}})
	if len(j) != 1 || string(j[0].Payload) != "a-push" {
		t.Fatalf("Dequeue of kinds push/other excluding b returned %d jobs; want a-push only", len(j))
	}
}

func testOnlySchools(t *testing.T, x fixture) {
	enqueue(t, x,
		hubsync.JobSpec{School: "a", Kind: "push", Payload: []byte("a1")},
		hubsync.JobSpec{School: "b", Kind: "push", Payload: []byte("b1")},
		hubsync.JobSpec{School: "c", Kind: "push", Payload: []byte("c1")},
		hubsync.JobSpec{School: "b", Kind: "push", Payload: []byte("b2")},
	)
	// a is first by turn, but only b is asked for: both of b's jobs, none of a's.
	j := dequeue(t, x, hubsync.DequeueOptions{Max: 10, Schools: []hubsync.SchoolID{"b"}})
	if len(j) != 2 || j[0].School != "b" || j[1].School != "b" {
		t.Fatalf("Dequeue of school b returned %d jobs (%v); want b's 2", len(j), schoolsOf(j))
	}
	dequeue(t, x, hubsync.DequeueOptions{Max: 10, Schools: []hubsync.SchoolID{"b"}}) // nothing left, no error
	if j := dequeue(t, x, hubsync.DequeueOptions{Max: 10, Schools: []hubsync.SchoolID{"nobody"}}); len(j) != 0 {
		t.Fatalf("Dequeue of a school without jobs returned %d jobs", len(j))
	}
	// Exclude applies too; then, among the schools named, the one served least recently.
	if j := dequeue(t, x, hubsync.DequeueOptions{Max: 10, Schools: []hubsync.SchoolID{"a"}, Exclude: []hubsync.SchoolID{"a"}}); len(j) != 0 {
		t.Fatalf("Dequeue of school a excluding a returned %d jobs", len(j))
	}
	j = dequeue(t, x, hubsync.DequeueOptions{Max: 10, Schools: []hubsync.SchoolID{"c", "a"}})
	if len(j) != 1 || string(j[0].Payload) != "a1" {
		t.Fatalf("Dequeue of schools c, a returned %v; want a1 (a was never served)", schoolsOf(j))
	}
	j = dequeue(t, x, hubsync.DequeueOptions{Max: 10, Schools: []hubsync.SchoolID{"c", "a"}})
	if len(j) != 1 || string(j[0].Payload) != "c1" {
		t.Fatalf("second Dequeue of schools c, a returned %v; want c1", schoolsOf(j))
	}
}

func schoolsOf(jobs []hubsync.Job) []hubsync.SchoolID {
	out := make([]hubsync.SchoolID, len(jobs))
	for i, j := range jobs {
		out[i] = j.School
	}
	return out
}

func testExcludeLeasedKeys(t *testing.T, x fixture) {
	enqueue(t, x,
		hubsync.JobSpec{School: "a", Kind: "page", Key: "manual", Priority: hubsync.PriorityBackfill},
		hubsync.JobSpec{School: "b", Kind: "page", Key: "manual", Priority: hubsync.PriorityBackfill},
	)
	// a's page leased; b's waits: a waiting job of the key does not make its school busy.
	page := dequeue(t, x, hubsync.DequeueOptions{Worker: "pages", Kinds: []hubsync.JobKind{"page"}, Schools: []hubsync.SchoolID{"a"}, Lease: time.Minute})
	if len(page) != 1 {
		t.Fatalf("Dequeue of a's page returned %d jobs", len(page))
	}
	enqueue(t, x, live("a", "a-l1", "a-live"), live("b", "b-l1", "b-live"))
	skip := hubsync.DequeueOptions{Max: 10, Kinds: []hubsync.JobKind{"push"}, ExcludeLeasedKeys: []string{"manual"}}
	j := dequeue(t, x, skip)
	if len(j) != 1 || string(j[0].Payload) != "b-live" {
		t.Fatalf("Dequeue skipping schools with a leased %q job returned %v; want b-live only", "manual", schoolsOf(j))
	}
	must(t, "Ack", x.q.Ack(x.ctx, j[0]))
	if j := dequeue(t, x, skip); len(j) != 0 {
		t.Fatalf("second Dequeue returned %d jobs; a's page lease still holds, so a is skipped", len(j))
	}
	// Asked for by name, a's live job is there (the page's own worker takes it this way).
	if j := dequeue(t, x, hubsync.DequeueOptions{Max: 10, Kinds: []hubsync.JobKind{"push"}, Schools: []hubsync.SchoolID{"a"}, Lease: 10 * time.Second}); len(j) != 1 {
		t.Fatalf("Dequeue of school a by name returned %d jobs; want its live job", len(j))
	} else {
		// Released, it is skipped again while the page is leased...
		if err := x.q.Release(x.ctx, j[0], time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if j := dequeue(t, x, skip); len(j) != 0 {
		t.Fatalf("Dequeue after the release returned %d jobs; a is still busy", len(j))
	}
	// ...and served once the page's lease runs out (nobody works it any more).
	x.clk.Advance(time.Minute + time.Second)
	j = dequeue(t, x, skip)
	if len(j) != 1 || string(j[0].Payload) != "a-live" {
		t.Fatalf("Dequeue after a's page lease ran out returned %v; want a-live", schoolsOf(j))
	}
	// An acked page frees its school at once, and other keys never make a school busy.
	enqueue(t, x, live("b", "b-l2", "b-live2"))
	if j := dequeue(t, x, hubsync.DequeueOptions{Max: 10, Kinds: []hubsync.JobKind{"push"}, ExcludeLeasedKeys: []string{"other"}}); len(j) != 1 {
		t.Fatalf("Dequeue skipping key %q returned %d jobs; want b-live2", "other", len(j))
	}
}

func testStatsNextRunAt(t *testing.T, x fixture) {
	_, ok, err := x.q.NextRunAt(x.ctx)
	must(t, "NextRunAt of an empty queue", err)
	if ok {
		t.Fatal("NextRunAt of an empty queue reported a job")
	}
	stats(t, x, "nobody", hubsync.QueueStats{})
	enqueue(t, x,
		hubsync.JobSpec{School: "a", Kind: "push", RunAt: epoch.Add(2 * time.Hour)},
		hubsync.JobSpec{School: "b", Kind: "push", RunAt: epoch.Add(time.Hour)},
		hubsync.JobSpec{School: "a", Kind: "push"},
	)
	j := dequeueOne(t, x) // leases a's ready job: no longer waiting
	next, ok, err := x.q.NextRunAt(x.ctx)
	must(t, "NextRunAt", err)
	if !ok || !next.Equal(epoch.Add(time.Hour)) {
		t.Fatalf("NextRunAt = %v, %v; want %v, true", next, ok, epoch.Add(time.Hour))
	}
	stats(t, x, "a", hubsync.QueueStats{Scheduled: 1, Leased: 1})
	stats(t, x, "b", hubsync.QueueStats{Scheduled: 1})
	must(t, "Release", x.q.Release(x.ctx, j, epoch.Add(time.Minute)))
	next, ok, err = x.q.NextRunAt(x.ctx)
	must(t, "NextRunAt", err)
	if !ok || !next.Equal(epoch.Add(time.Minute)) {
		t.Fatalf("NextRunAt after Release = %v, %v; want %v, true", next, ok, epoch.Add(time.Minute))
	}
	x.clk.Advance(90 * time.Minute)
	stats(t, x, "a", hubsync.QueueStats{Ready: 1, Scheduled: 1})
	stats(t, x, "b", hubsync.QueueStats{Ready: 1})
}

// retryUntilDead dequeues the only ready job and retries it until it is dead, returning its id.
func retryUntilDead(t *testing.T, x fixture) int64 {
	t.Helper()
	var id int64
	for range suiteMaxAttempts {
		j := dequeueOne(t, x)
		id = j.ID
		must(t, "Retry", x.q.Retry(x.ctx, j, x.clk.Now(), "boom"))
	}
	return id
}

// testReplayWaits replays a dead job while a newer job of its key is leased: the replayed job
// must wait, and the leased one, even after its lease expired, is not blocked by it.
func testReplayWaits(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "old"))
	dead := retryUntilDead(t, x)
	enqueue(t, x, live("a", "k", "new"))
	newer := dequeueOne(t, x)
	must(t, "Replay", x.q.Replay(x.ctx, dead))
	dequeueNone(t, x, "the replayed job's key is leased")
	x.clk.Advance(2 * lease)
	taken := dequeueOne(t, x)
	mustEqual(t, "job taken over after its lease expired", taken.ID, newer.ID)
	dequeueNone(t, x, "the key is leased again")
	must(t, "Ack", x.q.Ack(x.ctx, taken))
	replayed := dequeueOne(t, x)
	mustEqual(t, "replayed job", replayed.ID, dead)
	mustEqual(t, "replayed payload", string(replayed.Payload), "old")
}

// testLeaseExpiryDead: a job whose every worker dies is dead-lettered when the takeovers' attempt
// count reaches MaxAttempts, instead of being leased again.
func testLeaseExpiryDead(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "kills workers"))
	for attempt := range suiteMaxAttempts {
		j := dequeueOne(t, x)
		mustEqual(t, "attempts", j.Attempts, attempt)
		x.clk.Advance(lease)
	}
	dequeueNone(t, x, "the job's lease expired MaxAttempts times")
	dl, err := x.q.DeadLetters(x.ctx, "a")
	must(t, "DeadLetters", err)
	if len(dl) != 1 {
		t.Fatalf("DeadLetters returned %d jobs, want the job that kept losing its lease", len(dl))
	}
	mustEqual(t, "attempts of the dead job", dl[0].Attempts, suiteMaxAttempts)
	if dl[0].LastError == "" {
		t.Fatal("the dead job has no LastError; want one saying its lease expired")
	}
	stats(t, x, "a", hubsync.QueueStats{Dead: 1})
	enqueue(t, x, live("a", "k", "next"))
	j := dequeueOne(t, x)
	mustEqual(t, "the key's next job runs", string(j.Payload), "next")
}

// testKill: Kill dead-letters a leased job on its first attempt, with the cause as LastError; the
// dead job stops blocking its key (the job waiting behind it runs) and can be replayed.
func testKill(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "doomed"))
	j := dequeueOne(t, x)
	enqueue(t, x, live("a", "k", "behind")) // waits behind the leased job of its key
	x.clk.Advance(time.Second)
	const cause = "HubSpot 400: property \"cf_x\" does not exist"
	must(t, "Kill", x.q.Kill(x.ctx, j, cause))
	dl, err := x.q.DeadLetters(x.ctx, "a")
	must(t, "DeadLetters", err)
	if len(dl) != 1 || dl[0].ID != j.ID {
		t.Fatalf("DeadLetters after Kill = %+v, want the killed job (id %d)", dl, j.ID)
	}
	mustEqual(t, "killed job's attempts (the attempt counts)", dl[0].Attempts, 1)
	mustEqual(t, "killed job's last error", dl[0].LastError, cause)
	mustEqual(t, "killed job's payload", string(dl[0].Payload), "doomed")
	stats(t, x, "a", hubsync.QueueStats{Ready: 1, Dead: 1})
	for name, err := range map[string]error{
		"Ack":     x.q.Ack(x.ctx, j),
		"Retry":   x.q.Retry(x.ctx, j, x.clk.Now(), "late"),
		"Release": x.q.Release(x.ctx, j, x.clk.Now()),
		"Kill":    x.q.Kill(x.ctx, j, "again"),
	} {
		if !errors.Is(err, hubsync.ErrLeaseLost) {
			t.Fatalf("%s of a killed job: err = %v, want hubsync.ErrLeaseLost", name, err)
		}
	}

	// A dead job does not block its key, whether it died by Kill or by Retry.
	behind := dequeueOne(t, x)
	mustEqual(t, "the job behind the killed one", string(behind.Payload), "behind")
	must(t, "Ack behind", x.q.Ack(x.ctx, behind))

	must(t, "Replay", x.q.Replay(x.ctx, j.ID))
	stats(t, x, "a", hubsync.QueueStats{Ready: 1})
	replayed := dequeueOne(t, x)
	mustEqual(t, "replayed job", replayed.ID, j.ID)
	mustEqual(t, "replayed attempts", replayed.Attempts, 0)
	mustEqual(t, "replayed payload", string(replayed.Payload), "doomed")
	must(t, "Ack replayed", x.q.Ack(x.ctx, replayed))
	stats(t, x, "a", hubsync.QueueStats{})
}

// testKillStaleLease: a worker whose expired lease was taken over cannot kill the job; the
// worker holding the job now can, and the takeover's attempt counts too.
func testKillStaleLease(t *testing.T, x fixture) {
	enqueue(t, x, live("a", "k", "p"))
	slow := dequeueOne(t, x)
	x.clk.Advance(lease)
	taken := dequeueOne(t, x)
	mustEqual(t, "taken-over job", taken.ID, slow.ID)
	if err := x.q.Kill(x.ctx, slow, "permanent"); !errors.Is(err, hubsync.ErrLeaseLost) {
		t.Fatalf("Kill with a stale lease: err = %v, want hubsync.ErrLeaseLost", err)
	}
	stats(t, x, "a", hubsync.QueueStats{Leased: 1})
	must(t, "Kill by the current holder", x.q.Kill(x.ctx, taken, "permanent"))
	dl, err := x.q.DeadLetters(x.ctx, "a")
	must(t, "DeadLetters", err)
	if len(dl) != 1 {
		t.Fatalf("DeadLetters returned %d jobs, want the killed one", len(dl))
	}
	mustEqual(t, "attempts (the lost lease and the kill)", dl[0].Attempts, 2)
	mustEqual(t, "last error", dl[0].LastError, "permanent")
}
