package hubspottest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hubsync/hubsync/hubspot"
)

// contact is a stored contact.
type contact struct {
	id       int64
	props    map[string]string
	created  time.Time
	updated  time.Time
	archived bool
}

// Contact is a snapshot of a stored contact.
type Contact struct {
	ID         string
	Properties map[string]string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Archived   bool
}

func (c *contact) snapshot() Contact {
	props := make(map[string]string, len(c.props))
	for k, v := range c.props {
		props[k] = v
	}
	return Contact{ID: strconv.FormatInt(c.id, 10), Properties: props, CreatedAt: c.created, UpdatedAt: c.updated, Archived: c.archived}
}

// hubTime formats a time as HubSpot does in properties.
func hubTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// emailsOf returns a contact's primary and additional emails, folded.
func emailsOf(props map[string]string) []string {
	var out []string
	if e := hubspot.FoldEmail(props["email"]); e != "" {
		out = append(out, e)
	}
	for _, a := range strings.Split(props["hs_additional_emails"], ";") {
		if a = hubspot.FoldEmail(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// lookupLocked finds a live contact by any of its emails (primary or additional).
func (s *Server) lookupLocked(email string) *contact {
	if id, ok := s.byEmail[hubspot.FoldEmail(email)]; ok {
		if c := s.contacts[id]; c != nil && !c.archived {
			return c
		}
	}
	return nil
}

// reindexLocked updates the email index after c's emails changed. It returns an error, changing
// nothing, when one of c's emails belongs to another contact.
func (s *Server) checkEmailsLocked(id int64, props map[string]string) error {
	for _, e := range emailsOf(props) {
		if other, ok := s.byEmail[e]; ok && other != id && s.contacts[other] != nil && !s.contacts[other].archived {
			return fmt.Errorf("hubspottest: email %s already belongs to contact %d", e, other)
		}
	}
	return nil
}

func (s *Server) reindexLocked(c *contact, old map[string]string) {
	for _, e := range emailsOf(old) {
		if s.byEmail[e] == c.id {
			delete(s.byEmail, e)
		}
	}
	for _, e := range emailsOf(c.props) {
		s.byEmail[e] = c.id
	}
}

// createLocked makes a new contact with email.
func (s *Server) createLocked(email string, now time.Time) *contact {
	s.nextID++
	c := &contact{id: s.nextID, props: map[string]string{}, created: now, updated: now}
	c.props["email"] = hubspot.FoldEmail(email)
	c.props["hs_object_id"] = strconv.FormatInt(c.id, 10)
	c.props["createdate"] = hubTime(now)
	c.props["lastmodifieddate"] = hubTime(now)
	s.contacts[c.id] = c
	s.reindexLocked(c, nil)
	return c
}

// stageIndex returns a lifecycle stage's position in the option order, -1 when unknown.
func (s *Server) stageIndex(v string) int {
	p := s.props["lifecyclestage"]
	if p == nil {
		return -1
	}
	for i, o := range p.Options {
		if o.Value == v {
			return i
		}
	}
	return -1
}

// applyLocked writes props to c and returns the names whose value changed. A lifecycle stage
// that would move backwards is ignored, as HubSpot does (it answers 200 and keeps the stage).
func (s *Server) applyLocked(c *contact, props map[string]string, now time.Time) []string {
	old := map[string]string{"email": c.props["email"], "hs_additional_emails": c.props["hs_additional_emails"]}
	var changed []string
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := props[k]
		if k == "lifecyclestage" && v != "" {
			if cur := c.props[k]; cur != "" && s.stageIndex(v) < s.stageIndex(cur) {
				continue
			}
		}
		if k == "email" {
			v = hubspot.FoldEmail(v)
		}
		if c.props[k] == v {
			continue
		}
		if v == "" {
			delete(c.props, k)
		} else {
			c.props[k] = v
		}
		changed = append(changed, k)
	}
	if len(changed) > 0 {
		c.updated = now
		c.props["lastmodifieddate"] = hubTime(now)
		s.reindexLocked(c, old)
	}
	s.noteWriteLocked(c, props, changed, now) // fleet.go
	return changed
}

// SeedContact stores a contact directly, bypassing validation and webhooks (test setup). props
// must hold an email; createdate and lastmodifieddate may be given (ISO 8601) to shape searches.
// It returns the new record id, or an error when the email is missing or taken.
func (s *Server) SeedContact(props map[string]string) (string, error) {
	email := hubspot.FoldEmail(props["email"])
	if email == "" {
		return "", errors.New("hubspottest: seeded contact needs an email")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkEmailsLocked(0, props); err != nil {
		return "", err
	}
	now := s.clk.Now()
	c := s.createLocked(email, now)
	for k, v := range props {
		if k != "email" {
			c.props[k] = v
		}
	}
	for k, field := range map[string]*time.Time{"createdate": &c.created, "lastmodifieddate": &c.updated} {
		if t, err := time.Parse(time.RFC3339Nano, c.props[k]); err == nil {
			*field = t
			c.props[k] = hubTime(t)
		}
	}
	s.reindexLocked(c, nil)
	return strconv.FormatInt(c.id, 10), nil
}

// Contact returns a snapshot of the live contact with that record id or email, and false when
// there is none.
func (s *Server) Contact(idOrEmail string) (Contact, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, err := strconv.ParseInt(idOrEmail, 10, 64); err == nil {
		if c := s.contacts[id]; c != nil && !c.archived {
			return c.snapshot(), true
		}
		return Contact{}, false
	}
	if c := s.lookupLocked(idOrEmail); c != nil {
		return c.snapshot(), true
	}
	return Contact{}, false
}

// Contacts returns snapshots of every live contact, by ascending id.
func (s *Server) Contacts() []Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Contact, 0, len(s.contacts))
	for _, id := range s.sortedIDsLocked() {
		if c := s.contacts[id]; !c.archived {
			out = append(out, c.snapshot())
		}
	}
	return out
}

func (s *Server) sortedIDsLocked() []int64 {
	ids := make([]int64, 0, len(s.contacts))
	for id := range s.contacts {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// defaultListProps are returned when a request names no properties.
var defaultListProps = []string{"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"}

// wireLocked renders c with the requested properties. Unknown and empty ones are left out: real
// HubSpot answers null for a defined but empty property, but the OpenAPI documents type property
// values as strings, and the fake's answers must pass them (the client accepts null either way).
func (s *Server) wireLocked(c *contact, props []string) map[string]any {
	if len(props) == 0 {
		props = defaultListProps
	}
	out := map[string]string{}
	for _, p := range props {
		if v, ok := c.props[p]; ok {
			out[p] = v
		}
	}
	return map[string]any{
		"id": strconv.FormatInt(c.id, 10), "properties": out, "createdAt": hubTime(c.created),
		"updatedAt": hubTime(c.updated), "archived": c.archived,
	}
}

func splitProps(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// batchInput is one input of a batch write.
type batchInput struct {
	ID                 string            `json:"id"`
	IDProperty         string            `json:"idProperty"`
	Properties         map[string]string `json:"properties"`
	ObjectWriteTraceID string            `json:"objectWriteTraceId"`
}

// inputError is a per-input refusal.
type inputError struct {
	index   int
	id      string
	trace   string
	message string
	details []errorDetail
}

func (e inputError) standard() map[string]any {
	details := e.details
	if details == nil {
		details = []errorDetail{}
	}
	ctx := map[string][]string{"ids": {e.id}}
	if e.trace != "" {
		ctx["objectWriteTraceId"] = []string{e.trace}
	}
	return map[string]any{
		"status": "error", "category": "VALIDATION_ERROR", "message": e.message, "context": ctx,
		"errors": details, "links": map[string]string{},
	}
}

// handleBatchUpsert serves contacts batch/upsert by email.
func (s *Server) handleBatchUpsert(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Inputs []batchInput `json:"inputs"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if len(body.Inputs) > 100 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("Batch input limit exceeded: %d inputs, the limit is 100.", len(body.Inputs)), nil)
		return
	}
	if len(body.Inputs) == 0 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "inputs must not be empty", nil)
		return
	}
	seen := map[string]bool{}
	var dups []string
	for _, in := range body.Inputs {
		k := hubspot.FoldEmail(in.ID)
		if seen[k] {
			dups = append(dups, in.ID)
		}
		seen[k] = true
	}
	if len(dups) > 0 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("Duplicate IDs found in batch input: %v. IDs must be unique", dups), nil, map[string][]string{"ids": dups})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	var bad []inputError
	for i, in := range body.Inputs {
		if in.IDProperty != "email" {
			bad = append(bad, inputError{index: i, id: in.ID, trace: in.ObjectWriteTraceID, message: fmt.Sprintf("hubspottest: upsert supports idProperty email only, got %q", in.IDProperty)})
			continue
		}
		var details []errorDetail
		if d := s.checkValueLocked("email", hubspot.FoldEmail(in.ID)); d != nil {
			details = append(details, *d)
		}
		for k, v := range in.Properties {
			if k == "email" && hubspot.FoldEmail(v) == hubspot.FoldEmail(in.ID) {
				continue
			}
			if d := s.checkValueLocked(k, v); d != nil {
				details = append(details, *d)
			}
		}
		if len(details) > 0 {
			sort.Slice(details, func(a, b int) bool { return details[a].Message < details[b].Message })
			bad = append(bad, inputError{index: i, id: in.ID, trace: in.ObjectWriteTraceID, details: details,
				message: "Property values were not valid: " + details[0].Message})
		}
	}
	if len(bad) > 0 && !s.cfg.partialUpserts {
		// Upserting by email does not support partial success: the whole batch fails.
		var details []errorDetail
		for _, b := range bad {
			details = append(details, b.details...)
		}
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", bad[0].message, details)
		return
	}
	skip := map[int]bool{}
	for _, b := range bad {
		skip[b.index] = true
	}
	results := []map[string]any{}
	for i, in := range body.Inputs {
		if skip[i] {
			continue
		}
		c := s.lookupLocked(in.ID)
		created := c == nil
		if created {
			c = s.createLocked(in.ID, now)
		}
		props := map[string]string{}
		for k, v := range in.Properties {
			if k != "email" {
				props[k] = v
			}
		}
		changed := s.applyLocked(c, props, now)
		if created {
			s.emitLocked(c, "contact.creation", "", sourceAPI)
		}
		for _, name := range changed {
			s.emitLocked(c, "contact.propertyChange", name, sourceAPI)
		}
		names := []string{"email", "hs_object_id", "createdate", "lastmodifieddate"}
		for k := range in.Properties {
			names = append(names, k)
		}
		out := s.wireLocked(c, names)
		out["new"] = created
		if in.ObjectWriteTraceID != "" {
			out["objectWriteTraceId"] = in.ObjectWriteTraceID
		}
		results = append(results, out)
	}
	writeBatch(w, http.StatusOK, now, results, standardErrors(bad))
}

// handleBatchRead serves contacts batch/read by record id or by idProperty=email.
func (s *Server) handleBatchRead(w http.ResponseWriter, r *http.Request) {
	var body struct {
		IDProperty string   `json:"idProperty"`
		Properties []string `json:"properties"`
		Inputs     []struct {
			ID string `json:"id"`
		} `json:"inputs"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if len(body.Inputs) > 100 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("Batch input limit exceeded: %d inputs, the limit is 100.", len(body.Inputs)), nil)
		return
	}
	if body.IDProperty != "" && body.IDProperty != "email" && body.IDProperty != "hs_object_id" {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("hubspottest: idProperty %q is not a unique property", body.IDProperty), nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	results := []map[string]any{}
	var missing []string
	done := map[int64]bool{}
	for _, in := range body.Inputs {
		var c *contact
		if body.IDProperty == "email" {
			c = s.lookupLocked(in.ID)
		} else if id, err := strconv.ParseInt(in.ID, 10, 64); err == nil {
			if c = s.contacts[id]; c != nil && c.archived {
				c = nil
			}
		}
		if c == nil {
			missing = append(missing, in.ID)
			continue
		}
		if !done[c.id] {
			done[c.id] = true
			results = append(results, s.wireLocked(c, body.Properties))
		}
	}
	writeBatch(w, http.StatusOK, now, results, notFoundErrors(missing, "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid."))
}

// handleList serves the contacts list with an opaque cursor.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("limit must be between 1 and 100, got %q", v), nil)
			return
		}
		limit = n
	}
	var after int64
	if v := q.Get("after"); v != "" {
		raw, err := base64.StdEncoding.DecodeString(v)
		if err == nil {
			after, err = strconv.ParseInt(string(raw), 10, 64)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("invalid paging cursor %q", v), nil)
			return
		}
	}
	archived := q.Get("archived") == "true"
	props := splitProps(q.Get("properties"))
	s.mu.Lock()
	defer s.mu.Unlock()
	results := []map[string]any{}
	var next int64
	for _, id := range s.sortedIDsLocked() {
		c := s.contacts[id]
		if id < after || c.archived != archived {
			continue
		}
		if len(results) == limit {
			next = id
			break
		}
		results = append(results, s.wireLocked(c, props))
	}
	ans := map[string]any{"results": results}
	if next != 0 {
		cur := base64.StdEncoding.EncodeToString([]byte(strconv.FormatInt(next, 10)))
		ans["paging"] = map[string]any{"next": map[string]any{"after": cur, "link": "?after=" + cur}}
	}
	writeJSON(w, http.StatusOK, ans)
}

// handleGet serves one contact by record id or, with idProperty=email, by email.
func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("contactId")
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var c *contact
	switch q.Get("idProperty") {
	case "email":
		c = s.lookupLocked(id)
	case "", "hs_object_id":
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			if c = s.contacts[n]; c != nil && c.archived != (q.Get("archived") == "true") {
				c = nil
			}
		}
	default:
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("hubspottest: idProperty %q is not a unique property", q.Get("idProperty")), nil)
		return
	}
	if c == nil {
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found", nil)
		return
	}
	writeJSON(w, http.StatusOK, s.wireLocked(c, splitProps(q.Get("properties"))))
}
