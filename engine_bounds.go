package hubsync

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// This file bounds the queue during a long outage (Retention.MaxQueuedEvents). Learner changes
// and lifecycle triggers coalesce per learner, so they stay within a few jobs per learner however
// long HubSpot is down; a repeatable timeline event is one job per occurrence (about 440 B) and
// would pile up without end. So Record refuses a repeatable event once the school's queue holds
// MaxQueuedEvents jobs, and queues everything else as always: the once-kinds (sign-up, deletion,
// first purchase), the lifecycle trigger the refused event carried, every learner change. What is
// lost is the timeline entry of a course completed or a tag added during the outage; the state it
// led to still reaches HubSpot. A caller recording several activities of one source event (a
// purchase and a first purchase, say) must therefore go on past ErrQueueFull.
//
// The count is an approximation, on purpose. Queue.Stats counts every live job of the school, of
// every kind (a per-kind count would need a new Queue method), and costs a scan of the school's
// jobs (about 60 ms at 100,000 jobs, measured on SQLite), too much for every Record. So each engine reads
// Stats at most once per queueCountTTL per school, and adds the events it queued since; other
// processes' events show at the next read. The cap can thus be passed by what the other processes
// queue in queueCountTTL, and a refusal can outlast a draining queue by as long.

// queueCountTTL is how long a school's count read from Queue.Stats is trusted.
const queueCountTTL = 10 * time.Second

// refusalReportEvery is how often, at most, the refusals of one school are logged (at Warn) and
// written to its sync log (one failed entry with the count), so an outage does not flood either.
const refusalReportEvery = time.Minute

// eventBounds is one engine's count of each school's queued jobs.
type eventBounds struct {
	mu      sync.Mutex
	schools map[SchoolID]*queueCount
}

// queueCount is what the engine knows of one school's queue.
type queueCount struct {
	readAt time.Time // when Stats was read; zero: never
	queued int       // Ready + Scheduled + Leased then
	added  int       // repeatable events this engine queued since
	// refused counts the refusals not yet reported; reportedAt is the last report.
	refused    int
	reportedAt time.Time
}

func newEventBounds() *eventBounds {
	return &eventBounds{schools: map[SchoolID]*queueCount{}}
}

// stale reports whether the count must be read again at now.
func (c *queueCount) stale(now time.Time) bool {
	return c.readAt.IsZero() || now.Before(c.readAt) || now.Sub(c.readAt) >= queueCountTTL
}

// boundEvents applies Retention.MaxQueuedEvents to the jobs Record is about to enqueue for
// activity a. It returns them all with a nil error, or, when the school's queue is full and a is
// a repeatable kind, the jobs without the event's own and an error wrapping ErrQueueFull. A
// failure to count the queue admits the event (a Warn log says so): the bound must never cost
// an event the queue has room for. q is the queue the jobs go to (a transaction's, for RecordTx),
// and the one counted: counting through another handle inside a transaction could wait on it.
func (e *Engine) boundEvents(ctx context.Context, q Queue, school SchoolID, a Activity, jobs []JobSpec) ([]JobSpec, error) {
	limit := e.cfg.Retention.MaxQueuedEvents
	b := e.events
	if a.Kind.Once() || limit < 0 || b == nil {
		return jobs, nil
	}
	now := e.clk.Now()
	b.mu.Lock()
	c := b.schools[school]
	if c == nil {
		c = &queueCount{}
		b.schools[school] = c
	}
	stale := c.stale(now)
	b.mu.Unlock()
	if stale {
		// Read outside the lock: the count of one school must not hold up another's Record.
		st, err := q.Stats(ctx, school)
		if err != nil {
			e.log.Warn("hubsync: could not count the queue; the event is queued uncounted", "school", school, "err", err)
			return jobs, nil
		}
		b.mu.Lock()
		c.readAt, c.queued, c.added = now, st.Ready+st.Scheduled+st.Leased, 0
		b.mu.Unlock()
	}

	b.mu.Lock()
	queued := c.queued + c.added
	full := queued >= limit
	var report int
	if full {
		c.refused++
	} else {
		c.added++
	}
	// Report the refusals once per refusalReportEvery, and once more when the queue has room
	// again, so the last ones of an outage are counted too.
	if c.refused > 0 && (!full || c.reportedAt.IsZero() || now.Sub(c.reportedAt) >= refusalReportEvery) {
		report, c.refused, c.reportedAt = c.refused, 0, now
	}
	b.mu.Unlock()

	if report > 0 {
		// Inside a caller's transaction (RecordTx) the sync log is not written: the store is
		// busy with that transaction. The log line still says it, and counts restart.
		e.reportRefusals(ctx, school, report, queued, limit, q == e.cfg.Queue)
	}
	if !full {
		return jobs, nil
	}
	kept := slices.DeleteFunc(slices.Clone(jobs), func(j JobSpec) bool { return j.Kind == JobEvent })
	return kept, fmt.Errorf("%w: school %q has %d jobs queued, at Retention.MaxQueuedEvents (%d): the %s event of %s is not queued (its lifecycle trigger, if any, is)",
		ErrQueueFull, school, queued, limit, a.Kind, MaskEmail(a.Email))
}

// reportRefusals logs, and writes to the school's sync log (where Status shows it among the
// newest failures), that n repeatable events were refused since the last report; queued is the
// count now.
func (e *Engine) reportRefusals(ctx context.Context, school SchoolID, n, queued, limit int, toSyncLog bool) {
	e.log.Warn("hubsync: queue full: repeatable timeline events refused", "school", school, "refused", n, "queued", queued, "max_queued_events", limit)
	if !toSyncLog {
		return
	}
	en := SyncLogEntry{School: school, At: e.clk.Now(), Direction: DirectionToHubSpot, Outcome: OutcomeFailed,
		Reason: fmt.Sprintf("%d repeatable timeline events not queued: the school's queue was at Retention.MaxQueuedEvents (%d jobs); is HubSpot unreachable, or the connection lost?", n, limit)}
	if err := e.cfg.Store.AppendSyncLog(context.WithoutCancel(ctx), en); err != nil {
		e.log.Warn("hubsync: could not write the refused events to the sync log", "school", school, "refused", n, "err", err)
	}
}
