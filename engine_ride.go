package hubsync

import (
	"context"

	"github.com/hubsync/hubsync/hubspot"
)

// Live changes ride in the backfill's requests.
//
// A school's portal has one budget, and a manual sync's LMS -> HubSpot pages fill it with full
// batches. A live change sent beside them spends a whole request on the few contacts that changed
// since the last one, takes that request from the backfill, and waits for a worker that is held
// in the portal's pacing. So while a worker runs a school's LMS -> HubSpot page, the live lane of
// every engine on the queue leaves the school alone (DequeueOptions.ExcludeLeasedKeys with the
// page job's key, manualOutKey), and the page's worker takes the school's due live contact and
// stage jobs into each of its requests (up to rideMax of them, the page's learners filling the
// rest), then, after the page, sends the school's due timeline events. A page that does not run
// (the sync is done, or failed, or its page waits to be retried, or its worker died and its
// lease ran out) holds nothing back: the live lane serves the school again.
//
// A learner both on the page and in a live job is sent once, with the newer copy (by when each
// was read) and the live job's stage triggers; it counts as one of the page's records. A live
// learner not on the page is logged and finished as the live lane would: its jobs are acked
// when the request succeeds, and retried or paused (finish) when it fails, whatever the page
// does next.

// rideMax is the most live jobs one page request carries: a quarter of the batch is left to the
// page, so a flood of live changes slows the backfill but never stops it.
const rideMax = hubspot.BatchLimit * 3 / 4

// manualOutKey is the key of a manual sync's LMS -> HubSpot page jobs; the pages of the other
// phases keep "manual". Pages of one phase run one at a time (one key); a new phase's first page
// is queued by the previous phase's last, so phases never overlap either.
const manualOutKey = "manual:" + PhaseToHubSpot

// manualKey is the job key of a page of phase.
func manualKey(phase string) string {
	if phase == PhaseToHubSpot {
		return manualOutKey
	}
	return "manual"
}

// busyKeys are the keys whose leased jobs make the live lane leave their school alone.
var busyKeys = []string{manualOutKey}

// ride is the live jobs one page request carries. A nil ride carries none.
type ride struct {
	e    *Engine
	jobs []Job
	k    *leaseKeeper
	kctx context.Context
	xs   []*pending
	log  *recordLog
	// own are the folded emails whose outcomes are the ride's (not on the page's chunk).
	own map[string]bool
}

// leaseRide leases up to max of the school's due live contact and stage jobs and decodes them; a
// nil ride when there are none. The jobs' leases are renewed until finish.
func (e *Engine) leaseRide(ctx context.Context, r *outRun, max int) (*ride, error) {
	jobs, err := e.cfg.Queue.Dequeue(ctx, DequeueOptions{
		Worker:  e.holder + "#ride",
		Max:     max,
		Lease:   e.cfg.Lease,
		Kinds:   []JobKind{JobContact, JobStage},
		Schools: []SchoolID{r.school},
	})
	if err != nil || len(jobs) == 0 {
		return nil, err
	}
	rd := &ride{e: e, jobs: jobs, log: e.newRecordLog(r.school, DirectionToHubSpot), own: map[string]bool{}}
	rd.k, rd.kctx = e.keepLeases(ctx, jobs)
	rd.xs = pendingsOf(jobs, rd.log)
	return rd, nil
}

// context is the context the request runs in: the ride's (cancelled also when a ride job's lease
// is lost) or ctx.
func (rd *ride) context(ctx context.Context) context.Context {
	if rd == nil {
		return ctx
	}
	return rd.kctx
}

// join returns one request's learners, at most limit: the page's next learners (the first used
// of rest), each merged with the ride's copy of the same learner, then the ride's other learners.
func (rd *ride) join(rest []*pending, limit int) (out []*pending, used int) {
	if rd == nil {
		used = min(limit, len(rest))
		return rest[:used], used
	}
	live := make(map[string]*pending, len(rd.xs))
	for _, x := range rd.xs {
		live[x.email] = x
	}
	// The request holds the page's learners taken so far that the ride has not, and every
	// learner of the ride; a page learner the ride holds too adds nothing.
	matched := 0
	for used < len(rest) {
		if live[rest[used].email] != nil {
			matched++
		} else if used-matched+len(rd.xs) >= limit {
			break
		}
		used++
	}
	out = make([]*pending, 0, used-matched+len(rd.xs))
	out = append(out, rest[:used]...)
	for _, p := range rest[:used] {
		x := live[p.email]
		if x == nil {
			continue
		}
		delete(live, p.email)
		// The newer copy wins; a live copy of unknown age (zero at) is taken as the newer, as
		// the change it announces may postdate the page's read.
		if x.learner != nil && (x.at.IsZero() || !x.at.Before(p.at)) {
			p.learner, p.at = x.learner, x.at
		}
		for t := range x.triggers {
			p.triggers[t] = true
		}
	}
	for _, x := range rd.xs {
		if live[x.email] != nil {
			rd.own[x.email] = true
			out = append(out, x)
		}
	}
	return out, used
}

// finish marks the outcomes of the ride's own learners, logged into log from entry mark on, as
// not the page's (they are stored with the page's log, not counted in its progress), writes the
// ride's log (undecodable jobs), then finishes the ride's jobs with the request's err.
func (rd *ride) finish(ctx context.Context, log *recordLog, mark int, err error) {
	if rd == nil {
		return
	}
	for i := mark; i < len(log.entries); i++ {
		if rd.own[FoldEmail(log.entries[i].Email)] {
			if log.others == nil {
				log.others = map[int]bool{}
			}
			log.others[i] = true
		}
	}
	rd.e.writeLog(ctx, rd.log)
	rd.e.finish(ctx, rd.jobs, err)
	rd.k.finished(rd.jobs)
	rd.k.stop()
}

// carryEvents sends the school's due timeline events, which the live lane leaves to a running
// LMS -> HubSpot page (see above), after the page: one batch, as the live lane would.
func (e *Engine) carryEvents(ctx context.Context, school SchoolID) {
	jobs, err := e.cfg.Queue.Dequeue(ctx, DequeueOptions{
		Worker:  e.holder + "#ride",
		Max:     hubspot.BatchLimit,
		Lease:   e.cfg.Lease,
		Kinds:   []JobKind{JobEvent},
		Schools: []SchoolID{school},
	})
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("hubsync: could not lease a school's timeline events after its page", "school", school, "err", err)
		}
		return
	}
	if len(jobs) > 0 {
		e.runBatch(ctx, jobs)
	}
}
