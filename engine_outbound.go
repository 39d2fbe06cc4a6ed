package hubsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/hubsync/hubsync/hubspot"
)

// contactJob is the job that carries learner l (its email folded) to HubSpot; its key coalesces
// the learner's changes. at is when l was read (zero: not known; see pending.at).
func contactJob(school SchoolID, l Learner, at time.Time) (JobSpec, error) {
	b, err := json.Marshal(contactPayload{Learner: l, At: at})
	if err != nil {
		return JobSpec{}, fmt.Errorf("%w: learner %q: values cannot be encoded: %v", ErrInvalidValue, l.ID, err)
	}
	return JobSpec{School: school, Kind: JobContact, Key: "contact|" + l.Email, Payload: b, Priority: PriorityLive}, nil
}

// stageJob is the job that carries one lifecycle trigger of a learner; its key keeps every
// trigger apart from coalescing.
func stageJob(school SchoolID, email string, tr LifecycleTrigger) JobSpec {
	b, _ := json.Marshal(stagePayload{Email: email, Trigger: tr}) // two strings: cannot fail
	return JobSpec{School: school, Kind: JobStage, Key: "stage|" + email + "|" + string(tr), Payload: b, Priority: PriorityLive}
}

// decodePayload decodes a contact or stage job's payload, which contactJob and stageJob write
// with encoding/json, with the faster decoder of go-json-experiment, set to read those payloads
// as encoding/json reads them (FuzzDecodePayload): names matched case-insensitively, invalid
// UTF-8 and repeated names accepted, unknown members ignored, numbers in Values as float64.
func decodePayload(b []byte, v any) error {
	return jsonv2.Unmarshal(b, v, jsonv2.MatchCaseInsensitiveNames(true),
		jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

type contactPayload struct {
	Learner Learner `json:"learner"`
	// At is when the engine was given Learner (LearnerChanged), in the engine's clock; zero in
	// jobs queued before hubsync recorded it.
	At time.Time `json:"at,omitzero"`
}

type stagePayload struct {
	Email   string           `json:"email"`
	Trigger LifecycleTrigger `json:"trigger"`
}

// LearnerChanged tells the engine that a learner's profile changed. The learner's latest state is
// queued durably and coalesced with earlier unsent changes of the same learner; a worker sends the
// mapped fields whose values changed to HubSpot in the next batch upsert. The error wraps
// ErrInvalidValue when the learner has no valid email.
func (e *Engine) LearnerChanged(ctx context.Context, school SchoolID, l Learner) error {
	if err := e.learnerChangedOn(ctx, e.cfg.Queue, school, l); err != nil {
		return err
	}
	e.noteLearnerChange(ctx, school, l) // the LMS watermark (engine_catchup.go)
	return nil
}

// Record tells the engine that a learner did something: it becomes a timeline event (unless the
// school switched that kind off) and, for sign-ups, enrolments and purchases, a lifecycle stage
// decision. Once-kinds (sign-up, deletion, first purchase) reach HubSpot at most once per learner
// whatever happens; repeatable kinds once per occurrence (Activity.OccurrenceID). The error wraps
// ErrInvalidValue or ErrInvalidSettings when the activity is malformed, and ErrQueueFull when a
// repeatable event was refused because the school's queue is at Retention.MaxQueuedEvents (its
// lifecycle stage decision is still queued; see engine_bounds.go).
func (e *Engine) Record(ctx context.Context, school SchoolID, a Activity) error {
	return e.recordOn(ctx, e.cfg.Queue, school, a)
}

func activityTrigger(k EventKind) (LifecycleTrigger, bool) {
	switch k {
	case EventSignedUp:
		return TriggerRegistered, true
	case EventEnrolled:
		return TriggerEnrolled, true
	case EventFirstPurchase, EventPurchaseMade, EventSubscriptionStarted:
		return TriggerPurchased, true
	}
	return "", false
}

// pending is what the batch knows of one learner.
type pending struct {
	email    string
	learner  *Learner
	triggers map[LifecycleTrigger]bool
	state    SyncState
	known    bool // a SyncState existed
	props    map[string]string
	stage    string
	// problems are the learner's values left out of the upsert (a value that does not
	// convert): the record's one log entry names them.
	problems []string
	// at is when learner was read or handed to the engine (zero: not known). A learner whose
	// sync state records a later one (sentAtKey) has had a newer copy written to HubSpot since,
	// and this older copy is not sent over it: a manual sync page read before a live change
	// must not overwrite the change when its upsert goes out after it.
	at time.Time
	// readUpdated and readSent are the state as the batch read it (swapStates's condition; settle
	// also compares readSent, kept only for a store without SyncStateSwapper).
	readUpdated time.Time
	readSent    map[string]string
}

// outRun is one outbound batch's context: the school's portal, settings and outbound rows, and
// the sync log entries it collects.
type outRun struct {
	e        *Engine
	school   SchoolID
	p        *portal
	settings Settings
	rep      MappingReport
	rows     []RowReport // valid rows that write to HubSpot
	// optimistic: the portal's lifecycle stages are HubSpot's defaults, whose forward-only rule
	// HubSpot enforces itself, so a stage can be sent without reading the current one first.
	optimistic bool
	log        *recordLog
	// plan, in a dry run, takes the upsert's place (engine_dryrun.go).
	plan *dryPlan
}

func (e *Engine) newOutRun(ctx context.Context, school SchoolID) (*outRun, error) {
	p, err := e.portalFor(ctx, school)
	if err != nil {
		return nil, err
	}
	settings, err := e.Settings(ctx, school)
	if err != nil {
		return nil, err
	}
	rep, err := e.report(ctx, school, settings)
	if err != nil {
		return nil, err
	}
	props, err := e.properties(ctx, school)
	if err != nil {
		return nil, err
	}
	r := &outRun{e: e, school: school, p: p, settings: settings, rep: rep,
		optimistic: defaultStagesOnly(props), log: e.newRecordLog(school, DirectionToHubSpot)}
	for _, row := range rep.Active() {
		if row.Direction.ToHubSpot() {
			r.rows = append(r.rows, row)
		}
	}
	return r, nil
}

// defaultStagesOnly reports whether the portal's lifecycle stage options are all HubSpot defaults.
func defaultStagesOnly(props []Property) bool {
	for _, p := range props {
		if p.Name != LifecycleProperty {
			continue
		}
		for _, o := range p.Options {
			if _, ok := stageRank[o.Value]; !ok {
				return false
			}
		}
		return true
	}
	return false
}

// syncContacts turns contact and stage jobs into one batch upsert. Per-record problems (a value
// that does not convert, a record HubSpot refuses) are logged and do not fail the batch; the
// returned error is for the batch as a whole (retried or rescheduled by finish).
func (e *Engine) syncContacts(ctx context.Context, school SchoolID, jobs []Job) error {
	r, err := e.newOutRun(ctx, school)
	if err != nil {
		return err
	}
	err = r.push(ctx, pendingsOf(jobs, r.log))
	e.writeLog(ctx, r.log)
	return err
}

// pendingsOf decodes contact and stage jobs into the learners to send, one per folded email in
// order of first appearance, logging an undecodable job into log.
func pendingsOf(jobs []Job, log *recordLog) []*pending {
	byEmail := map[string]*pending{}
	var order []*pending
	get := func(email string) *pending {
		if x := byEmail[email]; x != nil {
			return x
		}
		x := &pending{email: email, triggers: map[LifecycleTrigger]bool{}}
		byEmail[email] = x
		order = append(order, x)
		return x
	}
	// Jobs arrive in enqueue order per key; a later snapshot of a learner replaces an earlier one.
	for _, j := range jobs {
		switch j.Kind {
		case JobContact:
			var cp contactPayload
			if err := decodePayload(j.Payload, &cp); err != nil {
				log.add("", OutcomeFailed, "undecodable contact job: "+err.Error())
				continue
			}
			l := cp.Learner
			x := get(FoldEmail(l.Email))
			x.learner, x.at = &l, cp.At
		case JobStage:
			var sp stagePayload
			if err := decodePayload(j.Payload, &sp); err != nil {
				log.add("", OutcomeFailed, "undecodable stage job: "+err.Error())
				continue
			}
			get(FoldEmail(sp.Email)).triggers[sp.Trigger] = true
		}
	}
	return order
}

// push sends the learners' changed mapped values and lifecycle stages in one batch upsert (at most
// hubspot.BatchLimit learners) and records what was written.
func (r *outRun) push(ctx context.Context, xs []*pending) error {
	live, needStage, err := r.prepare(ctx, xs)
	if err != nil {
		return err
	}
	current, err := r.currentStages(ctx, needStage)
	if err != nil {
		return err
	}
	inputs, sent := r.decide(live, current)
	if len(inputs) == 0 {
		return nil
	}
	if r.plan != nil {
		return r.planUpsert(ctx, inputs, sent)
	}
	results, err := r.p.client.BatchUpsertByEmail(ctx, inputs)
	if err != nil {
		return err
	}
	states, requeue := r.record(results, sent)
	refresh, err := r.storeStates(ctx, sent, states)
	if err != nil {
		return err
	}
	if err := r.refresh(ctx, refresh); err != nil {
		return err
	}
	return r.requeueAfterSchemaChange(ctx, requeue)
}

// storeStates stores the sync states of the learners just written and returns those to read
// again from the LMS, another writer having written the learner's state since this batch read
// it (see swapStates). On a store without SyncStateSwapper it looks again just before an
// unconditional write (settle).
func (r *outRun) storeStates(ctx context.Context, sent []*pending, states []SyncState) ([]string, error) {
	if sw, ok := r.e.cfg.Store.(SyncStateSwapper); ok {
		return r.swapStates(ctx, sw, sent, states)
	}
	states, refresh, err := r.settle(ctx, sent, states)
	if err != nil {
		return nil, err
	}
	return refresh, r.e.putStates(ctx, states)
}

// swapTries is how many conditional writes a batch makes of a learner's sync state that other
// writers keep changing before it writes it unconditionally (as settle does).
const swapTries = 5

// swapStates stores the batch's states, each only if the learner's stored state is still the one
// prepare read (SyncStateSwapper). A refused one was written meanwhile by another worker or
// process (a live change while a manual sync's page waited for its turn at the rate limit, or
// the other way round), whose values may have reached HubSpot before this batch's older copy:
// the state is read again and stored as the other writer left it, less the values of the
// properties this batch sent (so they count as not written), on the same condition against
// that read; and the learner is returned, to be read again from the LMS and queued. Of two
// writers of one learner, whatever the order of their reads, upserts and writes, the second to
// store is refused, so one of them always reads the learner again.
func (r *outRun) swapStates(ctx context.Context, sw SyncStateSwapper, sent []*pending, states []SyncState) ([]string, error) {
	if len(states) == 0 {
		return nil, nil
	}
	// states are in the order of sent (record), a learner's state where it was sent.
	swaps := make([]SyncStateSwap, 0, len(states))
	j := 0
	for _, st := range states {
		for j < len(sent) && sent[j].email != st.Email {
			j++
		}
		if j == len(sent) {
			return nil, fmt.Errorf("hubsync: the sync state of %s is not one of the batch's", MaskEmail(st.Email))
		}
		swaps = append(swaps, SyncStateSwap{State: st, Existed: sent[j].known, UpdatedAt: sent[j].readUpdated})
	}
	var read map[string]*pending  // by email, built at the first conflict
	var mine map[string]SyncState // the states of states, by email, likewise
	var refresh []string
	again := map[string]bool{}
	for try := 1; ; try++ {
		var conflicts []string
		var err error
		if try == 1 {
			conflicts, err = r.swapWithLog(ctx, sw, swaps)
		} else {
			conflicts, err = sw.SwapSyncStates(ctx, r.school, swaps)
		}
		if err != nil || len(conflicts) == 0 {
			return refresh, err
		}
		if read == nil {
			read, mine = make(map[string]*pending, len(sent)), make(map[string]SyncState, len(states))
			for _, x := range sent {
				read[x.email] = x
			}
			for _, st := range states {
				mine[st.Email] = st
			}
		}
		for _, em := range conflicts {
			if x := read[em]; x != nil && x.learner != nil && !again[em] {
				again[em] = true
				refresh = append(refresh, em)
			}
		}
		now, err := getStates(ctx, r.e.cfg.Store, r.school, conflicts)
		if err != nil {
			return nil, err
		}
		swaps = swaps[:0]
		for _, em := range conflicts {
			st, x := mine[em], read[em]
			if x == nil {
				continue // not a state of this batch: a store's mistake, nothing to write
			}
			if cur, ok := now[em]; ok {
				swaps = append(swaps, SyncStateSwap{State: mergeMoved(cur, st, x), Existed: true, UpdatedAt: cur.UpdatedAt})
			} else {
				swaps = append(swaps, SyncStateSwap{State: st})
			}
		}
		if try == swapTries {
			r.e.log.Warn("hubsync: sync states kept changing while being stored; written unconditionally", "school", r.school,
				"learners", len(swaps), "tries", try)
			merged := make([]SyncState, len(swaps))
			for i, s := range swaps {
				merged[i] = s.State
			}
			return refresh, r.e.putStates(ctx, merged)
		}
	}
}

// errLogWrite marks, inside swapWithLog's transaction, a failure of the sync log's write.
type errLogWrite struct{ err error }

func (e errLogWrite) Error() string { return e.err.Error() }

// swapWithLog is the batch's first SwapSyncStates, on a Transactor in one transaction with the
// sync log entries and health collected so far (the batch's outcomes, recorded just before):
// one write transaction a batch instead of two. The log is then written with the states or not
// at all; when its write fails, the states are stored alone, as without a transaction, and
// writeLog tries the log once more at the end of the batch. Either way a stored state's log
// entry has been tried.
func (r *outRun) swapWithLog(ctx context.Context, sw SyncStateSwapper, swaps []SyncStateSwap) ([]string, error) {
	tx, ok := r.e.cfg.Store.(Transactor)
	if !ok || r.log.written == len(r.log.entries) {
		return sw.SwapSyncStates(ctx, r.school, swaps)
	}
	entries, health := r.log.unwritten()
	var conflicts []string
	err := tx.RunInTx(ctx, func(ctx context.Context, s Store, _ Queue) error {
		tsw, ok := s.(SyncStateSwapper)
		if !ok { // a store that breaks SyncStateSwapper's promise: keep to the two writes
			return errLogWrite{errors.New("the store of RunInTx does not swap sync states")}
		}
		var err error
		if conflicts, err = tsw.SwapSyncStates(ctx, r.school, swaps); err != nil {
			return err
		}
		if err := putLog(ctx, s, entries, health); err != nil {
			return errLogWrite{err}
		}
		return nil
	})
	var lw errLogWrite
	switch {
	case err == nil:
		r.e.wrote(ctx, r.log, entries)
		return conflicts, nil
	case errors.As(err, &lw):
		return sw.SwapSyncStates(ctx, r.school, swaps)
	}
	return nil, err
}

// settle, on a store without SyncStateSwapper, looks again at the sync states of the learners
// just written, after HubSpot answered: one written meanwhile by another worker or process (a
// live change while a manual sync's page waited for its turn at the rate limit, or the other
// way round) may have had its values sent before this batch's older copy, which HubSpot then
// kept. For such a learner the state keeps what the other writer stored, less the values of the
// properties this batch sent (mergeMoved), and refresh returns its email: its latest copy is
// read from the LMS and queued. Two writers of one learner cannot both miss the other unless
// both look again before either stores its state (a window of one store write, not of a
// rate-limit wait), which the conditional write of swapStates closes.
func (r *outRun) settle(ctx context.Context, sent []*pending, states []SyncState) ([]SyncState, []string, error) {
	if len(states) == 0 {
		return states, nil, nil
	}
	emails := make([]string, len(states))
	for i, st := range states {
		emails[i] = st.Email
	}
	now, err := getStates(ctx, r.e.cfg.Store, r.school, emails)
	if err != nil {
		return nil, nil, err
	}
	read := make(map[string]*pending, len(sent))
	for _, x := range sent {
		read[x.email] = x
	}
	var refresh []string
	for i, st := range states {
		x := read[st.Email]
		cur, ok := now[st.Email]
		if x == nil || !stateMovedSince(x, cur, ok) {
			continue
		}
		states[i] = mergeMoved(cur, st, x)
		if x.learner != nil {
			refresh = append(refresh, st.Email)
		}
	}
	return states, refresh, nil
}

// mergeMoved is the state to store for x's learner when another writer stored cur since x's
// batch read the state, the batch having built st: cur less the values of the properties the
// batch sent (they count as not written, so the learner's latest copy sends them again), with
// st's contact and learner ids where cur has none.
func mergeMoved(cur, st SyncState, x *pending) SyncState {
	merged := cur
	merged.SentToHubSpot = maps.Clone(cur.SentToHubSpot)
	for k := range x.props {
		delete(merged.SentToHubSpot, k)
	}
	if merged.ContactID == "" {
		merged.ContactID = st.ContactID
	}
	if merged.LearnerID == "" {
		merged.LearnerID = st.LearnerID
	}
	return merged
}

// stateMovedSince reports whether the state now stored for x's learner (cur; ok false when there
// is none) was written since x's batch read it.
func stateMovedSince(x *pending, cur SyncState, ok bool) bool {
	if !ok {
		return false // nobody wrote one (a store without it counts as unchanged)
	}
	if !x.known {
		return true
	}
	return !cur.UpdatedAt.Equal(x.readUpdated) || !maps.Equal(cur.SentToHubSpot, x.readSent)
}

// refresh reads the learners' latest copies from the LMS and queues them (see settle). A learner
// the LMS no longer has is left alone; an LMS that cannot answer fails the batch, which is tried
// again.
func (r *outRun) refresh(ctx context.Context, emails []string) error {
	var specs []JobSpec
	for _, email := range emails {
		at := r.e.clk.Now()
		l, err := r.e.cfg.Learners.GetByEmail(ctx, r.school, email)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("hubsync: read learner again after a concurrent write: %w", err)
		}
		l.Email = FoldEmail(l.Email)
		j, err := contactJob(r.school, l, at)
		if err != nil {
			return err
		}
		specs = append(specs, j)
	}
	if len(specs) == 0 {
		return nil
	}
	r.e.log.Info("hubsync: learners written by two workers at once are read again", "school", r.school, "learners", len(specs))
	if err := r.e.cfg.Queue.Enqueue(ctx, specs...); err != nil {
		return fmt.Errorf("hubsync: queue learners read again: %w", err)
	}
	r.e.notify()
	return nil
}

// prepare loads the learners' sync states (one read for the batch), applies the GDPR toolkit and diffs the mapped values
// against what the engine last wrote. It returns the learners still to send and the emails whose
// current lifecycle stage must be read from HubSpot first.
func (r *outRun) prepare(ctx context.Context, xs []*pending) (live []*pending, needStage []string, err error) {
	emails := make([]string, len(xs))
	for i, x := range xs {
		emails[i] = x.email
	}
	states, err := getStates(ctx, r.e.cfg.Store, r.school, emails)
	if err != nil {
		return nil, nil, err
	}
	for _, x := range xs {
		if st, ok := states[x.email]; ok {
			x.state, x.known = st, true
			x.readUpdated = st.UpdatedAt
			if _, swaps := r.e.cfg.Store.(SyncStateSwapper); !swaps {
				x.readSent = maps.Clone(st.SentToHubSpot) // only settle compares it
			}
		} else {
			x.state = SyncState{School: r.school, Email: x.email}
		}
		if ok, err := r.consented(ctx, x); err != nil || !ok {
			if err != nil {
				return nil, nil, err
			}
			continue
		}
		x.props = map[string]string{}
		if x.learner != nil && olderThanSent(x.state, x.at) {
			if len(x.triggers) == 0 {
				r.log.add(x.email, OutcomeSkipped, "a newer copy of this learner was written to HubSpot after this one was read")
				continue
			}
			x.learner = nil // its lifecycle triggers still go
		}
		if x.learner != nil {
			x.props, x.problems = outboundChanges(r.rows, *x.learner, x.state.SentToHubSpot)
		}
		if _, ok := combineTriggers(x.triggers, !x.known); ok && x.state.LifecycleStage == "" && !r.optimistic {
			needStage = append(needStage, x.email)
		}
		live = append(live, x)
	}
	return live, needStage, nil
}

// consented applies the GDPR toolkit: with it on, a learner who has not accepted marketing
// cookies is skipped (and logged as such); so is a stage-only job of a learner never synced
// whose consent the LMS cannot confirm.
func (r *outRun) consented(ctx context.Context, x *pending) (bool, error) {
	if !r.settings.GDPRToolkit {
		return true, nil
	}
	if x.learner == nil && !x.known {
		l, err := r.e.cfg.Learners.GetByEmail(ctx, r.school, x.email)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return false, fmt.Errorf("hubsync: read learner for consent: %w", err)
		}
		if err == nil {
			x.learner = &l
		}
	}
	if (x.learner != nil && !x.learner.MarketingConsent) || (x.learner == nil && !x.known) {
		r.log.add(x.email, OutcomeSkipped, reasonNoConsent)
		return false, nil
	}
	return true, nil
}

