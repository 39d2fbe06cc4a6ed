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
	logf := rl.add
	var batch []hubspot.TimelineEvent
	var acts []Activity
	for _, j := range jobs {
		var a Activity
		if err := json.Unmarshal(j.Payload, &a); err != nil {
			logf("", OutcomeFailed, "undecodable event job: "+err.Error())
			continue
		}
		if !settings.EventEnabled(a.Kind) {
			logf(a.Email, OutcomeSkipped, "timeline event "+string(a.Kind)+" is switched off")
			continue
		}
		id := a.OccurrenceID(school)
		if settings.GDPRToolkit {
			// A timeline event by email creates the contact; with the GDPR toolkit on only learners
			// already added to HubSpot (which needed their consent) get events.
			st, err := e.cfg.Store.GetSyncState(ctx, school, a.Email)
			if errors.Is(err, ErrNotFound) || (err == nil && st.ContactID == "") {
				logf(a.Email, OutcomeSkipped, "GDPR toolkit on and the learner is not in HubSpot")
				continue
			}
			if err != nil {
				return err
			}
		}
		if a.Kind.Once() {
			// The claim names this report of the activity, so a second report (another sign-up
			// webhook, say) loses to the first while a retry of the same job still wins.
			token := id + "|" + a.SourceID + "|" + strconv.FormatInt(a.At.UnixMilli(), 10)
			owner, err := e.cfg.Store.ClaimOnce(ctx, school, a.OnceKey(), token)
			if err != nil {
				return err
			}
			if owner != token {
				logf(a.Email, OutcomeSkipped, "timeline event "+string(a.Kind)+" already sent for this learner")
				continue
			}
		}
		batch = append(batch, timelineEvent(a, id, e.eventType(a.Kind)))
		acts = append(acts, a)
	}
	for start := 0; start < len(batch); start += hubspot.BatchLimit {
		end := min(start+hubspot.BatchLimit, len(batch))
		results, err := p.client.CreateTimelineEvents(ctx, batch[start:end])
		if err != nil {
			e.writeLog(ctx, rl)
			return err
		}
		for i, r := range results {
			a := acts[start+i]
			switch {
			case r.Err != nil:
				logf(a.Email, OutcomeFailed, "timeline event "+string(a.Kind)+": "+r.Err.Error())
			case r.AlreadyDelivered:
				logf(a.Email, OutcomeUnchanged, "timeline event "+string(a.Kind)+" was already delivered")
			default:
				logf(a.Email, OutcomeCreated, "timeline event "+string(a.Kind))
			}
		}
	}
	e.writeLog(ctx, rl)
	return nil
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
