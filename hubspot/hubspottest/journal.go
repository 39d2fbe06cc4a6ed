package hubspottest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The Webhooks Journal (2026-03): subscriptions, the local (per-portal) journal read forward in
// batches, and the journal files its answers point to. HubSpot's documents say what the API
// answers (a presigned url, its expiry and an offset per entry) but not what a file holds; the
// fake's file is a JSON array of events shaped like webhook events (objectId, occurredAt,
// subscriptionType, propertyName, propertyValue, changeSource, sourceId, eventId), one entry
// holding up to 100 events. Entries older than JournalRetention are dropped, and reading next
// from an offset the journal no longer has answers 404, as the 2027-03-beta reference says.
//
// Journal calls authenticate with a client-credentials token (grant_type=client_credentials on
// the token endpoint); the journal records a portal's contact changes only while the app holds
// an OBJECT subscription for it.

// JournalRetention is how long the fake keeps journal entries ("the past 3 days").
const JournalRetention = 72 * time.Hour

type journalEntry struct {
	offset string
	at     time.Time
	events []map[string]any
	read   bool // handed out: later events open a new entry
}

type journalSub struct {
	ID         int64    `json:"id"`
	PortalID   int64    `json:"portalId"`
	Properties []string `json:"properties"`
	Actions    []string `json:"actions"`
	Created    time.Time
}

type journalState struct {
	subs    []journalSub
	nextSub int64
	entries []*journalEntry
	files   map[string]*journalEntry // file id -> entry
	seq     int64
}

// handleClientCredentials answers grant_type=client_credentials (called with s.mu held): an app
// token for the journal, with the scopes asked for.
func (s *Server) handleClientCredentialsLocked(w http.ResponseWriter, f url.Values) {
	scopes := strings.Fields(f.Get("scope"))
	access := s.issueLocked("", scopes)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access, "expires_in": int64(s.cfg.tokenTTL / time.Second),
		"token_type": "bearer", "token_use": "client_credentials", "scopes": scopes,
	})
}

// JournalSubscriptions returns the app's journal subscriptions' portals, for tests.
func (s *Server) JournalSubscriptions() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for _, sub := range s.journal.subs {
		out = append(out, sub.PortalID)
	}
	return out
}

// journalLocked records a contact change in the journal when the portal is subscribed.
func (s *Server) journalLocked(c *contact, typ, prop string, src ChangeSource) {
	subscribed := false
	for _, sub := range s.journal.subs {
		subscribed = subscribed || sub.PortalID == s.cfg.portalID
	}
	if !subscribed {
		return
	}
	if src == sourceAPI {
		src.SourceID = strconv.FormatInt(s.cfg.appID, 10)
	}
	now := s.clk.Now()
	s.journal.seq++
	ev := map[string]any{
		"eventId": s.journal.seq, "portalId": s.cfg.portalID, "objectTypeId": "0-1", "objectId": c.id,
		"occurredAt": now.UnixMilli(), "subscriptionType": typ, "changeSource": src.Source, "sourceId": src.SourceID,
	}
	if prop != "" {
		ev["propertyName"], ev["propertyValue"] = prop, c.props[prop]
	}
	n := len(s.journal.entries)
	if n == 0 || s.journal.entries[n-1].read || len(s.journal.entries[n-1].events) >= 100 {
		s.journal.entries = append(s.journal.entries, &journalEntry{offset: newUUID(), at: now})
		n++
	}
	e := s.journal.entries[n-1]
	e.events = append(e.events, ev)
}

// pruneJournalLocked drops entries older than JournalRetention.
func (s *Server) pruneJournalLocked(now time.Time) {
	i := 0
	for i < len(s.journal.entries) && now.Sub(s.journal.entries[i].at) > JournalRetention {
		i++
	}
	s.journal.entries = s.journal.entries[i:]
}

func (s *Server) journalRoutes() {
	const sub = "/webhooks-journal/subscriptions/2026-03"
	s.handle(route{pattern: "POST " + sub, auth: true, h: s.handleJournalSubscribe})
	s.handle(route{pattern: "GET " + sub, auth: true, h: s.handleJournalSubscriptions})
	s.handle(route{pattern: "DELETE " + sub + "/portals/{portalId}", auth: true, h: s.handleJournalUnsubscribe})
	const local = "/webhooks-journal/journal-local/2026-03/batch"
	s.handle(route{pattern: "GET " + local + "/earliest/{count}", auth: true, h: s.handleJournalBatch})
	s.handle(route{pattern: "GET " + local + "/latest/{count}", auth: true, h: s.handleJournalBatch})
	s.handle(route{pattern: "GET " + local + "/{offset}/next/{count}", auth: true, h: s.handleJournalBatch})
	// The presigned file URL: outside the API (no token, no rate limit).
	s.handle(route{pattern: "GET /hubspottest/journal-files/{id}", h: s.handleJournalFile})
}