// outboundChanges returns the HubSpot values of learner l for rows that differ from sent (what
// the engine last wrote, by property), and a reason for each row whose value does not convert.
// An empty LMS value is sent only over a value the engine itself wrote: it never clears what
// someone else put in HubSpot.
func outboundChanges(rows []RowReport, l Learner, sent map[string]string) (props map[string]string, failures []string) {
	props = map[string]string{}
	for _, row := range rows {
		s, err := ToHubSpot(row.Mapping.LMSField, row.Type, lmsValue(l, row.Mapping.LMSField))
		if err != nil {
			failures = append(failures, err.Error())
			continue
		}
		_, wrote := sent[row.Mapping.HubSpotProperty]
		if (wrote && sentIs(sent, row.Mapping.HubSpotProperty, s)) || (!wrote && s == "") {
			continue
		}
		props[row.Mapping.HubSpotProperty] = s
	}
	return props, failures
}

// currentStages reads the lifecycle stage HubSpot holds for each email (by folded email).
func (r *outRun) currentStages(ctx context.Context, emails []string) (map[string]string, error) {
	current := map[string]string{}
	if len(emails) == 0 {
		return current, nil
	}
	got, err := r.p.client.BatchReadByEmail(ctx, emails, []string{LifecycleProperty})
	if err != nil {
		return nil, err
	}
	for em, c := range got {
		current[FoldEmail(em)] = c.Properties[LifecycleProperty]
	}
	return current, nil
}

