package hubsync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hubsync/hubsync/hubspot"
)

// Manual sync.
//
// A manual sync walks every learner (and, for new-learner creation, every contact) following the
// school's mode and mappings, in the background, one page at a time. Each page is a queued job
// (PriorityBackfill, so live changes of the same school go first, within the same portal budget),
// and after each page the position and counts are saved in a checkpoint together with the next
// page's job, in one transaction: a crash or restart resumes at the page it stopped in, and a page
// done twice sends nothing twice (values already written are not sent again, once-events are
// ledgered). Memory stays flat: one page at a time, never all learners.
//
// Phases, by direction:
//   - LMS -> HubSpot: pages of learners (the LMS's page size), batch-upserted 100 at a time; only
//     values that differ from what the engine last wrote are sent, so a new mapping is backfilled
//     and a learner change that live sync missed is recovered.
//   - HubSpot -> LMS: pages of learners again (the LMS pages cheaply; HubSpot reads 100 contacts
//     per call by email), writing the mapped inbound values that differ; then, when new-learner
//     creation is on, pages of HubSpot contacts, creating a learner for each contact no learner
//     matches.
//   - Two-way: both, each row in its own direction, with the conflict rule of inbound.go.

// ManualState is where a manual sync stands.
type ManualState string

// The states of a manual sync.
const (
	ManualRunning   ManualState = "in_progress"
	ManualDone      ManualState = "done"
	ManualFailed    ManualState = "failed"
	ManualCancelled ManualState = "cancelled"
)

// Manual sync phases.
const (
	PhaseToHubSpot      = "lms_to_hubspot"
	PhaseToLMS          = "hubspot_to_lms"
	PhaseCreateLearners = "create_learners"
)

// ErrSyncRunning is returned by StartManualSync while the school's manual sync runs.
var ErrSyncRunning = errors.New("hubsync: a manual sync is already running for this school")

const (
	manualCheckpoint   = "manual"
	manualMaxFailures  = 20 // failure reasons kept in the progress
	manualMaxAttempts  = 5  // tries of one page before the sync is marked failed
	manualOutboundSize = hubspot.BatchLimit
)

// ManualProgress is a manual sync's progress, readable at any time (Engine.ManualSync) and pushed
// to Config.OnProgress after every page.
type ManualProgress struct {
	Run       int         `json:"run"`
	State     ManualState `json:"state"`
	Direction Direction   `json:"direction"`
	// Phase is the phase running now (see the Phase constants); Phases lists them all in order.
	Phase      string    `json:"phase"`
	Phases     []string  `json:"phases"`
	StartedAt  time.Time `json:"started_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Total is the number of records in the current phase when the source knows it, else -1;
	// PhaseDone counts the records of the current phase done so far.
	Total     int `json:"total"`
	PhaseDone int `json:"phase_done"`
	// Done counts every record handled, all phases together, and the outcome counters split it:
	// each record has exactly one outcome, so Created+Updated+Unchanged+Skipped+Failed == Done.
	Done      int `json:"done"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
	Failed    int `json:"failed"`
	// Partial counts the records created or updated with some fields refused (a value that does
	// not convert or that the LMS's rules refuse); they are counted in Created or Updated too.
	Partial int `json:"partial"`
	// Failures holds the first failure reasons (emails masked), partial records' included.
	Failures []string `json:"failures,omitempty"`
	// Active is the time the sync has worked: from its start to its last page, less the pauses
	// (no engine running it: "hubsync sync" interrupted, then resumed). Rate is records per
	// second of Active; ETA the time left in the current phase at that rate (zero when unknown).
	// Rate and ETA are computed when the progress is read. In JSON (see MarshalJSON) they are
	// "active_seconds", "rate" and "eta_seconds".
	Active time.Duration `json:"-"`
	Rate   float64       `json:"rate"`
	ETA    time.Duration `json:"-"`
	Error  string        `json:"error,omitempty"`
}

