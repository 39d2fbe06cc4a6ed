package hubspot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// TimelineFlavour selects which HubSpot timeline API events go to.
type TimelineFlavour string

// The timeline APIs. Legacy timeline v3 is open only to apps that already had v3 event templates;
// new apps use 2026-03 app events.
const (
	// TimelineLegacyV3 sends events by template id with tokens to /integrators/timeline/v3.
	TimelineLegacyV3 TimelineFlavour = "legacy-v3"
	// TimelineAppEvents sends app event occurrences by event type name with properties to
	// /integrators/timeline/2026-03.
	TimelineAppEvents TimelineFlavour = "app-events-2026-03"
)

// Validate returns an error wrapping ErrInvalidInput for an unknown flavour.
func (f TimelineFlavour) Validate() error {
	if f == TimelineLegacyV3 || f == TimelineAppEvents {
		return nil
	}
	return fmt.Errorf("%w: unknown timeline flavour %q (want %q or %q)", ErrInvalidInput, string(f), TimelineLegacyV3, TimelineAppEvents)
}

// TimelineEvent is one occurrence to show on a contact's timeline.
type TimelineEvent struct {
	// ID identifies the occurrence; sending the same ID twice never gives two timeline entries.
	// Empty means an id derived from Type, contact, Timestamp and Properties, so two events
	// with the same content and a zero Timestamp count as one occurrence: give repeatable events
	// an ID (see [TimelineEventID]) or a Timestamp.
	ID string
	// Type is the event template id (legacy v3) or the event type name (app events).
	Type       string
	Email      string            // the contact, by email (legacy v3 creates the contact when unknown)
	ObjectID   string            // or by record id, which takes precedence over Email
	Timestamp  time.Time         // when it happened; zero means now
	Properties map[string]string // template tokens (legacy v3) or event properties (app events)
	ExtraData  map[string]any    // free JSON for the detail template
}

// TimelineEventID returns a deterministic occurrence id built from parts (for example kind,
// school, learner and course ids): the same parts always give the same id, so a retried delivery
// is recognised as a duplicate.
func TimelineEventID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x1f")))
	return "hs-" + hex.EncodeToString(h[:16])
}

// id returns the event's id, deriving one from its content when empty.
func (e TimelineEvent) id() string {
	if e.ID != "" {
		return e.ID
	}
	parts := []string{e.Type, FoldEmail(e.Email), e.ObjectID, e.Timestamp.UTC().Format(time.RFC3339Nano)}
	keys := make([]string, 0, len(e.Properties))
	for k := range e.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+e.Properties[k])
	}
	return TimelineEventID(parts...)
}

// TimelineResult is the outcome for one event of [Client.CreateTimelineEvents].
type TimelineResult struct {
	ID               string // the id the event was sent with
	AlreadyDelivered bool   // HubSpot already had this occurrence (409): it counts as delivered
	Err              error  // why the event was refused (*APIError or ErrInvalidInput), nil when delivered
}

type tlItem struct {
	ev  TimelineEvent
	id  string
	res *TimelineResult
}

// CreateTimelineEvents sends up to [BatchLimit] events in one batch of the configured flavour
// ([WithTimelineFlavour]) and returns one result per event, in order. An occurrence HubSpot
// already has counts as delivered (AlreadyDelivered). A batch refused as a whole because one
// occurrence exists (409) or one is invalid (400) is retried without it, by splitting when HubSpot
// does not say which one. The returned error is for the call as a whole (ErrInvalidInput for too
// many events, *RateLimitError, ErrConnectionRevoked, *APIError, the context's error).
//
// The batch size limit of the timeline APIs is not documented; BatchLimit (100) is assumed.
//
// Docs: https://developers.hubspot.com/docs/api/crm/timeline (POST
// /integrators/timeline/v3/events/batch/create) and the 2026-03 app events reference (POST
// /integrators/timeline/2026-03/events/batch).
func (c *Client) CreateTimelineEvents(ctx context.Context, events []TimelineEvent) ([]TimelineResult, error) {
	if len(events) > BatchLimit {
		return nil, fmt.Errorf("%w: %d timeline events, at most %d per batch", ErrInvalidInput, len(events), BatchLimit)
	}
	results := make([]TimelineResult, len(events))
	var items []tlItem
	seen := map[string]bool{}
	for i, ev := range events {
		id := ev.id()
		results[i].ID = id
		switch {
		case ev.Type == "":
			results[i].Err = fmt.Errorf("%w: timeline event %d has no type", ErrInvalidInput, i)
			continue
		case ev.Email == "" && ev.ObjectID == "":
			results[i].Err = fmt.Errorf("%w: timeline event %d names no contact (email or object id)", ErrInvalidInput, i)
			continue
		}
		if seen[id] { // the same occurrence twice in one batch: send it once
			results[i].AlreadyDelivered = true
			continue
		}
		seen[id] = true
		if ev.Timestamp.IsZero() {
			ev.Timestamp = c.cfg.clk.Now()
		}
		items = append(items, tlItem{ev: ev, id: id, res: &results[i]})
	}
	err := c.sendTimeline(ctx, items)
	return results, err
}