// decide applies the lifecycle rule to each learner and returns the upsert inputs, leaving out
// learners already known with nothing to send (logged unchanged, or failed when the only changes
// were values that do not convert).
func (r *outRun) decide(live []*pending, current map[string]string) ([]hubspot.UpsertInput, []*pending) {
	rule := LifecycleRule{UpdateStage: r.settings.UpdateLifecycleStage}
	var inputs []hubspot.UpsertInput
	var sent []*pending
	for _, x := range live {
		if trigger, ok := combineTriggers(x.triggers, !x.known); ok {
			cur := x.state.LifecycleStage
			if cur == "" {
				cur = current[x.email]
			}
			if stage, write := rule.Next(trigger, cur); write {
				x.stage = stage
				x.props[LifecycleProperty] = stage
			} else if cur != "" {
				x.state.LifecycleStage = cur
			}
		}
		if len(x.props) == 0 && x.known {
			if len(x.problems) > 0 {
				r.log.add(x.email, OutcomeFailed, joinReasons(x.problems...))
			} else {
				r.log.add(x.email, OutcomeUnchanged, "")
			}
			continue
		}
		inputs = append(inputs, hubspot.UpsertInput{Email: x.email, Properties: x.props})
		sent = append(sent, x)
	}
	return inputs, sent
}

