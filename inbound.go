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
	"github.com/hubsync/hubsync/internal/logthrottle"
)

// HubSpot -> LMS.
//
// Contact changes reach the engine as signed HubSpot webhooks (HubSpotWebhooks). Each event is
// checked, deduplicated and queued durably before the handler answers, then a worker applies it:
// it reads the contact's mapped properties (in batches), finds the learner by email, and writes the
// mapped inbound fields whose property the events changed and whose values differ from the
// learner's. Passwords, roles and enrolments are never touched: the engine only ever writes mapped
// fields through Learners.Update.
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
//   - Blanks (every direction that writes to the LMS, live and manual): an empty HubSpot value
//     never overwrites a learner's value (HubSpot Data Sync's rule); the field is left alone,
//     silently, and a record whose only differences were blanks is logged unchanged. The one
//     exception is an explicit clear of a value hubsync itself synced: when the sync state says
//     the engine last synced that property with a value (so HubSpot held it through hubsync) and
//     the learner still holds that same value, the empty value clears the learner's field. A
//     new learner never gets a blank either.
//   - Live changes apply only the rows whose HubSpot property the webhook says changed (all of
//     a contact's changes in a batch together): an edit of an outbound-only or unmapped property
//     writes nothing to the LMS and does not even read the contact. Creation, merge and restore
//     events apply every row, and so does a manual sync. A new learner, when creation is on, gets
//     every row's value whatever changed; a contact with no learner becomes one at its creation,
//     at an edit of a mapped inbound property or of its email, or in a manual sync.
//   - A contact deleted in HubSpot never deletes a learner; it is logged.
//   - A merge is applied to the surviving contact: its values flow to the learner matching its
//     email, so merging never creates a second learner.
//   - An email change in HubSpot: HubSpot keeps the old address as an additional email, so the
//     engine finds the learner by it, never creates a duplicate, and moves the learner's email too
//     when an email row points to the LMS.
//   - Additional emails and collisions: a learner found by one of the contact's additional
//     emails is written, and its entry's reason says "matched by additional email" (masked).
//     When the contact's email is learner A's and an additional email is learner B's, A is
//     written (the contact is already A's: outbound upserts by email land on it) and B is not;
//     A's entry names both, masked, so an operator can merge them or remove the address (a
//     manual sync logs B skipped, naming both). When no learner has the contact's email and its
//     additional emails match two learners, which one moved is unknown: neither is written and
//     the contact is skipped with a reason naming them; no learner is created for it either.
//   - One outcome per record per pass: a value left out (it does not convert, or the LMS's rules
//     refuse it) does not get an entry of its own; the record's one entry is created or updated
//     with the reason "partial: ..." naming the refused fields, or failed when nothing could be
//     written. Every skip says why.
//   - No matching learner: skipped and logged, unless new-learner creation is on.

// inboundPayload is an inbound job: one contact, and the properties its events changed.
type inboundPayload struct {
	ContactID  string    `json:"contact_id"`
	OccurredAt time.Time `json:"occurred_at"`
	// Properties are the HubSpot properties the event changed (a contact.propertyChange names
	// one). Empty means every row: creation, merge and restore events, and jobs queued before
	// the field existed.
	Properties []string `json:"properties,omitempty"`
}

// inboundAll is the property part of the key of an inbound job for every row.
const inboundAll = "*"

// inboundKey is the coalescing key of an inbound job: per contact and changed property, so that
// coalescing, which keeps only the newest payload of a key, never loses an edit of another
// property; prop "" (every row) keys as inboundAll.
func inboundKey(contact, prop string) string {
	if prop == "" {
		prop = inboundAll
	}
	return "inbound|" + contact + "|" + prop
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
	// AllowV1V2 also accepts deliveries signed with HubSpot's v1 or v2 signature, when they carry
	// no v3 one. Off by default: v1 and v2 have no timestamp, so a captured delivery verifies
	// forever and is applied again once its dedupe record is pruned (after Retention.Webhooks).
	// Turn it on only for an app that does not send v3.
	AllowV1V2 bool
}