type manualPayload struct {
	Run    int    `json:"run"`
	Phase  string `json:"phase"`
	Cursor string `json:"cursor"`
	// Carry holds the learners the page before read but left for this page's first request, so
	// that every request of the phase but its last is a full batch (LMS -> HubSpot; the job's
	// kind is then JobManualCarry).
	Carry []contactPayload `json:"carry,omitempty"`
}

// StartManualSync starts a manual sync of school in the background: dir "" follows the school's
// mode (LMS -> HubSpot, HubSpot -> LMS, or both ways), or names one direction. It returns the
// initial progress; ErrSyncRunning when one is already running; ErrNotConnected when the school
// has no HubSpot connection.
func (e *Engine) StartManualSync(ctx context.Context, school SchoolID, dir Direction) (ManualProgress, error) {
	if err := dir.Validate(); err != nil {
		return ManualProgress{}, err
	}
	if _, err := e.Connection(ctx, school); err != nil {
		return ManualProgress{}, err
	}
	settings, err := e.Settings(ctx, school)
	if err != nil {
		return ManualProgress{}, err
	}
	if dir == "" {
		dir = EffectiveDirection(settings.Mode, DirectionBoth)
	}
	prev, err := e.loadManual(ctx, school)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return ManualProgress{}, err
	}
	if prev.State == ManualRunning {
		return prev, ErrSyncRunning
	}
	run := prev.Run + 1
	// Two racing starts: the once-ledger lets exactly one claim this run number.
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	me := hex.EncodeToString(nonce[:])
	owner, err := e.cfg.Store.ClaimOnce(ctx, school, "manual-run|"+strconv.Itoa(run), me)
	if err != nil {
		return ManualProgress{}, err
	}
	if owner != me {
		return prev, ErrSyncRunning
	}
	phases := manualPhases(dir, settings)
	now := e.clk.Now()
	prog := ManualProgress{Run: run, State: ManualRunning, Direction: dir, Phase: phases[0], Phases: phases,
		StartedAt: now, UpdatedAt: now, Total: -1}
	if err := e.saveManual(ctx, school, prog, "", &manualPayload{Run: run, Phase: phases[0]}); err != nil {
		return ManualProgress{}, err
	}
	e.pages.mark(school, run, now)
	e.log.Info("hubsync: manual sync started", "school", school, "run", run, "direction", dir)
	e.notify()
	return prog.withRate(now), nil
}

