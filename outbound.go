package hubsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hubsync/hubsync/hubspot"
)

// Job kinds the engine enqueues.
const (
	// JobContact carries a learner's latest state to upsert into HubSpot (key: the email, so
	// repeated changes coalesce into one job with the newest state).
	JobContact JobKind = "contact"
	// JobStage carries a lifecycle trigger for one learner (key: email and trigger, so no trigger is
	// lost to coalescing).
	JobStage JobKind = "stage"
	// JobEvent carries one timeline event occurrence (key: its occurrence id, so a redelivered
	// source event is one job).
	JobEvent JobKind = "event"
)

type contactPayload struct {
	Learner Learner `json:"learner"`
}

type stagePayload struct {
	Email   string           `json:"email"`
	Trigger LifecycleTrigger `json:"trigger"`
}

func foldEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// LearnerChanged tells the engine that a learner's profile changed. The learner's latest state is
// queued durably and coalesced with earlier unsent changes of the same learner; a worker sends the
// mapped fields whose values changed to HubSpot in the next batch upsert. The error wraps
// ErrInvalidValue when the learner has no valid email.
func (e *Engine) LearnerChanged(ctx context.Context, school SchoolID, l Learner) error {
	if err := ValidateEmail(strings.TrimSpace(l.Email)); err != nil {
		return fmt.Errorf("%w: learner %q: %v", ErrInvalidValue, l.ID, err)
	}
	l.Email = foldEmail(l.Email)
	b, err := json.Marshal(contactPayload{Learner: l})
	if err != nil {
		return fmt.Errorf("%w: learner %q: values cannot be encoded: %v", ErrInvalidValue, l.ID, err)
	}
	if err := e.cfg.Queue.Enqueue(ctx, JobSpec{School: school, Kind: JobContact, Key: "contact|" + l.Email, Payload: b, Priority: PriorityLive}); err != nil {
		return fmt.Errorf("hubsync: queue learner change: %w", err)
	}
	e.notify()
	return nil
}

// Record tells the engine that a learner did something: it becomes a timeline event (unless the
// school switched that kind off) and, for sign-ups, enrolments and purchases, a lifecycle stage
// decision. Once-kinds (sign-up, deletion, first purchase) reach HubSpot at most once per learner
// whatever happens; repeatable kinds once per occurrence (Activity.OccurrenceID). The error wraps
// ErrInvalidValue or ErrInvalidSettings when the activity is malformed.
func (e *Engine) Record(ctx context.Context, school SchoolID, a Activity) error {
	if err := a.Validate(); err != nil {
		return err
	}
	a.Email = foldEmail(a.Email)
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("%w: activity cannot be encoded: %v", ErrInvalidValue, err)
	}
	jobs := []JobSpec{{School: school, Kind: JobEvent, Key: "event|" + a.OccurrenceID(school), Payload: b, Priority: PriorityLive}}
	if tr, ok := activityTrigger(a.Kind); ok {
		sb, _ := json.Marshal(stagePayload{Email: a.Email, Trigger: tr})
		jobs = append(jobs, JobSpec{School: school, Kind: JobStage, Key: "stage|" + a.Email + "|" + string(tr), Payload: sb, Priority: PriorityLive})
	}
	if err := e.cfg.Queue.Enqueue(ctx, jobs...); err != nil {
		return fmt.Errorf("hubsync: queue activity: %w", err)
	}
	e.notify()
	return nil
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

// handleBatch processes one school's leased jobs.
func (e *Engine) handleBatch(ctx context.Context, school SchoolID, jobs []Job) {
	var contacts, events, inbound, unknown []Job
	for _, j := range jobs {
		switch j.Kind {
		case JobInbound:
			inbound = append(inbound, j)
		case JobContact, JobStage:
			contacts = append(contacts, j)
		case JobEvent:
			events = append(events, j)
		default:
			unknown = append(unknown, j)
		}
	}
	if len(unknown) > 0 {
		e.finish(ctx, unknown, fmt.Errorf("hubsync: unknown job kind %q", unknown[0].Kind))
	}
	if len(contacts) > 0 {
		e.finish(ctx, contacts, e.syncContacts(ctx, school, contacts))
	}
	if len(events) > 0 {
		e.finish(ctx, events, e.sendEvents(ctx, school, events))
	}
	if len(inbound) > 0 {
		e.finish(ctx, inbound, e.applyInbound(ctx, school, inbound))
	}
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
}

