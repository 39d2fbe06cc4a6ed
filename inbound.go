package hubsync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hubsync/hubsync/hubspot"
)

// HubSpot -> LMS.
//
// Contact changes reach the engine as signed HubSpot webhooks (HubSpotWebhooks). Each event is
// checked, deduplicated and queued durably before the handler answers, then a worker applies it:
// it reads the contact's mapped properties (in batches), finds the learner by email, and writes the
// mapped inbound fields whose values differ from the learner's. Passwords, roles and enrolments
// are never touched: the engine only ever writes mapped fields through Learners.Update.
//
// Rules a user can rely on:
//   - Echoes: a change the engine itself wrote to HubSpot comes back as a webhook; it is ignored
//     (HubSpot marks it with the app as its source, and the engine's ledger of what it last wrote
//     matches it). Likewise a value the engine wrote to the learner is recorded as already in
//     HubSpot, so the host reporting that learner change sends nothing back. A two-way change
//     settles after one round.
//   - Conflicts (two-way, a field changed on both sides since the engine last synced it): the most
//     recent change wins, by timestamp: HubSpot's is the webhook's occurredAt, the LMS's is
//     Learner.Updated. When the LMS does not report Updated, HubSpot's change wins, since it is the
//     only side with a known time.
//   - A contact deleted in HubSpot never deletes a learner; it is logged.
//   - A merge is applied to the surviving contact: its values flow to the learner matching its
//     email, so merging never creates a second learner.
//   - An email change in HubSpot: HubSpot keeps the old address as an additional email, so the
//     engine finds the learner by it, never creates a duplicate, and moves the learner's email too
//     when an email row points to the LMS.
//   - No matching learner: skipped and logged, unless new-learner creation is on.

// JobInbound carries one HubSpot contact to apply to the LMS (key: portal and contact id, so a
// burst of changes to one contact is one job).
const JobInbound JobKind = "inbound"

type inboundPayload struct {
	ContactID  string    `json:"contact_id"`
	OccurredAt time.Time `json:"occurred_at"`
}

// WebhookOptions configures HubSpotWebhooks.
type WebhookOptions struct {
	// PublicURL is the URL HubSpot calls, as registered in the app (scheme, host and path). The
	// v3 signature covers it, so behind a proxy or a TLS terminator it must be set; "" means the
	// URL is rebuilt from the request (https unless the request came in plain and no proxy said
	// otherwise).
	PublicURL string
	// MaxBody caps a delivery's size (default 1 MiB; a batch of 100 events is well under 100 KiB).
	// A larger body is answered 413.
	MaxBody int64
}