// CancelManualSync stops the school's running manual sync after the page in flight. Cancelling
// when none runs does nothing.
func (e *Engine) CancelManualSync(ctx context.Context, school SchoolID) error {
	prog, cursor, err := e.loadManualCursor(ctx, school)
	if errors.Is(err, ErrNotFound) || (err == nil && prog.State != ManualRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	prog.State, prog.FinishedAt, prog.UpdatedAt = ManualCancelled, e.clk.Now(), e.clk.Now()
	if err := e.saveManual(ctx, school, prog, cursor, nil); err != nil {
		return err
	}
	e.log.Info("hubsync: manual sync cancelled", "school", school, "run", prog.Run)
	e.progress(school, prog)
	return nil
}

// ManualSync returns the school's latest manual sync progress (running or finished). ErrNotFound
// when the school never ran one.
func (e *Engine) ManualSync(ctx context.Context, school SchoolID) (ManualProgress, error) {
	p, err := e.loadManual(ctx, school)
	if err != nil {
		return ManualProgress{}, err
	}
	return p.withRate(e.clk.Now()), nil
}

func (e *Engine) loadManual(ctx context.Context, school SchoolID) (ManualProgress, error) {
	p, _, err := e.loadManualCursor(ctx, school)
	return p, err
}

func (e *Engine) loadManualCursor(ctx context.Context, school SchoolID) (ManualProgress, string, error) {
	cp, err := e.cfg.Store.GetCheckpoint(ctx, school, manualCheckpoint)
	if err != nil {
		return ManualProgress{}, "", err
	}
	var p ManualProgress
	if err := json.Unmarshal(cp.Data, &p); err != nil {
		return ManualProgress{}, "", fmt.Errorf("hubsync: manual sync checkpoint of %s is unreadable: %w", school, err)
	}
	return p, cp.Cursor, nil
}

// saveManual stores the progress and cursor and, when next is set, queues the next page, in one
// transaction when the store offers one.
func (e *Engine) saveManual(ctx context.Context, school SchoolID, p ManualProgress, cursor string, next *manualPayload) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	cp := Checkpoint{School: school, Name: manualCheckpoint, Cursor: cursor, Data: data}
	var job []JobSpec
	if next != nil {
		cp.Cursor = next.Cursor
		b, _ := json.Marshal(next)
		kind := JobManual
		if len(next.Carry) > 0 {
			kind = JobManualCarry
		}
		job = append(job, JobSpec{School: school, Kind: kind, Key: manualKey(next.Phase), Payload: b, Priority: PriorityBackfill})
	}
	if tx, ok := e.cfg.Store.(Transactor); ok {
		return tx.RunInTx(ctx, func(ctx context.Context, s Store, q Queue) error {
			if err := s.PutCheckpoint(ctx, cp); err != nil {
				return err
			}
			if len(job) == 0 {
				return nil
			}
			return q.Enqueue(ctx, job...)
		})
	}
	// Without a transaction: queue, then checkpoint. A crash in between leaves a job whose cursor
	// is ahead of the checkpoint; handleManual accepts it (see there), so the sync never stalls.
	if len(job) > 0 {
		if err := e.cfg.Queue.Enqueue(ctx, job...); err != nil {
			return err
		}
	}
	return e.cfg.Store.PutCheckpoint(ctx, cp)
}

func (e *Engine) progress(school SchoolID, p ManualProgress) {
	e.metrics.manual(context.Background(), school, p)
	if e.cfg.OnProgress != nil {
		e.cfg.OnProgress(school, p.withRate(e.clk.Now()))
	}
}

// handleManual runs one page of a manual sync.
func (e *Engine) handleManual(ctx context.Context, school SchoolID, j Job) error {
	var pl manualPayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil {
		e.log.Error("hubsync: undecodable manual sync job dropped", "school", school, "err", err)
		return nil
	}
	prog, cursor, err := e.loadManualCursor(ctx, school)
	if err != nil {
		return err
	}
	if prog.Run != pl.Run || prog.State != ManualRunning || prog.Phase != pl.Phase {
		return nil // cancelled, superseded, or a page of a phase already finished
	}
	if pl.Cursor != cursor {
		// A page already done (its job ran again after the checkpoint moved on), unless the
		// store has no transactions and the checkpoint lags the job: then the job is right.
		if _, tx := e.cfg.Store.(Transactor); tx {
			return nil
		}
	}
	start := e.clk.Now()
	res, err := e.manualPage(ctx, school, pl.Phase, pl.Cursor, pl.Carry)
	if err != nil {
		return e.manualPageFailed(ctx, school, j, prog, cursor, err)
	}
	// The sync may have been cancelled while this page ran: keep the cancellation.
	if latest, _, lerr := e.loadManualCursor(ctx, school); lerr == nil && (latest.Run != prog.Run || latest.State != ManualRunning) {
		return nil
	}
	prog.add(res)
	prev := prog.UpdatedAt
	prog.UpdatedAt = e.clk.Now()
	prog.Active += e.pages.active(school, prog.Run, prev, start, prog.UpdatedAt)
	nextJob := prog.advance(pl.Phase, res.next)
	if nextJob != nil && nextJob.Phase == pl.Phase {
		nextJob.Carry = res.carry
	}
	if prog.State == ManualDone {
		e.log.Info("hubsync: manual sync done", "school", school, "run", prog.Run, "done", prog.Done, "failed", prog.Failed)
	}
	if err := e.saveManual(ctx, school, prog, pl.Cursor, nextJob); err != nil {
		return err
	}
	e.progress(school, prog)
	return nil
}