// syncContacts turns contact and stage jobs into one batch upsert. Per-record problems (a value
// that does not convert, a record HubSpot refuses) are logged and do not fail the batch; the
// returned error is for the batch as a whole (retried or rescheduled by finish).
func (e *Engine) syncContacts(ctx context.Context, school SchoolID, jobs []Job) error {
	p, err := e.portalFor(ctx, school)
	if err != nil {
		return err
	}
	settings, err := e.Settings(ctx, school)
	if err != nil {
		return err
	}
	rep, err := e.report(ctx, school, settings)
	if err != nil {
		return e.hubspotErr(ctx, school, err)
	}
	var rows []RowReport
	for _, r := range rep.Active() {
		if r.Direction.ToHubSpot() {
			rows = append(rows, r)
		}
	}

	byEmail := map[string]*pending{}
	var order []string
	get := func(email string) *pending {
		if x := byEmail[email]; x != nil {
			return x
		}
		x := &pending{email: email, triggers: map[LifecycleTrigger]bool{}}
		byEmail[email] = x
		order = append(order, email)
		return x
	}
	var logs []SyncLogEntry
	now := e.clk.Now()
	logf := func(email string, o LogOutcome, reason string) {
		logs = append(logs, SyncLogEntry{School: school, At: now, Direction: DirectionToHubSpot, Email: email, Outcome: o, Reason: reason})
	}
	// Jobs arrive in enqueue order per key; a later snapshot of a learner replaces an earlier one.
	for _, j := range jobs {
		switch j.Kind {
		case JobContact:
			var cp contactPayload
			if err := json.Unmarshal(j.Payload, &cp); err != nil {
				logf("", OutcomeFailed, "undecodable contact job: "+err.Error())
				continue
			}
			l := cp.Learner
			get(foldEmail(l.Email)).learner = &l
		case JobStage:
			var sp stagePayload
			if err := json.Unmarshal(j.Payload, &sp); err != nil {
				logf("", OutcomeFailed, "undecodable stage job: "+err.Error())
				continue
			}
			get(foldEmail(sp.Email)).triggers[sp.Trigger] = true
		}
	}

	rule := LifecycleRule{UpdateStage: settings.UpdateLifecycleStage}
	var needStage []string // emails whose current stage must be read first
	for _, email := range order {
		x := byEmail[email]
		st, err := e.cfg.Store.GetSyncState(ctx, school, email)
		switch {
		case err == nil:
			x.state, x.known = st, true
		case errors.Is(err, ErrNotFound):
			x.state = SyncState{School: school, Email: email}
		default:
			return err
		}
		if settings.GDPRToolkit {
			if x.learner == nil && !x.known {
				l, err := e.cfg.Learners.GetByEmail(ctx, school, email)
				if err != nil && !errors.Is(err, ErrNotFound) {
					return fmt.Errorf("hubsync: read learner for consent: %w", err)
				}
				if err == nil {
					x.learner = &l
				}
			}
			if (x.learner != nil && !x.learner.MarketingConsent) || (x.learner == nil && !x.known) {
				logf(email, OutcomeSkipped, "GDPR toolkit on and the learner has not accepted marketing cookies")
				delete(byEmail, email)
				continue
			}
		}
		x.props = map[string]string{}
		if x.learner != nil {
			for _, r := range rows {
				v := lmsValue(*x.learner, r.Mapping.LMSField)
				s, err := ToHubSpot(r.Mapping.LMSField, r.Type, v)
				if err != nil {
					logf(email, OutcomeFailed, err.Error())
					continue
				}
				if old, ok := x.state.SentToHubSpot[r.Mapping.HubSpotProperty]; ok && old == s {
					continue
				}
				if !x.known && s == "" {
					continue // nothing to clear on a contact we never wrote
				}
				x.props[r.Mapping.HubSpotProperty] = s
			}
		}
		if x.triggers[TriggerRegistered] || x.triggers[TriggerEnrolled] || x.triggers[TriggerPurchased] || !x.known {
			if x.state.LifecycleStage == "" {
				needStage = append(needStage, email)
			}
		}
	}

	current := map[string]string{}
	if len(needStage) > 0 {
		got, err := p.client.BatchReadByEmail(ctx, needStage, []string{LifecycleProperty})
		if err != nil {
			return e.hubspotErr(ctx, school, err)
		}
		for em, c := range got {
			current[foldEmail(em)] = c.Properties[LifecycleProperty]
		}
	}

	var inputs []hubspot.UpsertInput
	var sent []*pending
	for _, email := range order {
		x := byEmail[email]
		if x == nil {
			continue
		}
		trigger, ok := combineTriggers(x.triggers, !x.known)
		if ok {
			cur := x.state.LifecycleStage
			if cur == "" {
				cur = current[email]
			}
			if stage, write := rule.Next(trigger, cur); write {
				x.stage = stage
				x.props[LifecycleProperty] = stage
			} else if cur != "" {
				x.state.LifecycleStage = cur
			}
		}
		if len(x.props) == 0 && x.known {
			logf(email, OutcomeUnchanged, "")
			continue
		}
		inputs = append(inputs, hubspot.UpsertInput{Email: email, Properties: x.props})
		sent = append(sent, x)
	}

	var requeue []*pending
	if len(inputs) > 0 {
		results, err := p.client.BatchUpsertByEmail(ctx, inputs)
		if err != nil {
			return e.hubspotErr(ctx, school, err)
		}
		for i, res := range results {
			if i >= len(sent) {
				break
			}
			x := sent[i]
			if res.Err != nil {
				if schemaError(res.Err) {
					// The property schema changed under us (a mapped property deleted, archived or
					// made read-only): look at it again and requeue the learner, so the row is
					// reported invalid and skipped while the rest of the record still syncs.
					e.invalidateSchema(school)
					requeue = append(requeue, x)
				}
				logf(x.email, OutcomeFailed, res.Err.Error())
				continue
			}
			if x.state.SentToHubSpot == nil {
				x.state.SentToHubSpot = map[string]string{}
			}
			for k, v := range x.props {
				if k != LifecycleProperty {
					x.state.SentToHubSpot[k] = v
				}
			}
			if res.ID != "" {
				x.state.ContactID = res.ID
			}
			if x.learner != nil && x.learner.ID != "" {
				x.state.LearnerID = x.learner.ID
			}
			if s := res.Properties[LifecycleProperty]; s != "" {
				x.state.LifecycleStage = s
			} else if x.stage != "" {
				x.state.LifecycleStage = x.stage
			}
			if err := e.cfg.Store.PutSyncState(ctx, x.state); err != nil {
				return err
			}
			if res.Created {
				logf(x.email, OutcomeCreated, "")
			} else {
				logf(x.email, OutcomeUpdated, "")
			}
		}
	}
	e.writeLog(ctx, logs)
	if len(requeue) > 0 {
		// Requeue only when the fresh schema really makes a row invalid, so a record refused for
		// its own sake can never loop.
		fresh, err := e.report(ctx, school, settings)
		if err != nil {
			return e.hubspotErr(ctx, school, err)
		}
		if len(fresh.Active()) < len(rep.Active()) {
			return e.requeue(ctx, school, requeue)
		}
	}
	return nil
}

