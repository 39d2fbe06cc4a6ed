package hubsync

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubspot"
)

// Lanes and workers.
//
// Work bound for different budgets must never wait behind each other: a HubSpot portal allows
// 110 requests per 10 s, a LearnWorlds school 30, and a worker that waits on one budget must not
// hold work another budget could serve. So Run keeps one pool of workers per lane:
//
//   - the HubSpot lane (contact, stage and timeline event jobs: LMS -> HubSpot, live), served by
//     Config.Workers workers;
//   - the LMS lane (inbound jobs: HubSpot -> LMS, live), served by Config.LMSWorkers workers, at
//     most one per school at a time: two workers of one school would only queue on the same LMS
//     budget, while a second school's LMS work waited;
//   - the general lane (manual sync pages), served by Config.BackfillWorkers.
//
// A job of a kind this engine does not know (queued by a newer version of it) is left for an
// engine that knows it; RunOnce, which takes every kind, retries it and finally dead-letters it.
//
// A pause is per school and lane: an LMS that is down or asks to retry later pauses the school's
// LMS-bound work (and its backfill), not its live HubSpot changes; a HubSpot rate limit or a lost
// connection pauses the whole school, since every lane spends the portal's budget. An idle worker
// wakes when new work is queued, when a queued job comes due, and when a pause ends.

// lane is a kind of work bound for one budget.
type lane int

const (
	laneHubSpot lane = iota
	laneLMS
	laneGeneral
	laneCount
)

func (l lane) String() string { return [...]string{"hubspot", "lms", "general"}[l] }

// laneKinds are the job kinds each lane's workers dequeue (nil: every kind).
var laneKinds = [laneCount][]JobKind{
	laneHubSpot: {JobContact, JobStage, JobEvent},
	laneLMS:     {JobInbound},
	laneGeneral: {JobManual, JobManualCarry, JobCatchUp},
}

// laneOf is the lane whose budget a job kind spends.
func laneOf(k JobKind) lane {
	switch k {
	case JobContact, JobStage, JobEvent:
		return laneHubSpot
	case JobInbound:
		return laneLMS
	}
	return laneGeneral
}

// workers is how many workers Run starts for a lane.
func (e *Engine) workers(l lane) int {
	switch l {
	case laneHubSpot:
		return e.cfg.Workers
	case laneLMS:
		return e.cfg.LMSWorkers
	}
	return e.cfg.BackfillWorkers
}

