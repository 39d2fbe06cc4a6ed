package hubspottest

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/hubsync/hubsync/hubspot"
)

// validatePropsLocked checks every value of a write; it returns the refusals sorted by message.
func (s *Server) validatePropsLocked(props map[string]string) []errorDetail {
	var details []errorDetail
	for k, v := range props {
		if k == "email" {
			v = hubspot.FoldEmail(v)
		}
		if d := s.checkValueLocked(k, v); d != nil {
			details = append(details, *d)
		}
	}
	sort.Slice(details, func(a, b int) bool { return details[a].Message < details[b].Message })
	return details
}

// conflictLocked returns the id of another live contact owning one of props' emails, or 0.
func (s *Server) conflictLocked(self int64, props map[string]string) int64 {
	for _, e := range emailsOf(props) {
		if other, ok := s.byEmail[e]; ok && other != self && s.contacts[other] != nil && !s.contacts[other].archived {
			return other
		}
	}
	return 0
}

// writeNewLocked creates a contact from props (email optional) and queues its webhook events.
func (s *Server) writeNewLocked(props map[string]string, now time.Time) *contact {
	c := s.createLocked(props["email"], now)
	if props["email"] == "" {
		delete(c.props, "email")
	}
	rest := map[string]string{}
	for k, v := range props {
		if k != "email" {
			rest[k] = v
		}
	}
	s.applyLocked(c, rest, now)
	s.emitLocked(c, "contact.creation", "", sourceAPI)
	for k := range rest {
		s.emitLocked(c, "contact.propertyChange", k, sourceAPI)
	}
	return c
}

func (s *Server) writeConflict(w http.ResponseWriter, existing int64) {
	writeError(w, http.StatusConflict, "CONFLICT", fmt.Sprintf("Contact already exists. Existing ID: %d", existing), nil)
}

// handleCreate serves POST .../contacts: one contact, 409 CONFLICT when its email is taken.
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Properties map[string]string `json:"properties"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.validatePropsLocked(body.Properties); len(d) > 0 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Property values were not valid: "+d[0].Message, d)
		return
	}
	if other := s.conflictLocked(0, body.Properties); other != 0 {
		s.writeConflict(w, other)
		return
	}
	c := s.writeNewLocked(body.Properties, s.clk.Now())
	writeJSON(w, http.StatusCreated, s.wireLocked(c, keys(body.Properties)))
}

func keys(m map[string]string) []string {
	out := []string{"email", "hs_object_id", "createdate", "lastmodifieddate"}
	for k := range m {
		out = append(out, k)
	}
	return out
}

// handleBatchCreate serves batch/create: without an objectWriteTraceId on every input, one bad
// or conflicting input fails the whole batch; with them, the answer is 207 with per-input errors.
func (s *Server) handleBatchCreate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Inputs []batchInput `json:"inputs"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if !batchSizeOK(w, len(body.Inputs)) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	traced := true
	seen := map[string]int{}
	var bad []inputError
	var conflict int64
	for i, in := range body.Inputs {
		traced = traced && in.ObjectWriteTraceID != ""
		if d := s.validatePropsLocked(in.Properties); len(d) > 0 {
			bad = append(bad, inputError{index: i, id: in.Properties["email"], trace: in.ObjectWriteTraceID, details: d, message: "Property values were not valid: " + d[0].Message})
			continue
		}
		if other := s.conflictLocked(0, in.Properties); other != 0 {
			conflict = other
			bad = append(bad, inputError{index: i, id: in.Properties["email"], trace: in.ObjectWriteTraceID, message: fmt.Sprintf("Contact already exists. Existing ID: %d", other)})
			continue
		}
		if e := hubspot.FoldEmail(in.Properties["email"]); e != "" {
			if j, dup := seen[e]; dup {
				bad = append(bad, inputError{index: i, id: e, trace: in.ObjectWriteTraceID, message: fmt.Sprintf("Duplicate email in batch input (inputs %d and %d)", j, i)})
				continue
			}
			seen[e] = i
		}
	}
	if len(bad) > 0 && !traced {
		if conflict != 0 && len(bad[0].details) == 0 {
			s.writeConflict(w, conflict)
			return
		}
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", bad[0].message, bad[0].details)
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
		c := s.writeNewLocked(in.Properties, now)
		out := s.wireLocked(c, keys(in.Properties))
		if in.ObjectWriteTraceID != "" {
			out["objectWriteTraceId"] = in.ObjectWriteTraceID
		}
		results = append(results, out)
	}
	writeBatch(w, http.StatusCreated, now, results, standardErrors(bad))
}

// handleBatchUpdate serves batch/update by record id. HubSpot refuses idProperty=email here
// ("Unable to perform update/upsert by non-unique 0-1 property"); unknown ids are reported in a
// 207; invalid values fail the whole batch.
func (s *Server) handleBatchUpdate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Inputs []batchInput `json:"inputs"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if !batchSizeOK(w, len(body.Inputs)) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	seen := map[string]bool{}
	for _, in := range body.Inputs {
		if in.IDProperty == "email" {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Unable to perform update/upsert by non-unique 0-1 property email", nil)
			return
		}
		if seen[in.ID] {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("Duplicate IDs found in batch input: [%s]. IDs must be unique", in.ID), nil, map[string][]string{"ids": {in.ID}})
			return
		}
		seen[in.ID] = true
		if d := s.validatePropsLocked(in.Properties); len(d) > 0 {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Property values were not valid: "+d[0].Message, d)
			return
		}
		id, _ := strconv.ParseInt(in.ID, 10, 64)
		if other := s.conflictLocked(id, in.Properties); other != 0 {
			s.writeConflict(w, other)
			return
		}
	}
	results := []map[string]any{}
	var missing []string
	for _, in := range body.Inputs {
		id, err := strconv.ParseInt(in.ID, 10, 64)
		c := s.contacts[id]
		if err != nil || c == nil || c.archived {
			missing = append(missing, in.ID)
			continue
		}
		for _, name := range s.applyLocked(c, in.Properties, now) {
			s.emitLocked(c, "contact.propertyChange", name, sourceAPI)
		}
		results = append(results, s.wireLocked(c, keys(in.Properties)))
	}
	writeBatch(w, http.StatusOK, now, results, notFoundErrors(missing, "Could not get some CONTACT objects, they may be deleted or not exist."))
}

// handlePatch serves PATCH .../contacts/{contactId} (idProperty=email allowed on single updates).
func (s *Server) handlePatch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Properties map[string]string `json:"properties"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var c *contact
	if r.URL.Query().Get("idProperty") == "email" {
		c = s.lookupLocked(r.PathValue("contactId"))
	} else if id, err := strconv.ParseInt(r.PathValue("contactId"), 10, 64); err == nil {
		if c = s.contacts[id]; c != nil && c.archived {
			c = nil
		}
	}
	if c == nil {
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found", nil)
		return
	}
	if d := s.validatePropsLocked(body.Properties); len(d) > 0 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Property values were not valid: "+d[0].Message, d)
		return
	}
	if other := s.conflictLocked(c.id, body.Properties); other != 0 {
		s.writeConflict(w, other)
		return
	}
	for _, name := range s.applyLocked(c, body.Properties, s.clk.Now()) {
		s.emitLocked(c, "contact.propertyChange", name, sourceAPI)
	}
	writeJSON(w, http.StatusOK, s.wireLocked(c, keys(body.Properties)))
}