// requeue puts learners back in the queue with the state this batch had for them.
func (e *Engine) requeue(ctx context.Context, school SchoolID, xs []*pending) error {
	var specs []JobSpec
	for _, x := range xs {
		if x.learner != nil {
			b, err := json.Marshal(contactPayload{Learner: *x.learner})
			if err != nil {
				return err
			}
			specs = append(specs, JobSpec{School: school, Kind: JobContact, Key: "contact|" + x.email, Payload: b, Priority: PriorityLive})
		}
		for tr := range x.triggers {
			b, _ := json.Marshal(stagePayload{Email: x.email, Trigger: tr})
			specs = append(specs, JobSpec{School: school, Kind: JobStage, Key: "stage|" + x.email + "|" + string(tr), Payload: b, Priority: PriorityLive})
		}
	}
	if len(specs) == 0 {
		return nil
	}
	return e.cfg.Queue.Enqueue(ctx, specs...)
}

// schemaError reports whether HubSpot refused a record because of the property schema (a property
// that does not exist, or is read-only) rather than because of the record's values.
func schemaError(err error) bool {
	var ae *hubspot.APIError
	if !errors.As(err, &ae) {
		return false
	}
	codes := []string{ae.SubCategory}
	for _, d := range ae.Errors {
		codes = append(codes, d.Code, d.SubCategory)
	}
	for _, c := range codes {
		switch c {
		case "PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE":
			return true
		}
	}
	m := strings.ToLower(ae.Message)
	return strings.Contains(m, "does not exist") || strings.Contains(m, "read only") || strings.Contains(m, "read-only")
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
		return foldEmail(l.Email)
	case "username":
		if l.Username != "" {
			return l.Username
		}
	}
	return l.Values[key]
}

func (e *Engine) writeLog(ctx context.Context, logs []SyncLogEntry) {
	if len(logs) == 0 {
		return
	}
	for _, l := range logs {
		if l.Outcome == OutcomeFailed || l.Outcome == OutcomeSkipped {
			e.log.Info("hubsync: record "+string(l.Outcome), "school", l.School, "email", MaskEmail(l.Email), "reason", l.Reason)
		}
	}
	if err := e.cfg.Store.AppendSyncLog(context.WithoutCancel(ctx), logs...); err != nil {
		e.log.Error("hubsync: could not write the sync log", "err", err, "entries", len(logs))
	}
}