// record turns the upsert's per-record results into the sync states to store and the log, and
// returns the learners refused for the property schema's sake, to requeue.
func (r *outRun) record(results []hubspot.UpsertResult, sent []*pending) (states []SyncState, requeue []*pending) {
	states = make([]SyncState, 0, len(results))
	for i, res := range results {
		if i >= len(sent) {
			break
		}
		x := sent[i]
		if res.Err != nil {
			if schemaRefused(res.Err) {
				// The property schema changed under us (a mapped property deleted, archived or
				// made read-only): look at it again and requeue the learner, so the row is
				// reported invalid and skipped while the rest of the record still syncs.
				r.e.schools.invalidateSchema(r.school)
				requeue = append(requeue, x)
			}
			r.log.add(x.email, OutcomeFailed, joinReasons(append([]string{res.Err.Error()}, x.problems...)...))
			continue
		}
		for k, v := range x.props {
			if k != LifecycleProperty {
				x.state.SentToHubSpot = recordSent(x.state.SentToHubSpot, k, v)
			}
		}
		if res.ID != "" {
			x.state.ContactID = res.ID
		}
		if x.learner != nil && x.learner.ID != "" {
			x.state.LearnerID = x.learner.ID
		}
		if x.learner != nil {
			x.state.SentToHubSpot = recordSentAt(x.state.SentToHubSpot, x.at)
		}
		if s := res.Properties[LifecycleProperty]; s != "" {
			x.state.LifecycleStage = s
		} else if x.stage != "" {
			x.state.LifecycleStage = x.stage
		}
		states = append(states, x.state)
		if res.Created {
			r.log.add(x.email, OutcomeCreated, partial(x.problems))
		} else {
			r.log.add(x.email, OutcomeUpdated, partial(x.problems))
		}
	}
	return states, requeue
}

