package hubspottest

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hubsync/hubsync/hubspot"
)

// Timeline flavours as recorded on TimelineEvent.
const (
	FlavourLegacyV3  = "legacy-v3"
	FlavourAppEvents = "app-events-2026-03"
)

// TimelineEvent is an event the fake accepted.
type TimelineEvent struct {
	Flavour    string            // FlavourLegacyV3 or FlavourAppEvents
	Type       string            // eventTemplateId or eventTypeName
	ID         string            // the occurrence id
	Email      string            // as sent
	ObjectID   string            // the contact it landed on
	Properties map[string]string // tokens or properties
	Timestamp  time.Time
}

// TimelineEvents returns the accepted events in arrival order.
func (s *Server) TimelineEvents() []TimelineEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TimelineEvent, 0, len(s.eventList))
	for _, k := range s.eventList {
		e := *s.events[k]
		out = append(out, e)
	}
	return out
}

type timelineInput struct {
	ID              string            `json:"id"`
	EventTemplateID string            `json:"eventTemplateId"`
	EventTypeName   string            `json:"eventTypeName"`
	Tokens          map[string]string `json:"tokens"`
	Properties      map[string]string `json:"properties"`
	Email           string            `json:"email"`
	ObjectID        string            `json:"objectId"`
	UTK             string            `json:"utk"`
	Timestamp       string            `json:"timestamp"`
}

// resolveLocked finds (or, by email, creates) the contact an event is for.
func (s *Server) resolveLocked(in timelineInput, now time.Time) (*contact, error) {
	if in.ObjectID != "" {
		if !s.hasContactLocked(in.ObjectID) {
			return nil, fmt.Errorf("no contact with objectId %s", in.ObjectID)
		}
		id, _ := strconv.ParseInt(in.ObjectID, 10, 64)
		return s.contacts[id], nil
	}
	if in.Email == "" {
		return nil, fmt.Errorf("event %s names no contact (email, objectId or utk)", in.ID)
	}
	if d := s.checkValueLocked("email", hubspot.FoldEmail(in.Email)); d != nil {
		return nil, fmt.Errorf("%s", d.Message)
	}
	if c := s.lookupLocked(in.Email); c != nil {
		return c, nil
	}
	// An unknown email creates a contact that has only the email property.
	c := s.createLocked(in.Email, now)
	s.emitLocked(c, "contact.creation", "", sourceAPI)
	return c, nil
}

func (in timelineInput) timestamp(now time.Time) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, in.Timestamp); err == nil {
		return t
	}
	return now
}

// handleLegacyBatch serves POST /integrators/timeline/v3/events/batch/create. An id sent again
// for the same template replaces the earlier event ("the last to be processed will win"), so a
// resend never makes two timeline entries.
func (s *Server) handleLegacyBatch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Inputs []timelineInput `json:"inputs"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if len(body.Inputs) == 0 || len(body.Inputs) > 100 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("a batch holds 1 to 100 events, got %d", len(body.Inputs)), nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	for i, in := range body.Inputs {
		if in.EventTemplateID == "" || in.ID == "" || in.Tokens == nil {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("event %d: eventTemplateId, id and tokens are required", i), nil)
			return
		}
	}
	var results []map[string]any
	var errs []map[string]any
	for _, in := range body.Inputs {
		c, err := s.resolveLocked(in, now)
		if err != nil {
			errs = append(errs, map[string]any{"status": "error", "category": "VALIDATION_ERROR", "message": err.Error(),
				"context": map[string][]string{"id": {in.ID}}, "errors": []errorDetail{}, "links": map[string]string{}})
			continue
		}
		s.storeEventLocked(FlavourLegacyV3, in.EventTemplateID, in, c, in.Tokens, now)
		results = append(results, map[string]any{"id": in.ID, "eventTemplateId": in.EventTemplateID, "objectType": "contacts",
			"objectId": fmt.Sprint(c.id), "tokens": in.Tokens, "email": in.Email, "timestamp": hubTime(in.timestamp(now))})
	}
	writeBatch(w, http.StatusCreated, now, results, errs)
}

func (s *Server) storeEventLocked(flavour, typ string, in timelineInput, c *contact, props map[string]string, now time.Time) {
	key := flavour + "|" + typ + "|" + in.ID
	if _, ok := s.events[key]; !ok {
		s.eventList = append(s.eventList, key)
	}
	cp := make(map[string]string, len(props))
	for k, v := range props {
		cp[k] = v
	}
	s.events[key] = &TimelineEvent{Flavour: flavour, Type: typ, ID: in.ID, Email: in.Email, ObjectID: fmt.Sprint(c.id), Properties: cp, Timestamp: in.timestamp(now)}
}

// handleAppEventsBatch serves POST /integrators/timeline/2026-03/events/batch: all or nothing. A
// batch holding an occurrence that already exists is refused with 409 and none is stored.
func (s *Server) handleAppEventsBatch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Inputs []timelineInput `json:"inputs"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	s.appEvents(w, body.Inputs, true)
}