// HubSpotWebhooks returns the handler for HubSpot's contact webhooks. It answers 405 to anything
// but POST, 413 to an oversized body, 401 to a bad or stale signature, and 400 (naming the events)
// when some events of a delivery are malformed; every well-formed event of the delivery is queued
// all the same, so nothing else in the batch is lost. It answers 200 once the events are queued
// durably, and 500 when the queue refuses them (HubSpot then retries). Each event is applied at
// most once however often HubSpot delivers it. Only v3 signatures are accepted unless
// opts.AllowV1V2. A refused signature is logged at warn level with the remote address, at most
// once every 10 s (the line counts the refusals left out), so an attack shows in the log without
// flooding it.
func (e *Engine) HubSpotWebhooks(opts WebhookOptions) http.Handler {
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	verify := hubspot.VerifyRequestV3
	if opts.AllowV1V2 {
		verify = hubspot.VerifyRequest
	}
	refusals := logthrottle.New(e.clk, logthrottle.Every)
	return e.CountWebhooks("hubspot", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
		if err := verify(r, publicURL(r, opts.PublicURL), body, e.cfg.HubSpot.ClientSecret, e.clk.Now()); err != nil {
			if ok, left := refusals.Allow(); ok {
				e.log.WarnContext(r.Context(), "hubsync: HubSpot webhook refused: bad signature", "remote", r.RemoteAddr, "err", err, "refusals_not_logged", left)
			}
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
	}))
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

// webhookItem is one routed event: its dedupe key and the job it becomes.
type webhookItem struct {
	dedupe string
	job    JobSpec
}

// intake routes, deduplicates and queues webhook events.
func (e *Engine) intake(ctx context.Context, events []hubspot.WebhookEvent) error {
	items, err := e.route(ctx, events)
	if err != nil || len(items) == 0 {
		return err
	}
	if err := e.markAndQueue(ctx, items); err != nil {
		return err
	}
	e.notify()
	e.noteIntake(ctx, events) // the watermark, or a catch-up for a gap (engine_catchup.go)
	return nil
}

// route turns events into one job per school connected to the event's portal, leaving out the
// echoes of the engine's own writes and events that carry no profile data. A job names the
// property a contact.propertyChange changed and is keyed per contact and property (inboundKey);
// the school's rows are not looked at here: applyInbound filters.
func (e *Engine) route(ctx context.Context, events []hubspot.WebhookEvent) ([]webhookItem, error) {
	var items []webhookItem
	for _, ev := range events {
		schools, err := e.schoolsOfPortal(ctx, ev.PortalID)
		if err != nil {
			return nil, err
		}
		if len(schools) == 0 {
			e.log.Info("hubsync: webhook for a portal no school is connected to", "portal", ev.PortalID)
			continue
		}
		if e.ownChange(ev) {
			continue // the echo of the engine's own write
		}
		contact, ok := e.eventContact(ev)
		if !ok {
			continue
		}
		id := strconv.FormatInt(contact, 10)
		p, prop := inboundPayload{ContactID: id, OccurredAt: ev.OccurredAt}, ""
		if strings.HasSuffix(ev.SubscriptionType, ".propertyChange") && ev.PropertyName != "" {
			p.Properties, prop = []string{ev.PropertyName}, ev.PropertyName
		}
		payload, _ := json.Marshal(p)
		key := fmt.Sprintf("%d|%d|%s|%d|%s|%d", ev.PortalID, ev.EventID, ev.SubscriptionType, ev.ObjectID, ev.PropertyName, ev.OccurredAt.UnixMilli())
		for _, s := range schools {
			items = append(items, webhookItem{
				dedupe: string(s) + "|" + key,
				job:    JobSpec{School: s, Kind: JobInbound, Key: inboundKey(id, prop), Payload: payload, Priority: PriorityLive},
			})
		}
	}
	return items, nil
}

// eventContact returns the contact whose profile an event changed: the surviving contact of a
// merge, the object of a property change, creation or restore. ok is false for deletions (which
// never delete a learner; logged) and events that carry no profile data.
func (e *Engine) eventContact(ev hubspot.WebhookEvent) (contact int64, ok bool) {
	contact = ev.ObjectID
	switch {
	case strings.HasSuffix(ev.SubscriptionType, ".deletion"), strings.HasSuffix(ev.SubscriptionType, ".privacyDeletion"):
		e.log.Info("hubsync: contact deleted in HubSpot; the learner is kept", "portal", ev.PortalID, "contact", ev.ObjectID)
		return 0, false
	case strings.HasSuffix(ev.SubscriptionType, ".merge"):
		if ev.PrimaryObjectID != 0 {
			contact = ev.PrimaryObjectID
		}
		if ev.NewObjectID != 0 {
			contact = ev.NewObjectID
		}
	case strings.HasSuffix(ev.SubscriptionType, ".propertyChange"), strings.HasSuffix(ev.SubscriptionType, ".creation"), strings.HasSuffix(ev.SubscriptionType, ".restore"):
	default:
		return 0, false // association changes and the like
	}
	return contact, contact != 0
}