// requeueAfterSchemaChange requeues learners refused for the schema's sake, only when the fresh
// schema really makes a row invalid, so a record refused for its own sake can never loop.
func (r *outRun) requeueAfterSchemaChange(ctx context.Context, xs []*pending) error {
	if len(xs) == 0 {
		return nil
	}
	fresh, err := r.e.report(ctx, r.school, r.settings)
	if err != nil {
		return err
	}
	if len(fresh.Active()) < len(r.rep.Active()) {
		return r.e.requeue(ctx, r.school, xs)
	}
	return nil
}

// requeue puts learners back in the queue with the state this batch had for them.
func (e *Engine) requeue(ctx context.Context, school SchoolID, xs []*pending) error {
	var specs []JobSpec
	for _, x := range xs {
		if x.learner != nil {
			j, err := contactJob(school, *x.learner, x.at)
			if err != nil {
				return err
			}
			specs = append(specs, j)
		}
		for tr := range x.triggers {
			specs = append(specs, stageJob(school, x.email, tr))
		}
	}
	if len(specs) == 0 {
		return nil
	}
	return e.cfg.Queue.Enqueue(ctx, specs...)
}

// combineTriggers folds one learner's triggers into the one the lifecycle rule decides on. A
// learner new to the engine with no trigger counts as registered (a new contact is a Lead).
func combineTriggers(t map[LifecycleTrigger]bool, isNew bool) (LifecycleTrigger, bool) {
	reg := t[TriggerRegistered] || t[TriggerRegisteredAndPurchased]
	bought := t[TriggerPurchased] || t[TriggerRegisteredAndPurchased]
	switch {
	case reg && bought:
		return TriggerRegisteredAndPurchased, true
	case bought:
		return TriggerPurchased, true
	case t[TriggerEnrolled]:
		return TriggerEnrolled, true
	case reg || isNew:
		return TriggerRegistered, true
	}
	return "", false
}

// lmsValue reads a mapped field from a learner: email and username live on the struct, the rest
// in Values.
func lmsValue(l Learner, key string) any {
	switch key {
	case "email":
		return FoldEmail(l.Email)
	case "username":
		if l.Username != "" {
			return l.Username
		}
	}
	return l.Values[key]
}
