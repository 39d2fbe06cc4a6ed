package hubsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubsync/hubsync/hubspot"
)

// Catching up after downtime.
//
// HubSpot retries a webhook for a limited time, and a host's learner change reports can stop
// (its own LMS webhooks lost, a crashed reporter). A catch-up reads what changed in the missing
// interval, not what exists, and puts each change through the normal path: a HubSpot contact
// becomes an inbound job (same dedupe, blank and conflict rules as a webhook), a learner becomes
// a contact job (same as LearnerChanged). A change seen both by a webhook and by a catch-up is
// written once, since both jobs only write values that differ.
//
// Watermarks. Per school and side the store keeps, as a Checkpoint, the newest change taken in:
// "catchup:hubspot" (a webhook's occurredAt, or the start of the last catch-up) and "catchup:lms"
// (Learner.Updated, or the time LearnerChanged was called, for a Learners that offers
// ChangedLearners). A watermark only moves forward; the intake writes it at most once a
// minute per school and process (watermarkStep), which the overlap margin covers.
//
// Triggers, all of them queueing one JobCatchUp per school and side (key "catchup|<side>", so
// the queue's one-lease-per-key rule runs it once however many processes ask):
//   - silence: the watermark is older than CatchUp.Silence (Run checks at start, the "process
//     starts after being down" case, and every CatchUp.Every; CheckCatchUps is one check);
//   - a gap: a webhook (or a learner change) arrives whose time is more than Silence past the
//     watermark. The intake then leaves the watermark where it was, so the catch-up knows where
//     the gap starts;
//   - by hand: CatchUpSince (the `hubsync catch-up --since` command).
//
// A catch-up reads from the watermark minus CatchUp.Overlap up to the time it starts, then moves
// the watermark to that start. An automatic catch-up that finds the watermark fresh when it runs
// (another process caught up meanwhile) does nothing and records nothing: that is how two
// processes give one catch-up, not two.
//
// Sources, HubSpot side: the Webhooks Journal when CatchUp.Journal is on and the school's offset
// is usable (journal.go, docs/catchup.md), else a CRM search on lastmodifieddate (search lane, 5
// requests/s, 200 a page, past the 10,000-result cap by moving the lower bound; only the mapped
// inbound properties are read). A search catch-up applies every inbound row of a contact it
// finds, since the search does not say which property changed; the blank and conflict rules
// still hold (the contact's lastmodifieddate is the HubSpot side's time). LMS side: the Learners
// implementation's ChangedSince, when it offers ChangedLearners.

// Defaults of the CatchUp fields.
const (
	// CatchUpSilenceDefault is how long a school's intake may take nothing in before a catch-up.
	CatchUpSilenceDefault = time.Hour
	// CatchUpOverlapDefault is how far before the watermark a catch-up starts reading: search
	// indexing lags writes, and the intake writes the watermark at most once a minute.
	CatchUpOverlapDefault = 10 * time.Minute
	// CatchUpEveryDefault is how often Run checks for silence.
	CatchUpEveryDefault = time.Minute
)

// watermarkStep is the least a watermark moves in one write by the intake; CatchUp.Overlap must
// be longer.
const watermarkStep = time.Minute

// CatchUp configures catch-ups after downtime. Its zero value is the defaults: automatic
// catch-ups on, by CRM search.
type CatchUp struct {
	// Silence is how long a school's intake may take nothing in before a catch-up runs, and how
	// far past the watermark a change must be to reveal a gap (CatchUpSilenceDefault). A
	// negative value turns automatic catch-ups off: watermarks are still kept, and CatchUpSince
	// still runs one. A quiet portal costs one search request per Silence.
	Silence time.Duration
	// Overlap is the margin read before the watermark (CatchUpOverlapDefault); more than a
	// minute.
	Overlap time.Duration
	// Every is how often Run checks for silence (CatchUpEveryDefault). Negative: Run checks only
	// when it starts (tests on a self-advancing fake clock, hosts calling CheckCatchUps).
	Every time.Duration
	// Journal makes HubSpot catch-ups read the app's Webhooks Journal (2026-03) from the school's
	// stored offset instead of searching, for apps set up for it (see docs/catchup.md): the
	// app's client credentials get a client-credentials token, the engine subscribes the portal
	// to contact changes when the school has no subscription yet, and the offset is committed
	// with the jobs it produced in one transaction. A school without a usable offset (the first
	// run, an offset older than the journal's 3 days, a journal error the engine cannot read)
	// is caught up by search.
	Journal bool
}

