package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/store/pgstore"
)

// broadcast is a "something changed" signal: wait() returns a channel closed by the next notify().
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{ch: make(chan struct{})} }

func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *broadcast) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
}

// TestTwoInstancesNoJobRunsTwice is the multi-instance test: two Stores (two pools, as two
// host processes would have) each run several workers against one schema while producers enqueue
// thousands of jobs. No job may be leased twice at once, no two jobs of one key may run at once,
// one key's changes must run in order with its latest state delivered, and every keyless job must
// run exactly once.
func TestTwoInstancesNoJobRunsTwice(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	a := openTest(t, pgstore.WithClock(clk), pgstore.WithMaxConns(6))
	b := openSibling(t, a, pgstore.WithClock(clk), pgstore.WithMaxConns(6))
	instances := []*pgstore.Store{a, b}
	ctx := t.Context()

	const (
		schools          = 4
		keysPerSchool    = 40
		changesPerKey    = 5
		keylessPerSchool = 300
		workersPerStore  = 4
		batch            = 50
	)
	// Every school gets its keyed changes (keysPerSchool*changesPerKey) and keyless jobs: 2000 in all,
	// of which 800 keyed ones coalesce into fewer runs.
	type chain struct {
		school hubsync.SchoolID
		key    string
	}
	var (
		mu           sync.Mutex
		problems     []string
		leasedIDs    = map[int64]bool{}
		runningChain = map[chain]bool{}
		lastChange   = map[chain]int{}
		keylessRuns  = map[string]int{}
		runs         int
	)
	problem := func(format string, args ...any) {
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	changed := newBroadcast()

	// Producers: one per school, so each key's changes are enqueued in order.
	var prod sync.WaitGroup
	produced := make(chan struct{})
	for s := range schools {
		prod.Add(1)
		go func() {
			defer prod.Done()
			school := hubsync.SchoolID(fmt.Sprintf("school-%d", s))
			var specs []hubsync.JobSpec
			flush := func() {
				if len(specs) == 0 {
					return
				}
				// Alternate instances, as two hosts behind a load balancer would.
				if err := instances[len(specs)%2].Enqueue(ctx, specs...); err != nil {
					mu.Lock()
					problem("Enqueue: %v", err)
					mu.Unlock()
				}
				specs = specs[:0]
				changed.notify()
			}
			for c := 1; c <= changesPerKey; c++ {
				for k := range keysPerSchool {
					specs = append(specs, hubsync.JobSpec{School: school, Kind: "push", Key: fmt.Sprintf("learner-%d", k),
						Payload: []byte(strconv.Itoa(c)), Priority: hubsync.Priority(k % 2)})
					if len(specs) == batch {
						flush()
					}
				}
				for i := range keylessPerSchool / changesPerKey {
					specs = append(specs, hubsync.JobSpec{School: school, Kind: "event",
						Payload: []byte(fmt.Sprintf("%s/event-%d-%d", school, c, i)), Priority: hubsync.PriorityBackfill})
					if len(specs) == batch {
						flush()
					}
				}
			}
			flush()
		}()
	}
	go func() { prod.Wait(); close(produced) }()

	drained := func() bool {
		select {
		case <-produced:
		default:
			return false
		}
		for s := range schools {
			st, err := a.Stats(ctx, hubsync.SchoolID(fmt.Sprintf("school-%d", s)))
			if err != nil || st != (hubsync.QueueStats{}) {
				return false
			}
		}
		return true
	}
	done := make(chan struct{})
	var finish sync.Once
	var work sync.WaitGroup
	for i, inst := range instances {
		for w := range workersPerStore {
			work.Add(1)
			go func() {
				defer work.Done()
				worker := fmt.Sprintf("instance-%d/worker-%d", i, w)
				for {
					wake := changed.wait() // taken before Dequeue, so no change after it is missed
					jobs, err := inst.Dequeue(ctx, hubsync.DequeueOptions{Worker: worker, Max: 10, Lease: time.Hour})
					if err != nil {
						mu.Lock()
						problem("Dequeue: %v", err)
						mu.Unlock()
						finish.Do(func() { close(done) })
						return
					}
					if len(jobs) == 0 {
						if drained() {
							finish.Do(func() { close(done) })
							return
						}
						select {
						case <-wake:
						case <-produced:
						case <-done:
							return
						}
						continue
					}
					mu.Lock()
					for _, j := range jobs {
						if leasedIDs[j.ID] {
							problem("job %d leased twice at once", j.ID)
						}
						leasedIDs[j.ID] = true
						if j.Key != "" {
							c := chain{j.School, j.Key}
							if runningChain[c] {
								problem("two jobs of %v leased at once", c)
							}
							runningChain[c] = true
							n, _ := strconv.Atoi(string(j.Payload))
							if n <= lastChange[c] {
								problem("%v ran change %d after %d", c, n, lastChange[c])
							}
							lastChange[c] = n
						}
					}
					mu.Unlock()
					runtime.Gosched() // "work": let other workers race for the same rows
					for _, j := range jobs {
						mu.Lock()
						delete(leasedIDs, j.ID)
						if j.Key != "" {
							delete(runningChain, chain{j.School, j.Key})
						} else {
							keylessRuns[string(j.Payload)]++
						}
						runs++
						mu.Unlock()
						if err := inst.Ack(ctx, j); err != nil {
							mu.Lock()
							problem("Ack of job %d: %v", j.ID, err)
							mu.Unlock()
						}
					}
					changed.notify()
				}
			}()
		}
	}
	work.Wait()
	if len(problems) > 0 {
		t.Fatalf("%d problems, first: %s", len(problems), strings.Join(problems, "; "))
	}
	for s := range schools {
		school := hubsync.SchoolID(fmt.Sprintf("school-%d", s))
		for k := range keysPerSchool {
			c := chain{school, fmt.Sprintf("learner-%d", k)}
			if lastChange[c] != changesPerKey {
				t.Fatalf("%v: last change run %d, want %d (the latest state)", c, lastChange[c], changesPerKey)
			}
		}
		for c := 1; c <= changesPerKey; c++ {
			for i := range keylessPerSchool / changesPerKey {
				p := fmt.Sprintf("%s/event-%d-%d", school, c, i)
				if keylessRuns[p] != 1 {
					t.Fatalf("keyless job %s ran %d times, want exactly once", p, keylessRuns[p])
				}
			}
		}
	}
	total := schools * (keysPerSchool*changesPerKey + keylessPerSchool)
	t.Logf("%d enqueued jobs ran as %d jobs on %d workers in 2 instances", total, runs, 2*workersPerStore)
}

// TestLeaseExpiryTakeoverAcrossInstances is the crash test across processes: instance A leases a
// batch and dies (never acks); once the lease runs out instance B takes every job over and completes
// each exactly once, and A's late Ack, Retry and Release fail with ErrLeaseLost.
func TestLeaseExpiryTakeoverAcrossInstances(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	a := openTest(t, pgstore.WithClock(clk))
	b := openSibling(t, a, pgstore.WithClock(clk))
	ctx := t.Context()

	var specs []hubsync.JobSpec
	for i := range 20 {
		specs = append(specs, hubsync.JobSpec{School: "s", Kind: "push", Key: fmt.Sprintf("k%d", i), Payload: []byte(strconv.Itoa(i))})
	}
	if err := a.Enqueue(ctx, specs...); err != nil {
		t.Fatal(err)
	}
	crashed, err := a.Dequeue(ctx, hubsync.DequeueOptions{Worker: "a", Max: 20, Lease: 30 * time.Second})
	if err != nil || len(crashed) != 20 {
		t.Fatalf("A's Dequeue = %d jobs, %v; want 20", len(crashed), err)
	}
	if got, err := b.Dequeue(ctx, hubsync.DequeueOptions{Worker: "b", Max: 20, Lease: 30 * time.Second}); err != nil || len(got) != 0 {
		t.Fatalf("B's Dequeue while A's lease holds = %d jobs, %v; want none", len(got), err)
	}
	clk.Advance(30 * time.Second)

	done := map[int64]int{}
	for {
		jobs, err := b.Dequeue(ctx, hubsync.DequeueOptions{Worker: "b", Max: 7, Lease: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			break
		}
		for _, j := range jobs {
			if j.Attempts != 1 || !strings.Contains(j.LastError, `"a"`) {
				t.Fatalf("taken-over job %d has Attempts %d and LastError %q; want 1 and a reason naming worker a", j.ID, j.Attempts, j.LastError)
			}
			if err := b.Ack(ctx, j); err != nil {
				t.Fatalf("B's Ack of job %d: %v", j.ID, err)
			}
			done[j.ID]++
		}
	}
	for _, j := range crashed {
		if done[j.ID] != 1 {
			t.Fatalf("job %d completed %d times, want exactly once", j.ID, done[j.ID])
		}
		for name, err := range map[string]error{
			"Ack":     a.Ack(ctx, j),
			"Retry":   a.Retry(ctx, j, clk.Now(), "late"),
			"Release": a.Release(ctx, j, clk.Now()),
		} {
			if !errors.Is(err, hubsync.ErrLeaseLost) {
				t.Fatalf("A's late %s of job %d: err = %v, want hubsync.ErrLeaseLost", name, j.ID, err)
			}
		}
	}
	if st, err := a.Stats(ctx, "s"); err != nil || st != (hubsync.QueueStats{}) {
		t.Fatalf("Stats after takeover = %+v, %v; want all zero", st, err)
	}
}

// TestTakeoverDeadLettersAJobThatKeepsKillingWorkers: a lease that expires counts an attempt, so a
// job whose workers keep dying is dead-lettered instead of being handed out forever.
func TestTakeoverDeadLettersAJobThatKeepsKillingWorkers(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	s := openTest(t, pgstore.WithClock(clk), pgstore.WithMaxAttempts(3))
	ctx := t.Context()
	if err := s.Enqueue(ctx, hubsync.JobSpec{School: "s", Kind: "push", Key: "poison", Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	for attempt := range 3 {
		jobs, err := s.Dequeue(ctx, hubsync.DequeueOptions{Worker: fmt.Sprint("w", attempt), Lease: time.Second})
		if err != nil || len(jobs) != 1 || jobs[0].Attempts != attempt {
			t.Fatalf("try %d: Dequeue = %+v, %v; want the job with Attempts %d", attempt, jobs, err, attempt)
		}
		clk.Advance(time.Second) // the worker dies
	}
	jobs, err := s.Dequeue(ctx, hubsync.DequeueOptions{Worker: "w3", Lease: time.Second})
	if err != nil || len(jobs) != 0 {
		t.Fatalf("Dequeue after the third lost lease = %d jobs, %v; want none (dead-lettered)", len(jobs), err)
	}
	dl, err := s.DeadLetters(ctx, "s")
	if err != nil || len(dl) != 1 || dl[0].Attempts != 3 || !strings.Contains(dl[0].LastError, "expired") {
		t.Fatalf("DeadLetters = %+v, %v; want the job with 3 attempts and a lease-expired reason", dl, err)
	}
}

// TestOpenManyAtOnce starts several instances on a new schema at the same moment: the advisory lock
// makes each migration apply exactly once and every Open succeed.
func TestOpenManyAtOnce(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	schema := freshSchema(t)
	const n = 6
	stores := make([]*pgstore.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = pgstore.Open(context.Background(), url, pgstore.WithSchema(schema), pgstore.WithMaxConns(2))
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Open %d: %v", i, errs[i])
		}
		defer stores[i].Close()
	}
	// All of them see one database: a job enqueued by one is dequeued by another.
	ctx := t.Context()
	if err := stores[0].Enqueue(ctx, hubsync.JobSpec{School: "s", Kind: "push"}); err != nil {
		t.Fatal(err)
	}
	if jobs, err := stores[n-1].Dequeue(ctx, hubsync.DequeueOptions{}); err != nil || len(jobs) != 1 {
		t.Fatalf("Dequeue on another instance = %d jobs, %v; want 1", len(jobs), err)
	}
}