// HubSpotWebhooks returns the handler for HubSpot's contact webhooks. It answers 405 to anything
// but POST, 413 to an oversized body, 401 to a bad or stale signature, and 400 (naming the events)
// when some events of a delivery are malformed; every well-formed event of the delivery is queued
// all the same, so nothing else in the batch is lost. It answers 200 once the events are queued
// durably, and 500 when the queue refuses them (HubSpot then retries). Each event is applied at
// most once however often HubSpot delivers it.
func (e *Engine) HubSpotWebhooks(opts WebhookOptions) http.Handler {
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "hubsync: webhooks are POSTed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, opts.MaxBody+1))
		if err != nil {
			http.Error(w, "hubsync: reading the body failed", http.StatusBadRequest)
			return
		}
		if int64(len(body)) > opts.MaxBody {
			http.Error(w, fmt.Sprintf("hubsync: body larger than %d bytes", opts.MaxBody), http.StatusRequestEntityTooLarge)
			return
		}
		if err := hubspot.VerifyRequest(r, publicURL(r, opts.PublicURL), body, e.cfg.HubSpot.ClientSecret, e.clk.Now()); err != nil {
			http.Error(w, "hubsync: "+err.Error(), http.StatusUnauthorized)
			return
		}
		events, bad, err := parseEvents(body)
		if err != nil {
			http.Error(w, "hubsync: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := e.intake(r.Context(), events); err != nil {
			e.log.Error("hubsync: could not queue HubSpot webhook events", "err", err, "events", len(events))
			http.Error(w, "hubsync: could not queue the events; retry", http.StatusInternalServerError)
			return
		}
		if len(bad) > 0 {
			http.Error(w, "hubsync: malformed events (the others were accepted): "+strings.Join(bad, "; "), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

func publicURL(r *http.Request, configured string) string {
	if configured != "" {
		if r.URL.RawQuery != "" && !strings.Contains(configured, "?") {
			return configured + "?" + r.URL.RawQuery
		}
		return configured
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// parseEvents parses a delivery event by event, so one malformed event does not sink the rest.
// err is for a body that is not a JSON array at all.
func parseEvents(body []byte) (events []hubspot.WebhookEvent, bad []string, err error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, nil, fmt.Errorf("the body is not a JSON array of events: %v", err)
	}
	for i, raw := range raws {
		evs, err := hubspot.ParseWebhookEvents(append(append([]byte{'['}, bytes.TrimSpace(raw)...), ']'))
		if err != nil || len(evs) != 1 {
			msg := "not an event"
			if err != nil {
				msg = err.Error()
			}
			bad = append(bad, fmt.Sprintf("event %d: %s", i, msg))
			continue
		}
		events = append(events, evs[0])
	}
	return events, bad, nil
}

// intake routes, deduplicates and queues webhook events.
func (e *Engine) intake(ctx context.Context, events []hubspot.WebhookEvent) error {
	type item struct {
		dedupe string
		job    JobSpec
	}
	var items []item
	for _, ev := range events {
		schools, err := e.schoolsOfPortal(ctx, ev.PortalID)
		if err != nil {
			return err
		}
		if len(schools) == 0 {
			e.log.Info("hubsync: webhook for a portal no school is connected to", "portal", ev.PortalID)
			continue
		}
		if e.ownChange(ev) {
			continue // the echo of the engine's own write
		}
		contact := ev.ObjectID
		switch {
		case strings.HasSuffix(ev.SubscriptionType, ".deletion"), strings.HasSuffix(ev.SubscriptionType, ".privacyDeletion"):
			e.log.Info("hubsync: contact deleted in HubSpot; the learner is kept", "portal", ev.PortalID, "contact", ev.ObjectID)
			continue
		case strings.HasSuffix(ev.SubscriptionType, ".merge"):
			if ev.PrimaryObjectID != 0 {
				contact = ev.PrimaryObjectID
			}
			if ev.NewObjectID != 0 {
				contact = ev.NewObjectID
			}
		case strings.HasSuffix(ev.SubscriptionType, ".propertyChange"), strings.HasSuffix(ev.SubscriptionType, ".creation"), strings.HasSuffix(ev.SubscriptionType, ".restore"):
		default:
			continue // association changes and the like carry no profile data
		}
		if contact == 0 {
			continue
		}
		id := strconv.FormatInt(contact, 10)
		payload, _ := json.Marshal(inboundPayload{ContactID: id, OccurredAt: ev.OccurredAt})
		key := fmt.Sprintf("%d|%d|%s|%d|%s|%d", ev.PortalID, ev.EventID, ev.SubscriptionType, ev.ObjectID, ev.PropertyName, ev.OccurredAt.UnixMilli())
		for _, s := range schools {
			items = append(items, item{
				dedupe: string(s) + "|" + key,
				job:    JobSpec{School: s, Kind: JobInbound, Key: "inbound|" + id, Payload: payload, Priority: PriorityLive},
			})
		}
	}
	if len(items) == 0 {
		return nil
	}
	now := e.clk.Now()
	if tx, ok := e.cfg.Store.(Transactor); ok {
		// Mark and queue in one transaction: an event is queued exactly once, however often
		// HubSpot delivers it.
		err := tx.RunInTx(ctx, func(ctx context.Context, s Store, q Queue) error {
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
			if len(jobs) == 0 {
				return nil
			}
			return q.Enqueue(ctx, jobs...)
		})
		if err == nil {
			e.notify()
		}
		return err
	}
	// Without a transaction: queue first, then mark. A crash between the two re-queues a
	// redelivered event, which is harmless (only differing values are written).
	var jobs []JobSpec
	for _, it := range items {
		jobs = append(jobs, it.job)
	}
	if err := e.cfg.Queue.Enqueue(ctx, jobs...); err != nil {
		return err
	}
	for _, it := range items {
		if _, err := e.cfg.Store.MarkWebhookSeen(ctx, "hubspot", it.dedupe, now); err != nil {
			return err
		}
	}
	e.notify()
	return nil
}

// ownChange reports whether HubSpot marks the event as made by this app.
func (e *Engine) ownChange(ev hubspot.WebhookEvent) bool {
	if e.cfg.HubSpot.AppID == 0 || ev.SourceID == "" {
		return false
	}
	app := strconv.FormatInt(e.cfg.HubSpot.AppID, 10)
	return ev.SourceID == app || ev.SourceID == "appId:"+app
}

// schoolsOfPortal finds the schools connected to a portal (normally one).
func (e *Engine) schoolsOfPortal(ctx context.Context, portal int64) ([]SchoolID, error) {
	e.mu.Lock()
	cached, ok := e.portals[portal]
	fresh := e.clk.Now().Sub(e.portalsAt) < time.Minute
	e.mu.Unlock()
	if ok && fresh {
		return cached, nil
	}
	schools, err := e.cfg.Store.ListSchools(ctx)
	if err != nil {
		return nil, err
	}
	idx := map[int64][]SchoolID{}
	for _, s := range schools {
		c, err := e.cfg.Store.GetConnection(ctx, s)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		idx[c.PortalID] = append(idx[c.PortalID], s)
	}
	e.mu.Lock()
	e.portals, e.portalsAt = idx, e.clk.Now()
	e.mu.Unlock()
	return idx[portal], nil
}

// applyInbound applies a batch of one school's inbound jobs.
func (e *Engine) applyInbound(ctx context.Context, school SchoolID, jobs []Job) error {
	settings, err := e.Settings(ctx, school)
	if err != nil {
		return err
	}
	rl := e.newRecordLog(school, DirectionToLMS)
	logf := rl.add
	defer e.writeLog(ctx, rl)

	rep, err := e.report(ctx, school, settings)
	if err != nil {
		return e.hubspotErr(ctx, school, err)
	}
	var rows []RowReport
	for _, r := range rep.Active() {
		if r.Direction.ToLMS() {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 && !settings.Inbound.CreateLearners {
		return nil // nothing points to the LMS: the events are not for us
	}
	catalog, err := e.cfg.Learners.Catalog(ctx, school)
	if err != nil {
		return err
	}
	fields := IndexFields(catalog)

	latest := map[string]time.Time{}
	var ids []string
	for _, j := range jobs {
		var p inboundPayload
		if err := json.Unmarshal(j.Payload, &p); err != nil || p.ContactID == "" {
			logf("", OutcomeFailed, "undecodable inbound job")
			continue
		}
		if _, dup := latest[p.ContactID]; !dup {
			ids = append(ids, p.ContactID)
		}
		if p.OccurredAt.After(latest[p.ContactID]) {
			latest[p.ContactID] = p.OccurredAt
		}
	}
	if len(ids) == 0 {
		return nil
	}
	props := []string{"email", "hs_additional_emails"}
	for _, r := range rows {
		props = append(props, r.Mapping.HubSpotProperty)
	}
	p, err := e.portalFor(ctx, school)
	if err != nil {
		return err
	}
	contacts, err := p.client.BatchReadByID(ctx, ids, props)
	if err != nil {
		return e.hubspotErr(ctx, school, err)
	}
	for _, id := range ids {
		c, ok := contacts[id]
		if !ok {
			e.log.Info("hubsync: contact gone from HubSpot (deleted or merged); nothing to apply", "school", school, "contact", id)
			continue
		}
		if err := e.applyContact(ctx, school, settings, rows, fields, c, latest[id], logf); err != nil {
			return err
		}
	}
	return nil
}

// applyContact applies one HubSpot contact to its learner. Errors returned are the kind that
// should retry the batch (the LMS or the store unavailable); per-record problems are logged.
func (e *Engine) applyContact(ctx context.Context, school SchoolID, settings Settings, rows []RowReport, fields FieldIndex, c hubspot.Contact, changedAt time.Time, logf func(string, LogOutcome, string)) error {
	email := FoldEmail(c.Properties["email"])
	if err := ValidateEmail(email); err != nil {
		logf(email, OutcomeSkipped, "contact "+c.ID+": "+err.Error())
		return nil
	}
	learner, err := e.cfg.Learners.GetByEmail(ctx, school, email)
	movedFrom := ""
	if errors.Is(err, ErrNotFound) {
		// An email changed in HubSpot keeps the old address as an additional email: look there
		// before deciding the person is new.
		for _, old := range strings.Split(c.Properties["hs_additional_emails"], ";") {
			old = FoldEmail(old)
			if old == "" || old == email {
				continue
			}
			l, gerr := e.cfg.Learners.GetByEmail(ctx, school, old)
			if gerr == nil {
				learner, err, movedFrom = l, nil, old
				break
			}
			if !errors.Is(gerr, ErrNotFound) {
				return gerr
			}
		}
	}
	if errors.Is(err, ErrNotFound) {
		if !settings.Inbound.CreateLearners {
			logf(email, OutcomeSkipped, "no learner with this email, and new-learner creation is off")
			return nil
		}
		return e.createLearner(ctx, school, settings, rows, fields, c, email, logf)
	}
	if err != nil {
		return err
	}
	return e.applyToLearner(ctx, school, settings, rows, fields, c, changedAt, learner, movedFrom, logf)
}

// applyToLearner writes a contact's mapped inbound values that differ to the learner it matched.
// movedFrom is the learner's old email when it was found by one of the contact's additional emails.
func (e *Engine) applyToLearner(ctx context.Context, school SchoolID, settings Settings, rows []RowReport, fields FieldIndex, c hubspot.Contact, changedAt time.Time, learner Learner, movedFrom string, logf func(string, LogOutcome, string)) error {
	email := FoldEmail(c.Properties["email"])
	stateKey := FoldEmail(learner.Email)
	st, err := e.cfg.Store.GetSyncState(ctx, school, stateKey)
	if errors.Is(err, ErrNotFound) {
		st, err = SyncState{School: school, Email: stateKey}, nil
	}
	if err != nil {
		return err
	}
	values := map[string]any{}
	written := map[[2]string]string{} // {LMS field, HubSpot property} -> canonical value
	for _, r := range rows {
		key, prop := r.Mapping.LMSField, r.Mapping.HubSpotProperty
		hsVal, err := NormalizeHubSpot(prop, r.Type, c.Properties[prop])
		if err != nil {
			logf(email, OutcomeFailed, err.Error())
			continue
		}
		lmsVal, err := ToHubSpot(key, r.Type, lmsValue(learner, key))
		if err != nil {
			lmsVal = "\x00unreadable" // differs from anything HubSpot holds
		}
		if key == "email" {
			if movedFrom == "" || hsVal == FoldEmail(learner.Email) {
				continue
			}
		} else if hsVal == lmsVal {
			continue
		}
		if r.Direction == DirectionBoth {
			// Two-way conflict: the LMS changed since the engine last synced the field, and
			// HubSpot holds what the engine wrote: HubSpot did not change, the LMS did.
			last, known := st.SentToHubSpot[prop]
			if known && hsVal == last && lmsVal != last {
				continue
			}
			if known && hsVal != last && lmsVal != last && !learner.Updated.IsZero() && learner.Updated.After(changedAt) {
				continue // both changed; the LMS's change is the more recent
			}
		}
		v, err := FromHubSpot(prop, r.Type, hsVal)
		if err != nil {
			logf(email, OutcomeFailed, err.Error())
			continue
		}
		if settings.Inbound.ValidateData {
			if err := checkRules(fields[key], v); err != nil {
				logf(email, OutcomeFailed, err.Error())
				continue
			}
		}
		if key == "email" {
			if err := ValidateEmail(hsVal); err != nil {
				logf(email, OutcomeFailed, "email: "+err.Error())
				continue
			}
		}
		values[key] = v
		written[[2]string{key, prop}] = hsVal
	}
	if len(values) == 0 {
		logf(email, OutcomeUnchanged, "")
		return nil
	}
	updated, err := e.cfg.Learners.Update(ctx, school, learner.ID, values)
	if err != nil {
		if errors.Is(err, ErrReadOnly) || errors.Is(err, ErrInvalidValue) || errors.Is(err, ErrConflict) {
			logf(email, OutcomeFailed, err.Error())
			return nil
		}
		return err
	}
	e.recordInbound(&st, written, updated)
	if newKey := FoldEmail(updated.Email); newKey != st.Email {
		st.Email = newKey
	}
	if err := e.cfg.Store.PutSyncState(ctx, st); err != nil {
		return err
	}
	logf(email, OutcomeUpdated, "")
	return nil
}

// recordInbound notes values the engine wrote to the LMS: they are what HubSpot holds too, so
// the learner change the host reports next sends nothing back (no ping-pong).
func (e *Engine) recordInbound(st *SyncState, written map[[2]string]string, l Learner) {
	if st.SentToHubSpot == nil {
		st.SentToHubSpot = map[string]string{}
	}
	if st.SentToLMS == nil {
		st.SentToLMS = map[string]string{}
	}
	for kp, v := range written {
		st.SentToLMS[kp[0]] = v
		st.SentToHubSpot[kp[1]] = v
	}
	if l.ID != "" {
		st.LearnerID = l.ID
	}
}

var usernameUnsafe = regexp.MustCompile(`[^a-z0-9._-]+`)

// usernameFor derives a username from an email: its local part, lower-cased, reduced to
// [a-z0-9._-], at most 30 characters; try n > 0 adds a suffix from the email's hash (and n), so the
// sequence of candidates is the same every time for the same email.
func usernameFor(email string, n int) string {
	local := email
	if at := strings.LastIndexByte(email, '@'); at > 0 {
		local = email[:at]
	}
	base := strings.Trim(usernameUnsafe.ReplaceAllString(strings.ToLower(local), ""), "._-")
	if base == "" {
		base = "learner"
	}
	if len(base) > 30 {
		base = base[:30]
	}
	if n == 0 {
		return base
	}
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	suffix := hex.EncodeToString(sum[:])[:6]
	if n > 1 {
		suffix += strconv.Itoa(n)
	}
	return base + "-" + suffix
}

func (e *Engine) createLearner(ctx context.Context, school SchoolID, settings Settings, rows []RowReport, fields FieldIndex, c hubspot.Contact, email string, logf func(string, LogOutcome, string)) error {
	values := map[string]any{}
	written := map[[2]string]string{}
	for _, r := range rows {
		key, prop := r.Mapping.LMSField, r.Mapping.HubSpotProperty
		if key == "email" || key == "username" {
			continue
		}
		hsVal, err := NormalizeHubSpot(prop, r.Type, c.Properties[prop])
		if err != nil {
			logf(email, OutcomeFailed, err.Error())
			continue
		}
		if hsVal == "" {
			continue
		}
		v, _ := FromHubSpot(prop, r.Type, hsVal)
		if settings.Inbound.ValidateData {
			if err := checkRules(fields[key], v); err != nil {
				logf(email, OutcomeFailed, err.Error())
				continue
			}
		}
		values[key] = v
		written[[2]string{key, prop}] = hsVal
	}
	if settings.Inbound.ValidateData {
		// Required fields must be present on a new learner, or it is not created.
		for _, f := range fields {
			if f.Validation.Required && f.Writable && f.Key != "email" && f.Key != "username" && values[f.Key] == nil {
				logf(email, OutcomeFailed, fmt.Sprintf("field %q is required and HubSpot has no value for it; learner not created", f.Key))
				return nil
			}
		}
	}
	var created Learner
	var err error
	for try := range 5 {
		created, err = e.cfg.Learners.Create(ctx, school, NewLearner{
			Email: email, Username: usernameFor(email, try), Values: values,
			Tags: settings.Inbound.Tags, SendWelcomeEmail: settings.Inbound.SendWelcomeEmail,
		})
		if !errors.Is(err, ErrConflict) {
			break
		}
		if _, gerr := e.cfg.Learners.GetByEmail(ctx, school, email); gerr == nil {
			logf(email, OutcomeSkipped, "learner created meanwhile by someone else; the next change updates it")
			return nil
		}
	}
	if err != nil {
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalidValue) || errors.Is(err, ErrReadOnly) {
			logf(email, OutcomeFailed, "creating the learner: "+err.Error())
			return nil
		}
		return err
	}
	st := SyncState{School: school, Email: email, ContactID: c.ID}
	e.recordInbound(&st, written, created)
	if err := e.cfg.Store.PutSyncState(ctx, st); err != nil {
		return err
	}
	logf(email, OutcomeCreated, "")
	return nil
}

// checkRules applies an LMS field's validation rules to a value about to be written.
func checkRules(f LearnerField, v any) error {
	r := f.Validation
	if v == nil {
		if r.Required {
			return fmt.Errorf("%w: field %q is required", ErrInvalidValue, f.Key)
		}
		return nil
	}
	switch x := v.(type) {
	case string:
		if r.MaxLength > 0 && utf8.RuneCountInString(x) > r.MaxLength {
			return fmt.Errorf("%w: field %q: longer than %d characters", ErrInvalidValue, f.Key, r.MaxLength)
		}
		if r.Pattern != "" {
			re, err := regexp.Compile("^(?:" + r.Pattern + ")$")
			if err != nil {
				return fmt.Errorf("%w: field %q: its validation pattern does not compile: %v", ErrInvalidValue, f.Key, err)
			}
			if !re.MatchString(x) {
				return fmt.Errorf("%w: field %q: value does not match the field's pattern", ErrInvalidValue, f.Key)
			}
		}
		if len(r.Options) > 0 {
			ok := false
			for _, o := range r.Options {
				ok = ok || o == x
			}
			if !ok {
				return fmt.Errorf("%w: field %q: value is not one of the field's options", ErrInvalidValue, f.Key)
			}
		}
	case float64:
		if r.HasMin && x < r.Min {
			return fmt.Errorf("%w: field %q: below the minimum %v", ErrInvalidValue, f.Key, r.Min)
		}
		if r.HasMax && x > r.Max {
			return fmt.Errorf("%w: field %q: above the maximum %v", ErrInvalidValue, f.Key, r.Max)
		}
	}
	return nil
}