func (c CatchUp) withDefaults() CatchUp {
	if c.Silence == 0 {
		c.Silence = CatchUpSilenceDefault
	}
	if c.Overlap == 0 {
		c.Overlap = CatchUpOverlapDefault
	}
	if c.Every == 0 {
		c.Every = CatchUpEveryDefault
	}
	return c
}

func (c CatchUp) validate() error {
	if c.Overlap != 0 && c.Overlap <= watermarkStep {
		return fmt.Errorf("Config.CatchUp.Overlap is %v: it must be more than %v (the intake moves a watermark a minute at a time), or 0 for %v",
			c.Overlap, watermarkStep, CatchUpOverlapDefault)
	}
	return nil
}

// JobCatchUp carries one catch-up of a school's side (key "catchup|hubspot" or "catchup|lms",
// "|manual" appended for CatchUpSince), on the general lane.
const JobCatchUp JobKind = "catchup"

// CatchUpSide names what a catch-up reads.
type CatchUpSide string

// The sides.
const (
	// CatchUpHubSpot reads HubSpot's contact changes into the LMS.
	CatchUpHubSpot CatchUpSide = "hubspot"
	// CatchUpLMS reads the LMS's learner changes into HubSpot (a Learners with ChangedLearners).
	CatchUpLMS CatchUpSide = "lms"
)

// Why a catch-up was queued.
const (
	reasonSilence = "silence"
	reasonRestart = "restart"
	reasonGap     = "gap"
	reasonManual  = "manual"
)

type catchUpPayload struct {
	Side   CatchUpSide `json:"side"`
	Reason string      `json:"reason"`
	// Since is a by-hand catch-up's start; zero: from the watermark.
	Since time.Time `json:"since,omitzero"`
	// Until is, for a gap, the time of the change that revealed it: the gap is covered once the
	// watermark reaches it.
	Until time.Time `json:"until,omitzero"`
}

