package hubsync

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/hubsync/hubsync/hubspot"
)

// eventType is the HubSpot template id or event type name for kind.
func (e *Engine) eventType(k EventKind) string {
	if t := e.cfg.HubSpot.EventTypes[k]; t != "" {
		return t
	}
	return "hubsync_" + string(k)
}

// sendEvents delivers timeline event jobs in one batch. A disabled kind is dropped (logged as
// skipped); a once-kind is sent only by the occurrence that owns the learner's ledger entry, so it
// reaches HubSpot at most once even across retries, restarts and racing workers; every event
// carries its deterministic occurrence id, so a retry after a lost answer is recognised by HubSpot
// as already delivered.
func (e *Engine) sendEvents(ctx context.Context, school SchoolID, jobs []Job) error {
	p, err := e.portalFor(ctx, school)
	if err != nil {
		return err
	}
	settings, err := e.Settings(ctx, school)
	if err != nil {
		return err
	}
	rl := e.newRecordLog(school, DirectionToHubSpot)
	defer e.writeLog(ctx, rl)
	var batch []hubspot.TimelineEvent
	var acts []Activity
	for _, j := range jobs {
		var a Activity
		if err := json.Unmarshal(j.Payload, &a); err != nil {
			rl.add("", OutcomeFailed, "undecodable event job: "+err.Error())
			continue
		}
		ok, err := e.admitEvent(ctx, school, settings, a, rl)
		if err != nil {
			return err
		}
		if ok {
			batch = append(batch, timelineEvent(a, a.OccurrenceID(school), e.eventType(a.Kind)))
			acts = append(acts, a)
		}
	}
	for start := 0; start < len(batch); start += hubspot.BatchLimit {
		end := min(start+hubspot.BatchLimit, len(batch))
		results, err := p.client.CreateTimelineEvents(ctx, batch[start:end])
		if err != nil {
			return err
		}
		for i, r := range results {
			a := acts[start+i]
			switch {
			case r.Err != nil:
				rl.add(a.Email, OutcomeFailed, "timeline event "+string(a.Kind)+": "+r.Err.Error())
			case r.AlreadyDelivered:
				rl.add(a.Email, OutcomeUnchanged, "timeline event "+string(a.Kind)+" was already delivered")
			default:
				rl.add(a.Email, OutcomeCreated, "timeline event "+string(a.Kind))
			}
		}
	}
	return nil
}

// admitEvent decides whether an activity becomes a timeline event now: its kind is switched on,
// the GDPR toolkit lets it through, and a once-kind's ledger entry belongs to this occurrence.
// A refusal is logged as skipped.
func (e *Engine) admitEvent(ctx context.Context, school SchoolID, settings Settings, a Activity, rl *recordLog) (bool, error) {
	if !settings.EventEnabled(a.Kind) {
		rl.add(a.Email, OutcomeSkipped, "timeline event "+string(a.Kind)+" is switched off")
		return false, nil
	}
	if settings.GDPRToolkit {
		// A timeline event by email creates the contact; with the GDPR toolkit on only learners
		// already added to HubSpot (which needed their consent) get events.
		st, err := e.cfg.Store.GetSyncState(ctx, school, a.Email)
		if errors.Is(err, ErrNotFound) || (err == nil && st.ContactID == "") {
			rl.add(a.Email, OutcomeSkipped, "GDPR toolkit on and the learner is not in HubSpot")
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	if !a.Kind.Once() {
		return true, nil
	}
	// The claim names this report of the activity, so a second report (another sign-up webhook,
	// say) loses to the first while a retry of the same job still wins.
	token := a.OccurrenceID(school) + "|" + a.SourceID + "|" + strconv.FormatInt(a.At.UnixMilli(), 10)
	owner, err := e.cfg.Store.ClaimOnce(ctx, school, a.OnceKey(), token)
	if err != nil {
		return false, err
	}
	if owner != token {
		rl.add(a.Email, OutcomeSkipped, "timeline event "+string(a.Kind)+" already sent for this learner")
		return false, nil
	}
	return true, nil
}

func timelineEvent(a Activity, id, typ string) hubspot.TimelineEvent {
	props := map[string]string{"kind": string(a.Kind)}
	if a.Subject != "" {
		props["subject"] = a.Subject
	}
	if a.SubjectID != "" {
		props["subject_id"] = a.SubjectID
	}
	if a.Amount != 0 {
		props["amount"] = strconv.FormatFloat(a.Amount, 'f', -1, 64)
	}
	if a.Currency != "" {
		props["currency"] = a.Currency
	}
	for k, v := range a.Extra {
		if _, taken := props[k]; !taken {
			props[k] = v
		}
	}
	return hubspot.TimelineEvent{ID: id, Type: typ, Email: a.Email, Timestamp: a.At, Properties: props}
}