// notify wakes one idle worker of each lane: new work is ready.
func (e *Engine) notify() {
	for _, w := range e.wake {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

func (e *Engine) workerLoop(ctx context.Context, l lane, name string) {
	for ctx.Err() == nil {
		n, err := e.step(ctx, l, name)
		if err != nil && ctx.Err() == nil {
			e.log.Warn("hubsync: worker step failed", "worker", name, "err", err)
		}
		if n > 0 {
			continue
		}
		if e.idle(ctx, l) && e.cfg.BatchLinger > 0 {
			// New work after a quiet spell: let a burst gather for a moment, so its first
			// batch is full instead of a handful of contacts spending a whole request.
			_ = clock.Sleep(ctx, e.clk, e.cfg.BatchLinger)
		}
	}
}

// idle waits until new work is queued (woken is true then), a queued job comes due, a pause
// ends, or Config.Poll passes. A job already due that this lane did not get (another lane's, or
// a paused school's) does not end the wait, so a worker never spins.
func (e *Engine) idle(ctx context.Context, l lane) (woken bool) {
	now := e.clk.Now()
	wait := e.cfg.Poll
	if t, ok, err := e.cfg.Queue.NextRunAt(ctx); err == nil && ok && t.After(now) {
		wait = min(wait, t.Sub(now))
	}
	if t, ok := e.schools.nextPauseEnd(now); ok {
		wait = min(wait, t.Sub(now))
	}
	tm := e.clk.NewTimer(wait)
	defer tm.Stop()
	select {
	case <-ctx.Done():
	case <-e.wake[l]:
		return true
	case <-tm.C():
	}
	return false
}

// step leases one batch of one school's jobs of lane l (laneCount: of every kind, for RunOnce)
// and handles it.
func (e *Engine) step(ctx context.Context, l lane, worker string) (int, error) {
	var kinds []JobKind
	var busy []string
	if l < laneCount {
		kinds = laneKinds[l]
	}
	if l == laneHubSpot {
		busy = busyKeys // a running LMS -> HubSpot page carries its school's live work (engine_ride.go)
	}
	opts := DequeueOptions{
		Worker:            worker,
		Max:               hubspot.BatchLimit,
		Lease:             e.cfg.Lease,
		Kinds:             kinds,
		Exclude:           e.schools.excluded(l, e.clk.Now()),
		ExcludeLeasedKeys: busy,
	}
	jobs, err := e.cfg.Queue.Dequeue(ctx, opts)
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	e.runBatch(ctx, jobs)
	n := len(jobs)
	// A worker that ran an LMS -> HubSpot page goes on with the school's next page at once,
	// unless another school's work waits for a worker (the pool stays fair): between two pages
	// the school is not busy, and the live lane would take its live changes in a request of
	// their own (engine_ride.go), and a page taken by another process, which paces the portal
	// on its own, would draw a 429.
	for l == laneGeneral && outPage(jobs) && ctx.Err() == nil {
		school := jobs[0].School
		others := opts
		others.Exclude = append(e.schools.excluded(l, e.clk.Now()), school)
		if jobs, err = e.cfg.Queue.Dequeue(ctx, others); err == nil && len(jobs) == 0 {
			same := opts
			same.Exclude, same.Schools = e.schools.excluded(l, e.clk.Now()), []SchoolID{school}
			jobs, err = e.cfg.Queue.Dequeue(ctx, same)
		}
		if err != nil || len(jobs) == 0 {
			return n, err
		}
		e.runBatch(ctx, jobs)
		n += len(jobs)
	}
	return n, nil
}

// runBatch handles one leased batch, renewing its leases meanwhile.
func (e *Engine) runBatch(ctx context.Context, jobs []Job) {
	k, bctx := e.keepLeases(ctx, jobs)
	defer k.stop()
	e.handleBatch(bctx, jobs[0].School, jobs, k)
}

// outPage reports whether jobs hold a manual sync page of the LMS -> HubSpot phase.
func outPage(jobs []Job) bool {
	for _, j := range jobs {
		if j.Key == manualOutKey {
			return true
		}
	}
	return false
}

// runLanes starts every lane's workers and waits for them.
func (e *Engine) runLanes(ctx context.Context) {
	done := make(chan struct{})
	total := 0
	for l := range laneCount {
		for i := range e.workers(l) {
			total++
			go func() {
				defer func() { done <- struct{}{} }()
				e.workerLoop(ctx, l, fmt.Sprintf("%s#%s-%d", e.holder, l, i))
			}()
		}
	}
	for range total {
		<-done
	}
}

// holdLMS marks the school's LMS lane taken by this worker for the duration of a batch; false when
// another worker holds it (the caller gives its LMS jobs back at once).
func (e *Engine) holdLMS(school SchoolID) (release func(), ok bool) {
	if !e.schools.hold(school, laneLMS) {
		return nil, false
	}
	return func() { e.schools.unhold(school, laneLMS) }, true
}

// giveBack releases jobs to run again now, without counting an attempt, in one write
// (ReleaseMany), or one by one when that fails.
func (e *Engine) giveBack(ctx context.Context, jobs []Job) {
	if len(jobs) == 0 {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := e.clk.Now()
	if _, err := e.cfg.Queue.ReleaseMany(fctx, jobs, now); err == nil {
		return
	}
	for _, j := range jobs {
		if err := e.cfg.Queue.Release(fctx, j, now); err != nil {
			e.log.Warn("hubsync: could not give a job back", "school", j.School, "job", j.ID, "err", err)
		}
	}
}

// leaseKeeper renews a batch's leases while the batch runs (river's heartbeat), so leases can be
// short and a crashed worker's jobs are taken over soon, while a long batch (one waiting on an LMS
// budget) keeps its jobs. When a lease is lost anyway (the worker stalled past it and another
// took the jobs over), the batch's context is cancelled so its work stops instead of running
// twice.
type leaseKeeper struct {
	e      *Engine
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	open map[int64]Job // jobs not finished yet
}

// keepLeases starts the heartbeat of jobs; the batch runs with the returned context and calls
// finished for every group it finishes, and stop at the end.
func (e *Engine) keepLeases(ctx context.Context, jobs []Job) (*leaseKeeper, context.Context) {
	bctx, cancel := context.WithCancel(ctx)
	k := &leaseKeeper{e: e, cancel: cancel, done: make(chan struct{}), open: make(map[int64]Job, len(jobs))}
	for _, j := range jobs {
		k.open[j.ID] = j
	}
	if e.cfg.Heartbeat < 0 {
		close(k.done)
		return k, bctx
	}
	go k.run(bctx)
	return k, bctx
}

func (k *leaseKeeper) run(ctx context.Context) {
	defer close(k.done)
	e := k.e
	for {
		tm := e.clk.NewTimer(e.cfg.Heartbeat)
		select {
		case <-ctx.Done():
			tm.Stop()
			return
		case <-tm.C():
		}
		jobs := k.pending()
		if len(jobs) == 0 {
			continue
		}
		lost, err := e.cfg.Queue.Extend(ctx, jobs, e.clk.Now().Add(e.cfg.Lease))
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn("hubsync: could not renew job leases", "school", jobs[0].School, "jobs", len(jobs), "err", err)
			}
			continue
		}
		if lost = k.stillOpen(lost); len(lost) > 0 {
			e.log.Warn("hubsync: a job lease was lost mid-batch (another worker took the jobs over); stopping the batch",
				"school", jobs[0].School, "lost", len(lost))
			k.cancel()
			return
		}
	}
}

func (k *leaseKeeper) pending() []Job {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]Job, 0, len(k.open))
	for _, j := range k.open {
		out = append(out, j)
	}
	return out
}

// stillOpen keeps the ids of lost that the batch has not finished itself (a job it acked is
// reported lost by a heartbeat that raced the ack).
func (k *leaseKeeper) stillOpen(lost []int64) []int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := lost[:0]
	for _, id := range lost {
		if _, ok := k.open[id]; ok {
			out = append(out, id)
		}
	}
	return out
}

// finished stops renewing jobs the batch has acked, retried, released or killed.
func (k *leaseKeeper) finished(jobs []Job) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, j := range jobs {
		delete(k.open, j.ID)
	}
}

// stop ends the heartbeat and waits for it.
func (k *leaseKeeper) stop() {
	k.cancel()
	<-k.done
}