// manualPageFailed decides what a failed page does to its sync. A page that keeps failing for its
// own sake (or fails permanently) ends the sync as failed, naming the error, instead of being
// dead-lettered by the queue; work that merely waits (an outage, a rate limit, a lost connection)
// goes back to finish, which puts it back however long it takes.
func (e *Engine) manualPageFailed(ctx context.Context, school SchoolID, j Job, prog ManualProgress, cursor string, err error) error {
	v := judge(err, failureInput{now: e.clk.Now(), maxBackoff: e.cfg.MaxBackoff})
	if !(v.act == actRetry && j.Attempts+1 >= manualMaxAttempts) && v.act != actKill {
		return err
	}
	prog.State, prog.Error, prog.FinishedAt, prog.UpdatedAt = ManualFailed, err.Error(), e.clk.Now(), e.clk.Now()
	e.log.Error("hubsync: manual sync failed", "school", school, "run", prog.Run, "err", err)
	if serr := e.saveManual(ctx, school, prog, cursor, nil); serr != nil {
		return serr
	}
	e.progress(school, prog)
	return nil
}

// advance moves the progress past a finished page of phase whose next cursor is next, and returns
// the job of the page to run next: the next page of the phase, the first page of the next phase,
// or nil when the sync is done (State is then ManualDone).
func (p *ManualProgress) advance(phase, next string) *manualPayload {
	if next != "" {
		return &manualPayload{Run: p.Run, Phase: phase, Cursor: next}
	}
	i := 0
	for i < len(p.Phases) && p.Phases[i] != phase {
		i++
	}
	if i+1 < len(p.Phases) {
		p.Phase, p.PhaseDone, p.Total = p.Phases[i+1], 0, -1
		return &manualPayload{Run: p.Run, Phase: p.Phase}
	}
	p.State, p.FinishedAt = ManualDone, p.UpdatedAt
	return nil
}

// pageResult is what one page of a manual sync did.
type pageResult struct {
	counts outcomeCounts
	// handled is how many records the page held; next the cursor of the next page ("" when the
	// phase is done); total the phase's record count when the source knows it, else -1.
	handled int
	next    string
	total   int
	// carry are the learners read but left for the next page's first request.
	carry []contactPayload
}

// add counts a page into the progress.
func (p *ManualProgress) add(res pageResult) {
	p.Done += res.handled
	p.PhaseDone += res.handled
	p.Created += res.counts.byOutcome[OutcomeCreated]
	p.Updated += res.counts.byOutcome[OutcomeUpdated]
	p.Unchanged += res.counts.byOutcome[OutcomeUnchanged]
	p.Skipped += res.counts.byOutcome[OutcomeSkipped]
	p.Failed += res.counts.byOutcome[OutcomeFailed]
	p.Partial += res.counts.partial
	for _, r := range res.counts.reasons {
		if len(p.Failures) < manualMaxFailures {
			p.Failures = append(p.Failures, r)
		}
	}
	if res.total >= 0 {
		p.Total = res.total
	}
}

// manualPage runs one page of a phase.
func (e *Engine) manualPage(ctx context.Context, school SchoolID, phase, cursor string, carry []contactPayload) (pageResult, error) {
	switch phase {
	case PhaseToHubSpot:
		return e.manualToHubSpot(ctx, school, cursor, carry, nil)
	case PhaseToLMS:
		return e.manualToLMS(ctx, school, cursor, nil)
	case PhaseCreateLearners:
		return e.manualCreate(ctx, school, cursor, nil)
	}
	return pageResult{}, fmt.Errorf("hubsync: unknown manual sync phase %q", phase)
}

// outcomeCounts is a page's tally.
type outcomeCounts struct {
	byOutcome map[LogOutcome]int
	partial   int
	reasons   []string
}

