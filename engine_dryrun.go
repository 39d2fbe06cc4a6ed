package hubsync

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hubsync/hubsync/hubspot"
)

// Dry run: a manual sync that reads both sides and writes nothing.
//
// DryRun walks the same pages through the same code as a manual sync (engine_manual.go), with a
// plan in place of every write: where the sync would batch-upsert contacts, the dry run reads
// them (one batch read per 100, so it can say create or update and show HubSpot's current
// values); where it would write a learner or create one, it notes the values. No HubSpot write, no
// LMS write, no sync state, no sync log entry, no sync health, no queued job; the manual sync's
// checkpoint is not touched (a dry run keeps none: it runs in the caller, and an interrupted one
// starts over). Its reads go through the school's own HubSpot client and the Learners port, so
// they count against the same budgets as live work and the real run.
//
// What the plan cannot know: a record HubSpot or the LMS would refuse when written (the real run
// logs it failed where the plan says create or update), and changes made between the dry run and
// the real run.

// PlanAction is what a sync would do to one record.
type PlanAction string

// The plan's actions; each matches one LogOutcome of the real run.
const (
	PlanCreate    PlanAction = "create"
	PlanUpdate    PlanAction = "update"
	PlanUnchanged PlanAction = "unchanged"
	PlanSkip      PlanAction = "skip"
	PlanFail      PlanAction = "fail"
)

// Outcome is the sync log outcome the real run records for the action.
func (a PlanAction) Outcome() LogOutcome {
	return map[PlanAction]LogOutcome{PlanCreate: OutcomeCreated, PlanUpdate: OutcomeUpdated, PlanUnchanged: OutcomeUnchanged,
		PlanSkip: OutcomeSkipped, PlanFail: OutcomeFailed}[a]
}

func planAction(o LogOutcome) PlanAction {
	return map[LogOutcome]PlanAction{OutcomeCreated: PlanCreate, OutcomeUpdated: PlanUpdate, OutcomeUnchanged: PlanUnchanged,
		OutcomeSkipped: PlanSkip, OutcomeFailed: PlanFail}[o]
}

// FieldChange is one value a sync would change: a HubSpot property (LMS -> HubSpot) or an LMS
// field (HubSpot -> LMS), from Old (what the target holds now, "" for nothing) to New.
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// PlanRecord is one record of a dry run's plan, in the order the real run would handle it.
type PlanRecord struct {
	Phase     string    `json:"phase"`
	Direction Direction `json:"direction"`
	// Email is the record's match key, in full as in the sync log: print it with MaskEmail.
	Email     string        `json:"email"`
	LearnerID string        `json:"learner_id,omitempty"`
	Action    PlanAction    `json:"action"`
	Changes   []FieldChange `json:"changes,omitempty"`
	// Reason is the sentence the sync log would hold (why a skip or failure, a partial write).
	Reason string `json:"reason,omitempty"`
}