func (s *Server) handleJournalSubscribe(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SubscriptionType string   `json:"subscriptionType"`
		PortalID         int64    `json:"portalId"`
		ObjectTypeID     string   `json:"objectTypeId"`
		Actions          []string `json:"actions"`
		Properties       []string `json:"properties"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if body.SubscriptionType != "OBJECT" || body.ObjectTypeID != "0-1" || body.PortalID == 0 || len(body.Actions) == 0 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "the fake journal takes OBJECT subscriptions to contacts (0-1) of a portal, with actions", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	var out *journalSub
	for i := range s.journal.subs {
		if s.journal.subs[i].PortalID == body.PortalID {
			out = &s.journal.subs[i] // upsert
		}
	}
	if out == nil {
		s.journal.nextSub++
		s.journal.subs = append(s.journal.subs, journalSub{ID: s.journal.nextSub, PortalID: body.PortalID, Created: now})
		out = &s.journal.subs[len(s.journal.subs)-1]
	}
	out.Actions, out.Properties = body.Actions, body.Properties
	writeJSON(w, http.StatusOK, s.subWire(*out, now))
}

func (s *Server) subWire(sub journalSub, now time.Time) map[string]any {
	return map[string]any{
		"id": sub.ID, "appId": s.cfg.appID, "portalId": sub.PortalID, "subscriptionType": "OBJECT", "objectTypeId": "0-1",
		"actions": sub.Actions, "properties": sub.Properties, "createdAt": sub.Created.UTC().Format(time.RFC3339), "updatedAt": now.UTC().Format(time.RFC3339),
	}
}

func (s *Server) handleJournalSubscriptions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	results := []map[string]any{}
	for _, sub := range s.journal.subs {
		results = append(results, s.subWire(sub, s.clk.Now()))
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

func (s *Server) handleJournalUnsubscribe(w http.ResponseWriter, r *http.Request) {
	portal, _ := strconv.ParseInt(r.PathValue("portalId"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.journal.subs[:0]
	for _, sub := range s.journal.subs {
		if sub.PortalID != portal {
			kept = append(kept, sub)
		}
	}
	s.journal.subs = kept
	w.WriteHeader(http.StatusNoContent)
}

// handleJournalBatch serves earliest, latest and next-after-offset batches of the local journal.
func (s *Server) handleJournalBatch(w http.ResponseWriter, r *http.Request) {
	count, err := strconv.Atoi(r.PathValue("count"))
	if err != nil || count < 1 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "count must be an integer of at least 1", nil)
		return
	}
	if p := r.URL.Query().Get("installPortalId"); p != "" && p != strconv.FormatInt(s.cfg.portalID, 10) {
		writeError(w, http.StatusForbidden, "MISSING_SCOPES", "the app is not installed in that portal", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	s.pruneJournalLocked(now)
	entries := s.journal.entries
	var pick []*journalEntry
	switch {
	case strings.Contains(r.URL.Path, "/batch/earliest/"):
		pick = entries[:min(count, len(entries))]
	case strings.Contains(r.URL.Path, "/batch/latest/"):
		pick = entries[max(0, len(entries)-count):]
	default:
		at := -1
		for i, e := range entries {
			if e.offset == r.PathValue("offset") {
				at = i
			}
		}
		if at < 0 {
			writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "offset expired or unknown", nil)
			return
		}
		pick = entries[at+1 : min(at+1+count, len(entries))]
	}
	if s.journal.files == nil {
		s.journal.files = map[string]*journalEntry{}
	}
	results := []map[string]any{}
	for _, e := range pick {
		e.read = true
		id := newUUID()
		s.journal.files[id] = e
		results = append(results, map[string]any{
			"currentOffset": e.offset, "expiresAt": now.Add(15 * time.Minute).UTC().Format(time.RFC3339),
			"url": s.URL + "/hubspottest/journal-files/" + id,
		})
	}
	stamp := now.UTC().Format(time.RFC3339)
	writeJSON(w, http.StatusOK, map[string]any{"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp, "requestedAt": stamp})
}

func (s *Server) handleJournalFile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	e := s.journal.files[r.PathValue("id")]
	var body []byte
	if e != nil {
		body, _ = json.Marshal(e.events)
	}
	s.mu.Unlock()
	if e == nil {
		http.Error(w, fmt.Sprintf("no journal file %q", r.PathValue("id")), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