func (c *outcomeCounts) add(logs []SyncLogEntry) {
	if c.byOutcome == nil {
		c.byOutcome = map[LogOutcome]int{}
	}
	for _, l := range logs {
		c.byOutcome[l.Outcome]++
		// A record written with some fields refused is listed too: its reason names them.
		part := (l.Outcome == OutcomeCreated || l.Outcome == OutcomeUpdated) && strings.HasPrefix(l.Reason, "partial: ")
		if part {
			c.partial++
		}
		if (l.Outcome == OutcomeFailed || part) && len(c.reasons) < manualMaxFailures {
			c.reasons = append(c.reasons, MaskEmail(l.Email)+": "+l.Reason)
		}
	}
}

// prefetch is a learner page being read ahead, while the page before it is written.
type prefetch struct {
	cursor string
	at     time.Time // when the read started
	done   chan struct{}
	page   LearnerPage
	err    error
}

// listPage returns the learner page at cursor, from the read-ahead when it has it, and starts
// reading the page after it: the LMS read of page k+1 overlaps the HubSpot writes of page k, so a
// manual sync runs at the slower of the two limits instead of their sum.
func (e *Engine) listPage(ctx context.Context, school SchoolID, cursor string) (LearnerPage, error) {
	pf := e.schools.takePrefetch(school, cursor)
	var page LearnerPage
	var err error
	if pf != nil {
		select {
		case <-pf.done:
			page, err = pf.page, pf.err
		case <-ctx.Done():
			return LearnerPage{}, ctx.Err()
		}
	}
	if pf == nil || err != nil {
		at := e.clk.Now()
		page, err = e.cfg.Learners.ListPage(ctx, school, cursor)
		page.readAt = at
	} else {
		page.readAt = pf.at
	}
	if err != nil {
		return LearnerPage{}, fmt.Errorf("hubsync: list learners: %w", err)
	}
	if page.Next != "" {
		next := &prefetch{cursor: page.Next, done: make(chan struct{}), at: e.clk.Now()}
		e.schools.keepPrefetch(school, next)
		go func() {
			defer close(next.done)
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			next.page, next.err = e.cfg.Learners.ListPage(pctx, school, next.cursor)
		}()
	}
	return page, nil
}