type tlAnswer struct {
	Results []struct {
		ID string `json:"id"`
	} `json:"results"`
	Errors []standardError `json:"errors"`
}

func (c *Client) sendTimeline(ctx context.Context, items []tlItem) error {
	if len(items) == 0 {
		return nil
	}
	var ans tlAnswer
	_, err := c.doer().do(ctx, c.timelineRequest(items), &ans)
	if err != nil {
		var ae *APIError
		if !errors.As(err, &ae) || (ae.StatusCode != http.StatusConflict && !inputFault(ae.StatusCode)) {
			return err
		}
		byID := map[string]int{}
		for i, it := range items {
			byID[it.id] = i
		}
		// When the refusal names the occurrences at fault, settle them and resend the rest.
		named := map[int]bool{}
		for _, key := range []string{"id", "ids", "eventId", "occurrenceId"} {
			for _, v := range ae.Context[key] {
				if i, ok := byID[v]; ok {
					named[i] = true
				}
			}
		}
		if len(named) > 0 && len(named) < len(items) {
			var rest []tlItem
			for i, it := range items {
				if named[i] {
					settleRefused(it, ae)
				} else {
					rest = append(rest, it)
				}
			}
			return c.sendTimeline(ctx, rest)
		}
		if len(items) == 1 {
			settleRefused(items[0], ae)
			return nil
		}
		mid := len(items) / 2
		if err := c.sendTimeline(ctx, items[:mid]); err != nil {
			return err
		}
		return c.sendTimeline(ctx, items[mid:])
	}
	// A 207 (legacy v3) lists per-event errors; a duplicate among them counts as delivered.
	byID := map[string]int{}
	for i, it := range items {
		byID[it.id] = i
	}
	var unnamed []standardError
	for _, se := range ans.Errors {
		i := -1
		for _, key := range []string{"id", "ids", "eventId", "occurrenceId"} {
			for _, v := range se.Context[key] {
				if j, ok := byID[v]; ok {
					i = j
				}
			}
		}
		if i < 0 {
			unnamed = append(unnamed, se)
			continue
		}
		settleRefused(items[i], se.apiError(statusOf(se)))
	}
	if len(unnamed) > 0 {
		// Errors that name no event: resend the events one by one so each answer is attributable.
		// Already-delivered ones come back as duplicates, which count as delivered.
		if len(items) == 1 {
			settleRefused(items[0], unnamed[0].apiError(statusOf(unnamed[0])))
			return nil
		}
		for _, it := range items {
			if it.res.Err == nil && !it.res.AlreadyDelivered {
				if err := c.sendTimeline(ctx, []tlItem{it}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// statusOf reads a 207 entry's status as an HTTP code when it is one; 400 otherwise.
func statusOf(se standardError) int {
	if se.Category == "CONFLICT" || strings.Contains(strings.ToLower(se.Message), "already exist") {
		return http.StatusConflict
	}
	return http.StatusBadRequest
}

// settleRefused records a refusal: a conflict means the occurrence exists, which is success.
func settleRefused(it tlItem, ae *APIError) {
	if ae.StatusCode == http.StatusConflict {
		it.res.AlreadyDelivered = true
		return
	}
	it.res.Err = ae
}

func (c *Client) timelineRequest(items []tlItem) request {
	inputs := make([]map[string]any, len(items))
	for i, it := range items {
		in := map[string]any{"id": it.id, "timestamp": it.ev.Timestamp.UTC().Format(time.RFC3339Nano)}
		props := it.ev.Properties
		if props == nil {
			props = map[string]string{}
		}
		if c.cfg.timeline == TimelineLegacyV3 {
			in["eventTemplateId"] = it.ev.Type
			in["tokens"] = props
		} else {
			in["eventTypeName"] = it.ev.Type
			in["properties"] = props
		}
		if it.ev.Email != "" {
			in["email"] = FoldEmail(it.ev.Email)
		}
		if it.ev.ObjectID != "" {
			in["objectId"] = it.ev.ObjectID
		}
		if it.ev.ExtraData != nil {
			in["extraData"] = it.ev.ExtraData
		}
		inputs[i] = in
	}
	path := "/integrators/timeline/2026-03/events/batch"
	if c.cfg.timeline == TimelineLegacyV3 {
		path = "/integrators/timeline/v3/events/batch/create"
	}
	return request{method: http.MethodPost, path: path, body: map[string]any{"inputs": inputs}}
}