// CatchUpReport is what one catch-up did, kept per school and side (the newest) and shown by
// Status and the command.
type CatchUpReport struct {
	Side CatchUpSide `json:"side"`
	// Source is "search" or "journal" (HubSpot side), "lms" (LMS side).
	Source string `json:"source"`
	// Reason is "silence", "restart", "gap" or "manual".
	Reason string `json:"reason"`
	// From and To bound the interval read (From includes the overlap margin).
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Found counts the changes read (contacts or learners; a contact changed twice in the
	// interval counts once for a search, once per event for the journal); Queued those queued,
	// that is, not already queued by a webhook or an earlier catch-up.
	Found  int `json:"found"`
	Queued int `json:"queued"`
	// Skipped counts the learners found that could not be queued (no valid email: LearnerChanged
	// would refuse them too); each is logged with its reason, the email masked.
	Skipped int `json:"skipped,omitempty"`
	// Requests counts the HubSpot requests the catch-up itself sent (search pages, journal reads
	// and files, token refreshes). The inbound jobs it queued then read their contacts as any
	// webhook's do: about Queued/100 batch reads more.
	Requests   int64     `json:"requests"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// Note says why the catch-up read less than asked (nothing maps that way; the journal fell
	// back to search), or is empty.
	Note string `json:"note,omitempty"`
}

// ChangedLearners is an optional interface of a Learners implementation: the learners changed
// since a time, for catching up LMS -> HubSpot after the host's change reports stopped. The
// engine calls it only when the implementation offers it.
type ChangedLearners interface {
	// ChangedSince yields the school's learners whose profile changed at or after since, as far
	// as the implementation can see (its doc comment says what it cannot), each at most once;
	// the first error ends the iteration, yielded with a zero Learner. Errors are judged as the
	// Learners doc comment says.
	ChangedSince(ctx context.Context, school SchoolID, since time.Time) func(yield func(Learner, error) bool)
}

// Checkpoint names of the catch-up state.
func watermarkName(side CatchUpSide) string  { return "catchup:" + string(side) }
func lastReportName(side CatchUpSide) string { return "catchup:" + string(side) + ":last" }

const journalOffsetName = "catchup:journal"

// catchUps is the engine's in-process catch-up state: the watermark each school's intake last
// wrote (so it writes at most once a watermarkStep), and whether Run's first check happened.
type catchUps struct {
	mu      sync.Mutex
	written map[string]time.Time // school|side -> watermark last written or read
	started atomic.Bool
}

func newCatchUps() *catchUps { return &catchUps{written: map[string]time.Time{}} }

func (c *catchUps) fresh(school SchoolID, side CatchUpSide, at time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.written[string(school)+"|"+string(side)]
	return ok && !at.After(w.Add(watermarkStep))
}

func (c *catchUps) note(school SchoolID, side CatchUpSide, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := string(school) + "|" + string(side)
	if at.After(c.written[k]) {
		c.written[k] = at
	}
}

// watermark reads a school's watermark for side; ok is false when none was ever written.
func watermark(ctx context.Context, s Store, school SchoolID, side CatchUpSide) (time.Time, bool, error) {
	cp, err := s.GetCheckpoint(ctx, school, watermarkName(side))
	if errors.Is(err, ErrNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	t, err := time.Parse(time.RFC3339Nano, cp.Cursor)
	if err != nil {
		return time.Time{}, false, nil // unreadable: as if none (the next write repairs it)
	}
	return t, true, nil
}

// advanceWatermark moves a school's watermark for side to t, unless it is already at or past it.
// Two racing writers may both write; the later write can then hold the smaller time, which only
// makes a catch-up read a little more.
func advanceWatermark(ctx context.Context, s Store, school SchoolID, side CatchUpSide, t time.Time) error {
	cur, ok, err := watermark(ctx, s, school, side)
	if err != nil {
		return err
	}
	if ok && !t.After(cur) {
		return nil
	}
	return s.PutCheckpoint(ctx, Checkpoint{School: school, Name: watermarkName(side), Cursor: t.UTC().Format(time.RFC3339Nano)})
}

// noteIntake records the newest change of each portal's webhook events as its schools'
// HubSpot watermark, or queues a catch-up when the events reveal a gap. Failures are logged:
// the intake already queued the events.
func (e *Engine) noteIntake(ctx context.Context, events []hubspot.WebhookEvent) {
	newest := map[int64]time.Time{}
	for _, ev := range events {
		if ev.OccurredAt.After(newest[ev.PortalID]) {
			newest[ev.PortalID] = ev.OccurredAt
		}
	}
	for portal, at := range newest {
		schools, err := e.schoolsOfPortal(ctx, portal)
		if err != nil {
			e.log.Warn("hubsync: could not note the intake's watermark", "portal", portal, "err", err)
			continue
		}
		for _, s := range schools {
			e.noteChange(ctx, s, CatchUpHubSpot, at)
		}
	}
}

// noteLearnerChange records a reported learner change as the school's LMS watermark, for a
// Learners that offers ChangedLearners (others have no LMS catch-up).
func (e *Engine) noteLearnerChange(ctx context.Context, school SchoolID, l Learner) {
	if _, ok := e.cfg.Learners.(ChangedLearners); !ok {
		return
	}
	at := e.clk.Now()
	if !l.Updated.IsZero() && l.Updated.Before(at) {
		at = l.Updated
	}
	e.noteChange(ctx, school, CatchUpLMS, at)
}

// noteChange moves the watermark of school's side to at, or queues a catch-up for the gap when
// at is more than CatchUp.Silence past it (the watermark then stays, marking where the gap
// starts).
func (e *Engine) noteChange(ctx context.Context, school SchoolID, side CatchUpSide, at time.Time) {
	if e.catchups.fresh(school, side, at) {
		return
	}
	err := func() error {
		wm, ok, err := watermark(ctx, e.cfg.Store, school, side)
		if err != nil {
			return err
		}
		if ok && !at.After(wm) {
			e.catchups.note(school, side, wm)
			return nil
		}
		if ok && e.cfg.CatchUp.Silence > 0 && at.Sub(wm) > e.cfg.CatchUp.Silence {
			e.log.Info("hubsync: a gap in the changes taken in; queueing a catch-up", "school", school, "side", side,
				"watermark", wm, "change_at", at)
			e.catchups.note(school, side, at) // ask again at most once a watermarkStep
			return e.queueCatchUp(ctx, school, catchUpPayload{Side: side, Reason: reasonGap, Until: at})
		}
		if err := advanceWatermark(ctx, e.cfg.Store, school, side, at); err != nil {
			return err
		}
		e.catchups.note(school, side, at)
		return nil
	}()
	if err != nil {
		e.log.Warn("hubsync: could not note a watermark", "school", school, "side", side, "err", err)
	}
}

// queueCatchUp queues a catch-up job (see JobCatchUp for its key).
func (e *Engine) queueCatchUp(ctx context.Context, school SchoolID, p catchUpPayload) error {
	b, _ := json.Marshal(p) // strings and times: cannot fail
	key := "catchup|" + string(p.Side)
	if p.Reason == reasonManual {
		key += "|manual"
	}
	if err := e.cfg.Queue.Enqueue(ctx, JobSpec{School: school, Kind: JobCatchUp, Key: key, Payload: b, Priority: PriorityLive}); err != nil {
		return fmt.Errorf("hubsync: queue a catch-up: %w", err)
	}
	e.notify()
	return nil
}

// CatchUpSince queues a catch-up of school's side from since to now, whatever the watermark
// says (the `hubsync catch-up --since` command); a worker (Run or RunOnce) runs it, and
// LastCatchUp then reports it. The error wraps ErrInvalidValue for an unknown side or a since
// not in the past.
func (e *Engine) CatchUpSince(ctx context.Context, school SchoolID, side CatchUpSide, since time.Time) error {
	if side != CatchUpHubSpot && side != CatchUpLMS {
		return fmt.Errorf("%w: catch-up side %q: want %q or %q", ErrInvalidValue, side, CatchUpHubSpot, CatchUpLMS)
	}
	if since.IsZero() || !since.Before(e.clk.Now()) {
		return fmt.Errorf("%w: a catch-up starts in the past, not at %v", ErrInvalidValue, since)
	}
	return e.queueCatchUp(ctx, school, catchUpPayload{Side: side, Reason: reasonManual, Since: since})
}

// LastCatchUp returns the newest catch-up report of school's side; ErrNotFound when none ran.
func (e *Engine) LastCatchUp(ctx context.Context, school SchoolID, side CatchUpSide) (CatchUpReport, error) {
	cp, err := e.cfg.Store.GetCheckpoint(ctx, school, lastReportName(side))
	if err != nil {
		return CatchUpReport{}, err
	}
	var r CatchUpReport
	if err := json.Unmarshal(cp.Data, &r); err != nil {
		return CatchUpReport{}, fmt.Errorf("hubsync: stored catch-up report of %q is unreadable: %w", school, err)
	}
	return r, nil
}

// CheckCatchUps is one silence check (Run makes one when it starts and then every
// CatchUp.Every): for every school with an active connection, and each side it syncs, it queues
// a catch-up when the watermark is older than CatchUp.Silence, and starts the watermark at now
// when there is none yet (nothing is known to catch up from). It returns how many it queued;
// with automatic catch-ups off (Silence < 0) it does nothing.
func (e *Engine) CheckCatchUps(ctx context.Context) (int, error) {
	if e.cfg.CatchUp.Silence < 0 {
		return 0, nil
	}
	reason := reasonSilence
	if e.catchups.started.CompareAndSwap(false, true) {
		reason = reasonRestart
	}
	schools, err := e.cfg.Store.ListSchools(ctx)
	if err != nil {
		return 0, err
	}
	now := e.clk.Now()
	queued := 0
	var errs []error
	for _, s := range schools {
		conn, err := e.cfg.Store.GetConnection(ctx, s)
		if errors.Is(err, ErrNotFound) || (err == nil && !conn.Active) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sides := []CatchUpSide{CatchUpHubSpot}
		if _, ok := e.cfg.Learners.(ChangedLearners); ok {
			sides = append(sides, CatchUpLMS)
		}
		for _, side := range sides {
			wm, ok, err := watermark(ctx, e.cfg.Store, s, side)
			switch {
			case err != nil:
				errs = append(errs, err)
			case !ok:
				errs = append(errs, advanceWatermark(ctx, e.cfg.Store, s, side, now))
			case now.Sub(wm) > e.cfg.CatchUp.Silence:
				if err := e.queueCatchUp(ctx, s, catchUpPayload{Side: side, Reason: reason}); err != nil {
					errs = append(errs, err)
				} else {
					queued++
				}
			}
		}
	}
	return queued, errors.Join(errs...)
}

// catchUpLoop checks for silence (CheckCatchUps) when Run starts and then every CatchUp.Every
// of the engine's clock, until ctx ends.
func (e *Engine) catchUpLoop(ctx context.Context) {
	for {
		if n, err := e.CheckCatchUps(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("hubsync: catch-up check failed", "queued", n, "err", err)
		} else if n > 0 {
			e.log.Info("hubsync: catch-ups queued", "schools", n)
		}
		if e.cfg.CatchUp.Every < 0 || e.cfg.CatchUp.Silence < 0 {
			return
		}
		t := e.clk.NewTimer(e.cfg.CatchUp.Every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// handleCatchUp runs one catch-up job.
func (e *Engine) handleCatchUp(ctx context.Context, school SchoolID, j Job) error {
	var p catchUpPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return Permanent(fmt.Errorf("hubsync: undecodable catch-up job: %w", err))
	}
	start := e.clk.Now()
	wm, ok, err := watermark(ctx, e.cfg.Store, school, p.Side)
	if err != nil {
		return err
	}
	from := p.Since
	if from.IsZero() {
		switch {
		case !ok:
			return advanceWatermark(ctx, e.cfg.Store, school, p.Side, start) // nothing known to catch up from
		case p.Reason == reasonGap && !wm.Before(p.Until):
			e.log.Debug("hubsync: the gap was caught up meanwhile", "school", school, "side", p.Side)
			return nil
		case p.Reason != reasonGap && e.cfg.CatchUp.Silence > 0 && start.Sub(wm) <= e.cfg.CatchUp.Silence:
			e.log.Debug("hubsync: caught up meanwhile (another process?)", "school", school, "side", p.Side)
			return nil
		}
		from = wm.Add(-e.cfg.CatchUp.Overlap)
	}
	rep := CatchUpReport{Side: p.Side, Reason: p.Reason, From: from, To: start, StartedAt: start}
	var n atomic.Int64
	cctx := hubspot.WithRequestCount(ctx, &n)
	switch p.Side {
	case CatchUpLMS:
		err = e.catchUpLMS(cctx, school, &rep)
	default:
		err = e.catchUpHubSpot(cctx, school, &rep)
	}
	rep.Requests = n.Load()
	if err != nil {
		return err
	}
	rep.FinishedAt = e.clk.Now()
	data, _ := json.Marshal(rep)
	if err := e.cfg.Store.PutCheckpoint(ctx, Checkpoint{School: school, Name: lastReportName(p.Side), Data: data}); err != nil {
		return err
	}
	if err := advanceWatermark(ctx, e.cfg.Store, school, p.Side, start); err != nil {
		return err
	}
	e.catchups.note(school, p.Side, start)
	e.log.Info("hubsync: caught up", "school", school, "side", p.Side, "source", rep.Source, "reason", rep.Reason,
		"from", rep.From, "to", rep.To, "found", rep.Found, "queued", rep.Queued, "skipped", rep.Skipped, "hubspot_requests", rep.Requests)
	return nil
}

// catchUpHubSpot reads the contacts changed in rep's interval and queues an inbound job for each
// (every row: the source does not say which property changed).
func (e *Engine) catchUpHubSpot(ctx context.Context, school SchoolID, rep *CatchUpReport) error {
	r, idle, err := e.newInRun(ctx, school)
	if err != nil {
		return err
	}
	if idle {
		rep.Source, rep.Note = "none", "nothing maps to the LMS and new-learner creation is off"
		return nil
	}
	if e.cfg.CatchUp.Journal {
		done, note, err := e.catchUpJournal(ctx, school, r, rep)
		if done || err != nil {
			return err
		}
		rep.Note = note // fall back to search
	}
	rep.Source = "search"
	var batch []webhookItem
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		queued, err := e.markAndQueueCount(ctx, batch)
		rep.Queued += queued
		batch = batch[:0]
		return err
	}
	for c, err := range r.p.client.SearchModifiedSince(ctx, rep.From, r.props()) {
		if err != nil {
			return err
		}
		rep.Found++
		at := c.UpdatedAt
		if t, ok := parseTime(c.Properties["lastmodifieddate"]); ok {
			at = t
		}
		batch = append(batch, catchUpItem(school, c.ID, at, nil))
		if len(batch) >= 200 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// parseTime reads a HubSpot datetime property (ISO 8601 or epoch milliseconds).
func parseTime(v string) (time.Time, bool) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// catchUpItem is the inbound job of a contact a catch-up found, deduplicated per contact and
// change time (props nil: every row).
func catchUpItem(school SchoolID, contactID string, at time.Time, props []string) webhookItem {
	prop := ""
	if len(props) == 1 {
		prop = props[0]
	}
	payload, _ := json.Marshal(inboundPayload{ContactID: contactID, OccurredAt: at, Properties: props})
	return webhookItem{
		dedupe: fmt.Sprintf("%s|catchup|%s|%s|%d", school, contactID, prop, at.UnixMilli()),
		job:    JobSpec{School: school, Kind: JobInbound, Key: inboundKey(contactID, prop), Payload: payload, Priority: PriorityLive},
	}
}

// markAndQueueCount is markAndQueue reporting how many items were seen for the first time.
func (e *Engine) markAndQueueCount(ctx context.Context, items []webhookItem) (int, error) {
	now := e.clk.Now()
	queued := 0
	run := func(ctx context.Context, s Store, q Queue) error {
		queued = 0
		var jobs []JobSpec
		for _, it := range items {
			first, err := s.MarkWebhookSeen(ctx, "hubspot", it.dedupe, now)
			if err != nil {
				return err
			}
			if first {
				jobs = append(jobs, it.job)
			}
		}
		queued = len(jobs)
		return q.Enqueue(ctx, jobs...)
	}
	var err error
	if tx, ok := e.cfg.Store.(Transactor); ok {
		err = tx.RunInTx(ctx, run)
	} else {
		err = run(ctx, e.cfg.Store, e.cfg.Queue) // a crash between mark and queue loses nothing a rerun would not find again
	}
	if err == nil && queued > 0 {
		e.notify()
	}
	return queued, err
}

// catchUpLMS reads the learners changed in rep's interval from a Learners that offers
// ChangedLearners and queues each as LearnerChanged does.
func (e *Engine) catchUpLMS(ctx context.Context, school SchoolID, rep *CatchUpReport) error {
	rep.Source = "lms"
	cl, ok := e.cfg.Learners.(ChangedLearners)
	if !ok {
		rep.Note = "the LMS adapter cannot list changed learners"
		return nil
	}
	settings, err := e.Settings(ctx, school)
	if err != nil {
		return err
	}
	if settings.Mode.OrDefault() == ModeToLMS {
		rep.Note = "the school syncs HubSpot -> LMS only"
		return nil
	}
	var jobs []JobSpec
	flush := func() error {
		if len(jobs) == 0 {
			return nil
		}
		err := e.cfg.Queue.Enqueue(ctx, jobs...)
		if err == nil {
			rep.Queued += len(jobs)
			e.notify()
		}
		jobs = jobs[:0]
		return err
	}
	for l, err := range cl.ChangedSince(ctx, school, rep.From) {
		if err != nil {
			return err
		}
		rep.Found++
		email := FoldEmail(l.Email)
		var job JobSpec
		err := ValidateEmail(email)
		if err == nil {
			l.Email = email
			job, err = contactJob(school, l, time.Time{}) // read pages ago: when is not known
		}
		if err != nil {
			// LearnerChanged would refuse it too; say so instead of dropping it silently.
			rep.Skipped++
			e.log.Warn("hubsync: LMS catch-up skipped a learner", "school", school, "learner_id", l.ID, "reason", err)
			continue
		}
		if jobs = append(jobs, job); len(jobs) >= 200 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