// manualToHubSpot runs one page of the LMS -> HubSpot phase; with a plan (a dry run) it writes
// nothing and the plan collects what it would have done.
func (e *Engine) manualToHubSpot(ctx context.Context, school SchoolID, cursor string, carry []contactPayload, plan *dryPlan) (pageResult, error) {
	page, err := e.pageFor(ctx, school, cursor, plan)
	if err != nil {
		return pageResult{}, err
	}
	r, err := e.newOutRun(ctx, school)
	if err != nil {
		return pageResult{}, err
	}
	r.plan = plan
	defer plan.collect(e, ctx, r.log)
	seen := map[string]bool{}
	xs := make([]*pending, 0, len(carry)+len(page.Learners))
	// The learners the page before left for this one go first. One of them also on this page
	// is sent once, with this page's (newer) copy, and counted once.
	carried := make(map[string]*pending, len(carry))
	for i := range carry {
		c := &carry[i]
		email := FoldEmail(c.Learner.Email)
		if email == "" || carried[email] != nil {
			continue // cannot happen: its page checked it
		}
		x := &pending{email: email, learner: &c.Learner, at: c.At, triggers: map[LifecycleTrigger]bool{}}
		carried[email] = x
		xs = append(xs, x)
	}
	handled := len(xs) + len(page.Learners)
	// The page's copies count as read just before its read started: a live change announced at
	// that same instant (a clock that did not tick, or ticks coarser than the state's
	// microseconds) may have been made after the LMS served the page, and its copy wins the tie.
	readAt := page.readAt
	if !readAt.IsZero() {
		readAt = readAt.Add(-time.Microsecond)
	}
	for i := range page.Learners {
		l := page.Learners[i]
		email := FoldEmail(l.Email)
		switch {
		case email == "":
			r.log.addLearner(l.ID, OutcomeSkipped, badEmailReason(email))
		case ValidateEmail(email) != nil:
			r.log.add(email, OutcomeSkipped, badEmailReason(email))
		case seen[email]:
			r.log.add(email, OutcomeSkipped, "a second learner with this email on the same page")
		case carried[email] != nil:
			seen[email] = true
			x := carried[email]
			x.learner, x.at = &l, readAt
			handled--
		default:
			seen[email] = true
			xs = append(xs, &pending{email: email, learner: &l, at: readAt, triggers: map[LifecycleTrigger]bool{}})
		}
	}
	// One request per chunk of the page; each also carries the school's due live changes (a
	// ride, engine_ride.go), which the live lane leaves to this page while it runs.
	// A page but the phase's last sends full batches only, and leaves the rest to the next.
	last := page.Next == "" || plan != nil
	var carryOut []contactPayload
	for start, first := 0, true; first || start < len(xs); first = false {
		if !last && len(xs)-start < manualOutboundSize {
			for _, x := range xs[start:] {
				carryOut = append(carryOut, contactPayload{Learner: *x.learner, At: x.at})
			}
			break
		}
		var rd *ride
		if plan == nil {
			if rd, err = e.leaseRide(ctx, r, rideMax); err != nil {
				return pageResult{}, err
			}
		}
		chunk, used := rd.join(xs[start:], manualOutboundSize)
		if len(chunk) == 0 {
			// Nothing to send: a ride of undecodable jobs only is logged and done, as the live
			// lane does with them, instead of keeping its leases renewed.
			rd.finish(ctx, r.log, len(r.log.entries), nil)
			break
		}
		mark := len(r.log.entries)
		err := r.push(rd.context(ctx), chunk)
		rd.finish(ctx, r.log, mark, err)
		if err != nil {
			return pageResult{}, err
		}
		start += used
	}
	if plan == nil {
		e.carryEvents(ctx, school)
	}
	res := pageDone(r.log, handled-len(carryOut), page.Next, page.Total)
	res.carry = carryOut
	return res, nil
}

// badEmailReason is the reason a learner whose email HubSpot would refuse is skipped with; it
// names the address masked.
func badEmailReason(email string) string {
	return reasonBadEmail + ValidateEmail(email).Error()
}

// pageDone tallies a finished page.
func pageDone(log *recordLog, handled int, next string, total int) pageResult {
	res := pageResult{handled: handled, next: next, total: total}
	res.counts.add(log.own())
	return res
}

func (e *Engine) manualToLMS(ctx context.Context, school SchoolID, cursor string, plan *dryPlan) (pageResult, error) {
	r, idle, err := e.newInRun(ctx, school)
	if err != nil {
		return pageResult{}, err
	}
	r.plan = plan
	page, err := e.pageFor(ctx, school, cursor, plan)
	if err != nil {
		return pageResult{}, err
	}
	defer plan.collect(e, ctx, r.log)
	if idle || len(r.rows) == 0 {
		// Every record still gets its one outcome, so the counts add up to Done.
		for _, l := range page.Learners {
			r.log.add(FoldEmail(l.Email), OutcomeSkipped, "no valid mapping row writes to the LMS")
		}
		return pageDone(r.log, len(page.Learners), page.Next, page.Total), nil
	}
	props := r.props()
	for start := 0; start < len(page.Learners); start += hubspot.BatchLimit {
		var learners []Learner
		emails := make([]string, 0, hubspot.BatchLimit)
		for _, l := range page.Learners[start:min(start+hubspot.BatchLimit, len(page.Learners))] {
			email := FoldEmail(l.Email)
			if ValidateEmail(email) != nil {
				// HubSpot would refuse the address: say so, rather than "no contact".
				if email == "" {
					r.log.addLearner(l.ID, OutcomeSkipped, badEmailReason(email))
				} else {
					r.log.add(email, OutcomeSkipped, badEmailReason(email))
				}
				continue
			}
			learners = append(learners, l)
			emails = append(emails, email)
		}
		if len(emails) == 0 {
			continue
		}
		contacts, err := r.p.client.BatchReadByEmail(ctx, emails, props)
		if err != nil {
			return pageResult{}, err
		}
		plan.overlay(contacts, emails, e.clk.Now())
		for _, l := range learners {
			ct, ok := contacts[FoldEmail(l.Email)]
			if !ok {
				r.log.add(FoldEmail(l.Email), OutcomeSkipped, reasonNoContact)
				continue
			}
			note, skip, err := r.manualNote(ctx, ct, l)
			if err != nil {
				return pageResult{}, err
			}
			if skip {
				r.log.add(FoldEmail(l.Email), OutcomeSkipped, note)
				continue
			}
			if err := r.applyTo(ctx, ct, ct.UpdatedAt, l, "", note, r.rows); err != nil {
				return pageResult{}, err
			}
		}
	}
	return pageDone(r.log, len(page.Learners), page.Next, page.Total), nil
}