// DryRunTotals counts a dry run's plan. Records == Create+Update+Unchanged+Skip+Fail.
type DryRunTotals struct {
	Direction  Direction `json:"direction"`
	Phases     []string  `json:"phases"`
	Records    int       `json:"records"`
	Create     int       `json:"create"`
	Update     int       `json:"update"`
	Unchanged  int       `json:"unchanged"`
	Skip       int       `json:"skip"`
	Fail       int       `json:"fail"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
}

func (t *DryRunTotals) add(r PlanRecord) {
	t.Records++
	switch r.Action {
	case PlanCreate:
		t.Create++
	case PlanUpdate:
		t.Update++
	case PlanUnchanged:
		t.Unchanged++
	case PlanSkip:
		t.Skip++
	case PlanFail:
		t.Fail++
	}
}

// dryPageAttempts is how many times a dry run tries a page that fails for a reason that passes.
const dryPageAttempts = manualMaxAttempts

// dryMaxWait is the longest a dry run waits out a rate limit or an outage before giving up.
const dryMaxWait = 10 * time.Minute

// DryRun plans a manual sync of school without writing anything: dir "" follows the school's
// mode, as StartManualSync. It calls emit with every record of the plan, in order, and returns
// the totals; an error from emit stops it and is returned. It fails with ErrNotConnected when the
// school has no HubSpot connection, and with the error of a page that kept failing (a rate limit
// or an outage is waited out, up to 10 minutes each). A dry run may run beside a real one.
func (e *Engine) DryRun(ctx context.Context, school SchoolID, dir Direction, emit func(PlanRecord) error) (DryRunTotals, error) {
	if err := dir.Validate(); err != nil {
		return DryRunTotals{}, err
	}
	if _, err := e.Connection(ctx, school); err != nil {
		return DryRunTotals{}, err
	}
	settings, err := e.Settings(ctx, school)
	if err != nil {
		return DryRunTotals{}, err
	}
	if dir == "" {
		dir = EffectiveDirection(settings.Mode, DirectionBoth)
	}
	tot := DryRunTotals{Direction: dir, Phases: manualPhases(dir, settings), StartedAt: e.clk.Now()}
	plan := &dryPlan{matchedToLMS: map[string]bool{}}
	if dir.ToHubSpot() && dir.ToLMS() {
		plan.sent = map[string]plannedContact{}
	}
	for _, phase := range tot.Phases {
		plan.phase = phase
		cursor := ""
		for {
			res, err := e.dryPage(ctx, school, phase, cursor, plan)
			if err != nil {
				return tot, err
			}
			for _, rec := range plan.records {
				tot.add(rec)
				if err := emit(rec); err != nil {
					return tot, err
				}
			}
			plan.records = plan.records[:0]
			if res.next == "" {
				if phase == PhaseCreateLearners {
					// The contacts the first phase would have created come last in HubSpot's
					// listing, each with its sync state: the real run finds them unchanged.
					for _, em := range plan.created {
						rec := PlanRecord{Phase: phase, Direction: DirectionToLMS, Email: em, Action: PlanUnchanged}
						tot.add(rec)
						if err := emit(rec); err != nil {
							return tot, err
						}
					}
				}
				break
			}
			cursor = res.next
		}
	}
	tot.FinishedAt = e.clk.Now()
	e.log.Info("hubsync: dry run done", "school", school, "records", tot.Records, "create", tot.Create, "update", tot.Update)
	return tot, nil
}

// dryPage runs one page of a dry run, waiting out what the failure policy says passes.
func (e *Engine) dryPage(ctx context.Context, school SchoolID, phase, cursor string, plan *dryPlan) (pageResult, error) {
	for attempt := 1; ; attempt++ {
		plan.reset()
		var res pageResult
		var err error
		switch phase {
		case PhaseToHubSpot:
			res, err = e.manualToHubSpot(ctx, school, cursor, nil, plan)
		case PhaseToLMS:
			res, err = e.manualToLMS(ctx, school, cursor, plan)
		case PhaseCreateLearners:
			res, err = e.manualCreate(ctx, school, cursor, plan)
		default:
			err = fmt.Errorf("hubsync: unknown manual sync phase %q", phase)
		}
		if err == nil {
			return res, nil
		}
		now := e.clk.Now()
		v := judge(err, failureInput{now: now, maxBackoff: e.cfg.MaxBackoff})
		wait := time.Duration(attempt) * time.Second
		switch {
		case v.act == actRelease && v.runAt.Sub(now) <= dryMaxWait:
			wait = max(v.runAt.Sub(now), 0)
		case v.act == actRetry && attempt < dryPageAttempts:
		default:
			return pageResult{}, fmt.Errorf("hubsync: dry run, %s page: %w", phase, err)
		}
		t := e.clk.NewTimer(wait)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return pageResult{}, ctx.Err()
		}
	}
}

// manualPhases are the phases of a manual sync in direction dir.
func manualPhases(dir Direction, settings Settings) []string {
	var phases []string
	if dir.ToHubSpot() {
		phases = append(phases, PhaseToHubSpot)
	}
	if dir.ToLMS() {
		phases = append(phases, PhaseToLMS)
		if settings.Inbound.CreateLearners {
			phases = append(phases, PhaseCreateLearners)
		}
	}
	return phases
}

// dryPlan stands in for a page's writes in a dry run. A nil *dryPlan is a real run: its methods
// then do what the real run does (collect writes the log).
type dryPlan struct {
	phase string
	// changes holds the field changes of the page's records, by folded email.
	changes map[string][]FieldChange
	records []PlanRecord
	// matchedToLMS: the emails the HubSpot -> LMS phase would write, whose sync state would then
	// exist, so the create phase finds them matched as the real run does.
	matchedToLMS map[string]bool
	// sent, in a run of both directions, holds what the LMS -> HubSpot phase would have written
	// to each contact (created: the contact would be new), so the later phases read HubSpot and
	// the sync states as the real run would find them. created keeps the new ones in order.
	sent    map[string]plannedContact
	created []string
}

// plannedContact is what the plan's first phase would have written to one contact.
type plannedContact struct {
	props   map[string]string
	created bool
}

func (p *dryPlan) reset() {
	p.changes = map[string][]FieldChange{}
	p.records = p.records[:0]
}

// pageFor reads a learner page: with the read-ahead in a real run, without it in a dry run (whose
// pages must not take a real run's read-ahead).
func (e *Engine) pageFor(ctx context.Context, school SchoolID, cursor string, p *dryPlan) (LearnerPage, error) {
	if p == nil {
		return e.listPage(ctx, school, cursor)
	}
	at := e.clk.Now()
	page, err := e.cfg.Learners.ListPage(ctx, school, cursor)
	if err != nil {
		return LearnerPage{}, fmt.Errorf("hubsync: list learners: %w", err)
	}
	page.readAt = at
	return page, nil
}

// collect ends a page: a real run writes its sync log; a dry run turns it into plan records.
func (p *dryPlan) collect(e *Engine, ctx context.Context, l *recordLog) {
	if p == nil {
		e.writeLog(ctx, l)
		return
	}
	for i, en := range l.entries {
		rec := PlanRecord{Phase: p.phase, Direction: en.Direction, Email: en.Email, LearnerID: l.learners[i],
			Action: planAction(en.Outcome), Reason: en.Reason}
		if rec.Action == PlanCreate || rec.Action == PlanUpdate {
			rec.Changes = p.changes[FoldEmail(en.Email)]
			if p.phase == PhaseToLMS {
				p.matchedToLMS[FoldEmail(en.Email)] = true
			}
		}
		p.records = append(p.records, rec)
	}
}

// matched reports whether a dry run's earlier phases would have given email a sync state.
func (p *dryPlan) matched(email string) bool {
	if p == nil {
		return false
	}
	_, sent := p.sent[email]
	return p.matchedToLMS[email] || sent
}

// overlay, in a dry run of both directions, makes the contacts read for emails look as the
// first phase would have left them: its values over what HubSpot holds, and the contacts it
// would have created. A real run (nil) changes nothing.
func (p *dryPlan) overlay(contacts map[string]hubspot.Contact, emails []string, now time.Time) {
	if p == nil || p.sent == nil {
		return
	}
	for _, em := range emails {
		pc, ok := p.sent[em]
		if !ok {
			continue
		}
		c, exists := contacts[em]
		if !exists {
			if !pc.created {
				continue
			}
			c = hubspot.Contact{ID: "planned", Properties: map[string]string{"email": em}, UpdatedAt: now}
		}
		props := maps.Clone(c.Properties)
		if props == nil {
			props = map[string]string{}
		}
		maps.Copy(props, pc.props)
		c.Properties = props
		contacts[em] = c
	}
}

// state, in a dry run of both directions, is st as the first phase would have left it.
func (p *dryPlan) state(st SyncState) SyncState {
	if p == nil || p.sent == nil {
		return st
	}
	pc, ok := p.sent[FoldEmail(st.Email)]
	if !ok {
		return st
	}
	sent := maps.Clone(st.SentToHubSpot)
	for k, v := range pc.props {
		if k != LifecycleProperty {
			sent = recordSent(sent, k, v)
		}
	}
	st.SentToHubSpot = sent
	return st
}

// lmsChanges notes the values a learner write would set: learner's current values (none for a
// new learner) against the new ones, in HubSpot's string form.
func (p *dryPlan) lmsChanges(email string, learner Learner, values map[string]any, written map[[2]string]string) {
	var ch []FieldChange
	for k, v := range written {
		if _, ok := values[k[0]]; !ok {
			continue
		}
		old := ""
		if cur := lmsValue(learner, k[0]); cur != nil && learner.ID != "" {
			old = fmt.Sprint(cur)
		}
		ch = append(ch, FieldChange{Field: k[0], Old: old, New: v})
	}
	slices.SortFunc(ch, func(a, b FieldChange) int { return cmp.Compare(a.Field, b.Field) })
	p.changes[FoldEmail(email)] = ch
}

// planUpsert stands in for the batch upsert: it reads the contacts (one call per 100, the same
// budget) to tell a create from an update and to show the values they hold, and logs each record
// as the upsert would have.
func (r *outRun) planUpsert(ctx context.Context, inputs []hubspot.UpsertInput, sent []*pending) error {
	emails := make([]string, len(inputs))
	props := map[string]bool{}
	for i, in := range inputs {
		emails[i] = in.Email
		for k := range in.Properties {
			props[k] = true
		}
	}
	got, err := r.p.client.BatchReadByEmail(ctx, emails, slices.Sorted(maps.Keys(props)))
	if err != nil {
		return err
	}
	current := make(map[string]hubspot.Contact, len(got))
	for em, c := range got {
		current[FoldEmail(em)] = c
	}
	for i, in := range inputs {
		x := sent[i]
		c, exists := current[x.email]
		var ch []FieldChange
		for _, k := range slices.Sorted(maps.Keys(in.Properties)) {
			ch = append(ch, FieldChange{Field: k, Old: c.Properties[k], New: in.Properties[k]})
		}
		r.plan.changes[x.email] = ch
		if r.plan.sent != nil {
			r.plan.sent[x.email] = plannedContact{props: maps.Clone(in.Properties), created: !exists}
			if !exists {
				r.plan.created = append(r.plan.created, x.email)
			}
		}
		if exists {
			r.log.add(x.email, OutcomeUpdated, partial(x.problems))
		} else {
			r.log.add(x.email, OutcomeCreated, partial(x.problems))
		}
	}
	return nil
}