// handleAppEvent serves POST /integrators/timeline/2026-03/events (one occurrence).
func (s *Server) handleAppEvent(w http.ResponseWriter, r *http.Request) {
	var in timelineInput
	if !decodeJSON(w, r, &in) {
		return
	}
	s.appEvents(w, []timelineInput{in}, false)
}

func (s *Server) appEvents(w http.ResponseWriter, inputs []timelineInput, batch bool) {
	if len(inputs) == 0 || len(inputs) > 100 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("a batch holds 1 to 100 occurrences, got %d", len(inputs)), nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	var existing []string
	seen := map[string]bool{}
	for i, in := range inputs {
		if in.EventTypeName == "" || in.ID == "" || in.Properties == nil {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("occurrence %d: eventTypeName, id and properties are required", i), nil)
			return
		}
		if in.Email == "" && in.ObjectID == "" && in.UTK == "" {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("occurrence %d names no contact (email, objectId or utk)", i), nil)
			return
		}
		if in.Email != "" {
			if d := s.checkValueLocked("email", hubspot.FoldEmail(in.Email)); d != nil {
				writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("occurrence %d: %s", i, d.Message), nil)
				return
			}
		}
		key := FlavourAppEvents + "|" + in.EventTypeName + "|" + in.ID
		if _, ok := s.events[key]; ok || seen[key] {
			existing = append(existing, in.ID)
		}
		seen[key] = true
	}
	if len(existing) > 0 {
		// The 409 body does not say which occurrence exists (the spec documents none).
		writeError(w, http.StatusConflict, "CONFLICT", "An occurrence for this event type and occurrence ID already exists. Occurrences are immutable.", nil)
		return
	}
	for i, in := range inputs {
		if in.ObjectID != "" && !s.hasContactLocked(in.ObjectID) {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("occurrence %d: no contact with objectId %s", i, in.ObjectID), nil)
			return
		}
	}
	var results []map[string]any
	for i, in := range inputs {
		c, err := s.resolveLocked(in, now)
		if err != nil {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("occurrence %d: %v", i, err), nil)
			return
		}
		s.storeEventLocked(FlavourAppEvents, in.EventTypeName, in, c, in.Properties, now)
		results = append(results, map[string]any{"eventTypeName": in.EventTypeName, "id": in.ID, "properties": in.Properties,
			"email": in.Email, "objectId": fmt.Sprint(c.id), "timestamp": hubTime(in.timestamp(now))})
	}
	if !batch {
		writeJSON(w, http.StatusCreated, results[0])
		return
	}
	writeBatch(w, http.StatusOK, now, results, nil)
}

func (s *Server) hasContactLocked(objectID string) bool {
	id, err := strconv.ParseInt(objectID, 10, 64)
	return err == nil && s.contacts[id] != nil && !s.contacts[id].archived
}