// manualNote says how the contact a learner's email found matched it, for the reason of the
// learner's entry: by an additional email, or with a collision; skip is true when the contact's
// own email is another learner's (that learner is written, as in the live path) or its
// additional emails match two learners and none has its email (neither is written).
func (r *inRun) manualNote(ctx context.Context, ct hubspot.Contact, l Learner) (note string, skip bool, err error) {
	email, primary := FoldEmail(l.Email), FoldEmail(ct.Properties["email"])
	if primary == email {
		note, err = r.collisions(ctx, ct, primary, l)
		return note, false, err
	}
	other, err := r.e.cfg.Learners.GetByEmail(ctx, r.school, primary)
	switch {
	case err == nil && other.ID != l.ID:
		return fmt.Sprintf("collision: contact %s's email %s matches another learner and its additional email %s matches this one; this learner was not written: merge the learners or remove the address in HubSpot",
			ct.ID, MaskEmail(primary), MaskEmail(email)), true, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return "", false, err
	}
	// No learner has the contact's email: as live, two learners under its additional emails
	// are ambiguous and neither is written.
	if _, _, err := r.match(ctx, ct, primary); errors.Is(err, errAmbiguous) {
		return "contact " + ct.ID + ": " + err.Error(), true, nil
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return "", false, err
	}
	return "matched by additional email " + MaskEmail(email), false, nil
}

func (e *Engine) manualCreate(ctx context.Context, school SchoolID, cursor string, plan *dryPlan) (pageResult, error) {
	r, idle, err := e.newInRun(ctx, school)
	if err != nil || idle {
		return pageResult{total: -1}, err
	}
	r.plan = plan
	contacts, next, err := r.p.client.ListContactsPage(ctx, hubspot.ListOptions{Properties: r.props()}, cursor)
	if err != nil {
		return pageResult{}, err
	}
	defer plan.collect(e, ctx, r.log)
	emails := make([]string, 0, len(contacts))
	for _, ct := range contacts {
		if email := FoldEmail(ct.Properties["email"]); email != "" {
			emails = append(emails, email)
		}
	}
	known, err := getStates(ctx, e.cfg.Store, school, emails)
	if err != nil {
		return pageResult{}, err
	}
	for _, ct := range contacts {
		email := FoldEmail(ct.Properties["email"])
		// A contact the learner walk already matched has sync state: nothing to create.
		if _, ok := known[email]; ok || plan.matched(email) {
			r.log.add(email, OutcomeUnchanged, "")
			continue
		}
		if err := r.apply(ctx, ct, ct.UpdatedAt, r.rows); err != nil {
			return pageResult{}, err
		}
	}
	return pageDone(r.log, len(contacts), next, -1), nil
}