// markAndQueue records each event as seen and queues the jobs of those seen for the first time.
func (e *Engine) markAndQueue(ctx context.Context, items []webhookItem) error {
	now := e.clk.Now()
	if tx, ok := e.cfg.Store.(Transactor); ok {
		// Mark and queue in one transaction: an event is queued exactly once, however often
		// HubSpot delivers it.
		return tx.RunInTx(ctx, func(ctx context.Context, s Store, q Queue) error {
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
	if ids, ok := e.schools.portalSchools(portal, e.clk.Now()); ok {
		return ids, nil
	}
	schools, err := e.cfg.Store.ListSchools(ctx)
	if err != nil {
		return nil, err
	}
	idx := map[int64][]SchoolID{}
	var unreadable []error
	for _, s := range schools {
		c, err := e.cfg.Store.GetConnection(ctx, s)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			// One school's connection that cannot be read (a token sealed under a key this
			// process was not given, say) must not stop every other school's webhooks.
			unreadable = append(unreadable, fmt.Errorf("school %q: %w", s, err))
			continue
		}
		idx[c.PortalID] = append(idx[c.PortalID], s)
	}
	// Cached, unreadable schools left out: a portal found in it is served from the cache until
	// it expires; one not found (perhaps an unreadable school's) rebuilds it each time.
	e.schools.keepPortalIndex(idx, e.clk.Now())
	if len(unreadable) == 0 {
		return idx[portal], nil
	}
	err = errors.Join(unreadable...)
	if len(idx[portal]) == 0 {
		// The portal may be an unreadable school's: refuse the delivery (HubSpot redelivers it)
		// rather than drop it as a portal nobody is connected to.
		return nil, fmt.Errorf("hubsync: no readable school is connected to portal %d, and %d connection(s) cannot be read: %w", portal, len(unreadable), err)
	}
	e.log.Warn("hubsync: some schools' connections cannot be read; their webhooks wait", "portal", portal, "unreadable", len(unreadable), "err", err)
	return idx[portal], nil
}

// inRun is one HubSpot -> LMS pass's context (a batch of live inbound jobs, or a page of a
// manual sync): the school's settings, the valid rows that write to the LMS, the LMS catalog,
// the portal, and the sync log entries it collects. Built once by newInRun.
type inRun struct {
	e        *Engine
	school   SchoolID
	settings Settings
	rows     []RowReport // valid rows that write to the LMS
	fields   FieldIndex
	p        *portal
	log      *recordLog
	plan     *dryPlan // in a dry run, takes the LMS writes' place (engine_dryrun.go)
}

// newInRun builds an inbound pass. idle is true when nothing points to the LMS (no inbound row
// and no new-learner creation): the pass has nothing to do, and the portal was not read.
func (e *Engine) newInRun(ctx context.Context, school SchoolID) (r *inRun, idle bool, err error) {
	settings, err := e.Settings(ctx, school)
	if err != nil {
		return nil, false, err
	}
	rep, catalog, err := e.reportAndCatalog(ctx, school, settings)
	if err != nil {
		return nil, false, err
	}
	r = &inRun{e: e, school: school, settings: settings, log: e.newRecordLog(school, DirectionToLMS)}
	for _, row := range rep.Active() {
		if row.Direction.ToLMS() {
			r.rows = append(r.rows, row)
		}
	}
	if len(r.rows) == 0 && !settings.Inbound.CreateLearners {
		return r, true, nil
	}
	r.fields = IndexFields(catalog)
	if r.p, err = e.portalFor(ctx, school); err != nil {
		return nil, false, err
	}
	return r, false, nil
}

// props are the contact properties an inbound pass reads.
func (r *inRun) props() []string {
	props := []string{"email", "hs_additional_emails"}
	for _, row := range r.rows {
		props = append(props, row.Mapping.HubSpotProperty)
	}
	return props
}

// inboundChange is what a batch's jobs say about one contact: the newest change's time, and the
// properties changed (all: every row).
type inboundChange struct {
	at    time.Time
	all   bool
	props map[string]bool
}

// applyInbound applies a batch of one school's inbound jobs. A contact's jobs (one per changed
// property) are applied together, with the union of their properties; a contact none of whose
// changed properties is read by an inbound row is not even read from HubSpot.
func (e *Engine) applyInbound(ctx context.Context, school SchoolID, jobs []Job) error {
	r, idle, err := e.newInRun(ctx, school)
	if err != nil || idle {
		return err // idle: nothing points to the LMS, the events are not for us
	}
	defer e.writeLog(ctx, r.log)
	order, changes, bad := groupInbound(jobs)
	for range bad {
		r.log.add("", OutcomeFailed, "undecodable inbound job")
	}
	rows := map[string][]RowReport{}
	var ids []string
	for _, id := range order {
		ch := changes[id]
		if ch.all {
			rows[id] = r.rows
		} else {
			rows[id] = changedRows(r.rows, ch.props)
		}
		// With creation on, an email set on a contact may make it a new learner.
		if ch.all || len(rows[id]) > 0 || (ch.props["email"] && r.settings.Inbound.CreateLearners) {
			ids = append(ids, id)
		}
	}
	if n := len(order) - len(ids); n > 0 {
		e.log.Debug("hubsync: HubSpot changes of properties no inbound row reads; nothing to apply", "school", school, "contacts", n)
	}
	if len(ids) == 0 {
		return nil
	}
	contacts, err := r.p.client.BatchReadByID(ctx, ids, r.props())
	if err != nil {
		return err
	}
	for _, id := range ids {
		c, ok := contacts[id]
		if !ok {
			r.log.add("", OutcomeSkipped, "contact "+id+" gone from HubSpot (deleted or merged); nothing to apply")
			continue
		}
		if err := r.apply(ctx, c, changes[id].at, rows[id]); err != nil {
			return err
		}
	}
	return nil
}

// groupInbound groups a batch's inbound jobs by contact (in the order of each contact's first
// job): the newest occurredAt, and the union of the changed properties, where a job without a
// property list (every row) makes it all. bad counts the undecodable jobs.
func groupInbound(jobs []Job) (order []string, changes map[string]*inboundChange, bad int) {
	changes = map[string]*inboundChange{}
	for _, j := range jobs {
		var p inboundPayload
		if err := json.Unmarshal(j.Payload, &p); err != nil || p.ContactID == "" {
			bad++
			continue
		}
		ch := changes[p.ContactID]
		if ch == nil {
			ch = &inboundChange{props: map[string]bool{}}
			changes[p.ContactID] = ch
			order = append(order, p.ContactID)
		}
		if p.OccurredAt.After(ch.at) {
			ch.at = p.OccurredAt
		}
		ch.all = ch.all || len(p.Properties) == 0
		for _, prop := range p.Properties {
			ch.props[prop] = true
		}
	}
	return order, changes, bad
}

// changedRows returns the rows whose HubSpot property is among changed, in their order.
func changedRows(rows []RowReport, changed map[string]bool) []RowReport {
	var out []RowReport
	for _, row := range rows {
		if changed[row.Mapping.HubSpotProperty] {
			out = append(out, row)
		}
	}
	return out
}

// apply applies one HubSpot contact to its learner (rows: the inbound rows to apply, r.rows or
// those whose property changed), creating the learner when none matches and creation is on; a new
// learner gets every row's value. Errors returned are the kind that should retry the batch (the
// LMS or the store unavailable); per-record problems are logged.
func (r *inRun) apply(ctx context.Context, c hubspot.Contact, changedAt time.Time, rows []RowReport) error {
	email := FoldEmail(c.Properties["email"])
	if err := ValidateEmail(email); err != nil {
		r.log.add(email, OutcomeSkipped, "contact "+c.ID+": "+err.Error())
		return nil
	}
	learner, movedFrom, err := r.match(ctx, c, email)
	if errors.Is(err, errAmbiguous) {
		r.log.add(email, OutcomeSkipped, "contact "+c.ID+": "+err.Error())
		return nil
	}
	if errors.Is(err, ErrNotFound) {
		if !r.settings.Inbound.CreateLearners {
			r.log.add(email, OutcomeSkipped, "no learner with this email, and new-learner creation is off")
			return nil
		}
		return r.create(ctx, c, email)
	}
	if err != nil {
		return err
	}
	note := ""
	if movedFrom != "" {
		note = "matched by additional email " + MaskEmail(movedFrom)
	} else if note, err = r.collisions(ctx, c, email, learner); err != nil {
		return err
	}
	return r.applyTo(ctx, c, changedAt, learner, movedFrom, note, rows)
}

// collisions looks for other learners the contact's additional emails match, when learner
// matched its primary email. The primary-email match is written (outbound upserts by email land
// on this contact too, so it is already that learner's contact); the others are not, and note,
// the reason of the record's entry, names them so an operator can resolve it.
func (r *inRun) collisions(ctx context.Context, c hubspot.Contact, email string, learner Learner) (note string, err error) {
	var others []string
	for _, old := range strings.Split(c.Properties["hs_additional_emails"], ";") {
		old = FoldEmail(old)
		if old == "" || old == email || old == FoldEmail(learner.Email) {
			continue
		}
		l, gerr := r.e.cfg.Learners.GetByEmail(ctx, r.school, old)
		if errors.Is(gerr, ErrNotFound) {
			continue
		}
		if gerr != nil {
			return "", gerr
		}
		if l.ID != learner.ID {
			others = append(others, MaskEmail(old))
		}
	}
	if len(others) == 0 {
		return "", nil
	}
	return fmt.Sprintf("collision: contact %s's email %s matches this learner and its additional email %s matches another learner, who was not written; merge the learners or remove the address in HubSpot",
		c.ID, MaskEmail(email), strings.Join(others, ", ")), nil
}

// match finds the contact's learner by email or, since HubSpot keeps an old address as an
// additional email after an email change, by one of those (movedFrom is then the old address).
// When no learner has the email and additional emails match two learners, which one moved is
// unknown: the error wraps errAmbiguous, naming both masked, and neither is written.
func (r *inRun) match(ctx context.Context, c hubspot.Contact, email string) (l Learner, movedFrom string, err error) {
	l, err = r.e.cfg.Learners.GetByEmail(ctx, r.school, email)
	if !errors.Is(err, ErrNotFound) {
		return l, "", err
	}
	var found Learner
	for _, old := range strings.Split(c.Properties["hs_additional_emails"], ";") {
		old = FoldEmail(old)
		if old == "" || old == email {
			continue
		}
		l, gerr := r.e.cfg.Learners.GetByEmail(ctx, r.school, old)
		if errors.Is(gerr, ErrNotFound) {
			continue
		}
		if gerr != nil {
			return Learner{}, "", gerr
		}
		switch {
		case movedFrom == "":
			found, movedFrom = l, old
		case l.ID != found.ID:
			return Learner{}, "", fmt.Errorf("%w: no learner has the email %s, and its additional emails %s and %s match two learners; neither was written: merge them or remove an address in HubSpot",
				errAmbiguous, MaskEmail(email), MaskEmail(movedFrom), MaskEmail(old))
		}
	}
	if movedFrom != "" {
		return found, movedFrom, nil
	}
	return Learner{}, "", err
}

// errAmbiguous is a contact that matches two learners by its additional emails (match).
var errAmbiguous = errors.New("hubsync: ambiguous match")

// recordRefused reports whether an LMS write error is about this one record (logged, the batch
// goes on) rather than the LMS as a whole (returned, the batch is judged). ErrNotFound here is a
// learner deleted between the match and the write.
func recordRefused(err error) bool {
	var pe *PermanentError
	return errors.Is(err, ErrReadOnly) || errors.Is(err, ErrInvalidValue) || errors.Is(err, ErrConflict) ||
		errors.Is(err, ErrNotFound) || errors.As(err, &pe)
}

// applyTo writes a contact's values of rows (inbound rows) that differ to the learner it matched.
// movedFrom is the learner's old email when it was found by one of the contact's additional emails;
// note goes into the reason of the record's entry (how it matched, a collision).
func (r *inRun) applyTo(ctx context.Context, c hubspot.Contact, changedAt time.Time, learner Learner, movedFrom, note string, rows []RowReport) error {
	email := FoldEmail(c.Properties["email"])
	stateKey := FoldEmail(learner.Email)
	// Read right before the learner's write, not once for the batch: LMS writes are paced (a
	// batch takes seconds), and the school's outbound lane may store this state meanwhile.
	st, err := r.e.cfg.Store.GetSyncState(ctx, r.school, stateKey)
	if errors.Is(err, ErrNotFound) {
		st, err = SyncState{School: r.school, Email: stateKey}, nil
	}
	if err != nil {
		return err
	}
	st = r.plan.state(st) // a dry run: as its first phase would have left it
	values, written, problems := r.inboundValues(c, changedAt, learner, movedFrom, st, rows)
	if len(values) == 0 {
		if len(problems) > 0 {
			r.log.add(email, OutcomeFailed, joinReasons(append([]string{note}, problems...)...))
		} else {
			r.log.add(email, OutcomeUnchanged, note)
		}
		return nil
	}
	if r.plan != nil {
		r.plan.lmsChanges(email, learner, values, written)
		r.log.add(email, OutcomeUpdated, joinReasons(note, partial(problems)))
		return nil
	}
	updated, err := r.e.cfg.Learners.Update(ctx, r.school, learner.ID, values)
	if err != nil {
		if recordRefused(err) {
			r.log.add(email, OutcomeFailed, joinReasons(append([]string{note, err.Error()}, problems...)...))
			return nil
		}
		return err
	}
	recordInbound(&st, written, updated)
	if newKey := FoldEmail(updated.Email); newKey != st.Email {
		st.Email = newKey
	}
	// Stored at once, not with the batch's others: the learner is written already, and the
	// state is what keeps its echo from coming back (and the blank and conflict rules right).
	if err := r.e.cfg.Store.PutSyncState(ctx, st); err != nil {
		return err
	}
	r.log.add(email, OutcomeUpdated, joinReasons(note, partial(problems)))
	return nil
}

// inboundValues returns the values to write to the learner (by LMS field, in the LMS's types) and
// the canonical HubSpot form of each ({LMS field, HubSpot property}), applying the blank rule, the
// two-way conflict rule and the LMS's validation. problems say why each value that cannot be
// written was left out; the caller logs them in the record's one entry.
func (r *inRun) inboundValues(c hubspot.Contact, changedAt time.Time, learner Learner, movedFrom string, st SyncState, rows []RowReport) (values map[string]any, written map[[2]string]string, problems []string) {
	values = map[string]any{}
	written = map[[2]string]string{}
	for _, row := range rows {
		key, prop := row.Mapping.LMSField, row.Mapping.HubSpotProperty
		hsVal, err := NormalizeHubSpot(prop, row.Type, c.Properties[prop])
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		lmsVal, err := ToHubSpot(key, row.Type, lmsValue(learner, key))
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
		if blankKept(st.SentToHubSpot, prop, hsVal, lmsVal) {
			continue // a blank never overwrites a value (see the rules above)
		}
		if row.Direction == DirectionBoth && lmsWins(st.SentToHubSpot, prop, hsVal, lmsVal, learner.Updated, changedAt) {
			continue
		}
		v, err := r.checked(row, hsVal)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		values[key] = v
		written[[2]string{key, prop}] = hsVal
	}
	return values, written, problems
}

// blankKept is the blank rule for one field: an empty HubSpot value leaves a non-empty LMS value
// alone, unless it is the explicit clear of a value the engine synced: the engine last synced prop
// with a value (sent[prop], so HubSpot held it through the engine) and the LMS still holds that
// same value. hsVal and lmsVal are canonical HubSpot forms.
func blankKept(sent map[string]string, prop, hsVal, lmsVal string) bool {
	if hsVal != "" || lmsVal == "" {
		return false
	}
	return !sentIs(sent, prop, lmsVal) // an unrecorded or empty sent[prop] never records lmsVal here
}

// lmsWins is the two-way conflict rule for one field: the LMS keeps its value when HubSpot still
// holds what the engine last wrote there (HubSpot did not change, the LMS did), or when both
// changed since and the LMS's change is the more recent (lmsUpdated after hsChanged; an unknown
// lmsUpdated loses).
func lmsWins(sent map[string]string, prop, hsVal, lmsVal string, lmsUpdated, hsChanged time.Time) bool {
	if _, known := sent[prop]; !known {
		return false
	}
	hsLast, lmsLast := sentIs(sent, prop, hsVal), sentIs(sent, prop, lmsVal)
	if hsLast && !lmsLast {
		return true
	}
	return !hsLast && !lmsLast && !lmsUpdated.IsZero() && lmsUpdated.After(hsChanged)
}

// checked converts a HubSpot value for row's LMS field and applies the field's rules (with data
// validation on) and the email check; the error says why the value cannot be written.
func (r *inRun) checked(row RowReport, hsVal string) (any, error) {
	key, prop := row.Mapping.LMSField, row.Mapping.HubSpotProperty
	v, err := FromHubSpot(prop, row.Type, hsVal)
	if err != nil {
		return nil, err
	}
	if r.settings.Inbound.ValidateData {
		if err := checkRules(r.fields[key], v); err != nil {
			return nil, err
		}
	}
	if key == "email" {
		if err := ValidateEmail(hsVal); err != nil {
			return nil, fmt.Errorf("email: %w", err)
		}
	}
	return v, nil
}

// recordInbound notes values the engine wrote to the LMS: they are what HubSpot holds too, so
// the learner change the host reports next sends nothing back (no ping-pong).
func recordInbound(st *SyncState, written map[[2]string]string, l Learner) {
	for kp, v := range written {
		st.SentToLMS = recordSent(st.SentToLMS, kp[0], v)
		st.SentToHubSpot = recordSent(st.SentToHubSpot, kp[1], v)
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

// create makes a learner for a contact no learner matches, with the contact's mapped inbound
// values, the school's tags and (optionally) a welcome email. With data validation on, a learner
// missing a required field is not created.
func (r *inRun) create(ctx context.Context, c hubspot.Contact, email string) error {
	values, written, problems, ok := r.newLearnerValues(c)
	if !ok {
		r.log.add(email, OutcomeFailed, joinReasons(problems...))
		return nil
	}
	if r.plan != nil {
		r.plan.lmsChanges(email, Learner{}, values, written)
		r.log.add(email, OutcomeCreated, partial(problems))
		return nil
	}
	var created Learner
	var err error
	for try := range 5 {
		created, err = r.e.cfg.Learners.Create(ctx, r.school, NewLearner{
			Email: email, Username: usernameFor(email, try), Values: values,
			Tags: r.settings.Inbound.Tags, SendWelcomeEmail: r.settings.Inbound.SendWelcomeEmail,
		})
		if !errors.Is(err, ErrConflict) {
			break
		}
		if _, gerr := r.e.cfg.Learners.GetByEmail(ctx, r.school, email); gerr == nil {
			r.log.add(email, OutcomeSkipped, "learner created meanwhile by someone else; the next change updates it")
			return nil
		}
	}
	if err != nil {
		if recordRefused(err) {
			r.log.add(email, OutcomeFailed, joinReasons(append([]string{"creating the learner: " + err.Error()}, problems...)...))
			return nil
		}
		return err
	}
	st := SyncState{School: r.school, Email: email, ContactID: c.ID}
	recordInbound(&st, written, created)
	if err := r.e.cfg.Store.PutSyncState(ctx, st); err != nil {
		return err
	}
	r.log.add(email, OutcomeCreated, partial(problems))
	return nil
}

// newLearnerValues returns a new learner's values from the contact, and why each value left out
// was refused; ok is false (the last problem saying why) when a required field has no value under
// data validation.
func (r *inRun) newLearnerValues(c hubspot.Contact) (values map[string]any, written map[[2]string]string, problems []string, ok bool) {
	values = map[string]any{}
	written = map[[2]string]string{}
	for _, row := range r.rows {
		key, prop := row.Mapping.LMSField, row.Mapping.HubSpotProperty
		if key == "email" || key == "username" {
			continue
		}
		hsVal, err := NormalizeHubSpot(prop, row.Type, c.Properties[prop])
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if hsVal == "" {
			continue
		}
		v, err := r.checked(row, hsVal)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		values[key] = v
		written[[2]string{key, prop}] = hsVal
	}
	if r.settings.Inbound.ValidateData {
		for _, f := range r.fields {
			if f.Validation.Required && f.Writable && f.Key != "email" && f.Key != "username" && values[f.Key] == nil {
				problems = append(problems, fmt.Sprintf("field %q is required and HubSpot has no value for it; learner not created", f.Key))
				return nil, nil, problems, false
			}
		}
	}
	return values, written, problems, true
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
