package learnworlds

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Webhook errors; every ParseWebhook error wraps ErrInvalidWebhook.
var (
	// ErrInvalidWebhook: the body is not a v2 LearnWorlds webhook envelope; the message says why.
	ErrInvalidWebhook = errors.New("learnworlds: invalid webhook")
	// ErrUnsupportedVersion: the envelope is not version 2 (a "legacy" webhook, or a user
	// automation's custom body). Switch the event to its new version under Settings > Developers >
	// Webhooks.
	ErrUnsupportedVersion = errors.New("learnworlds: unsupported webhook version")
)

// EventType is a v2 webhook's "type".
type EventType string

// The documented v2 event types (https://www.learnworlds.dev/docs/api, Webhooks).
const (
	EventUserUpdated                     EventType = "userUpdated" // registered or profile updated
	EventProductBought                   EventType = "productBought"
	EventEnrolledFreeCourse              EventType = "enrolledFreeCourse"
	EventLeadCreated                     EventType = "leadCreated"
	EventAwardedCertificate              EventType = "awardedCertificate"
	EventCourseCompleted                 EventType = "courseCompleted"
	EventLearningProgramCompleted        EventType = "learningProgramCompleted"
	EventSubscriptionPaymentPlanBought   EventType = "subscriptionPaymentPlanBought"
	EventSubscriptionPaymentPlanCanceled EventType = "subscriptionPaymentPlanCanceled"
	EventSubscriptionTrialStarted        EventType = "subscriptionTrialStarted"
	EventSubscriptionTrialWillEnd        EventType = "subscriptionTrialWillEnd"
	EventPreviewedFree                   EventType = "previewedFree"
	EventSubscriptionUpdated             EventType = "subscriptionUpdated"
	EventUserUnenrolledFromProduct       EventType = "userUnenrolledFromProduct"
	EventUserTagAdded                    EventType = "userTagAdded"
	EventUserTagDeleted                  EventType = "userTagDeleted"
	EventPaymentCreated                  EventType = "paymentCreated"
)

// EventTypes lists the documented event types.
func EventTypes() []EventType {
	return []EventType{EventUserUpdated, EventProductBought, EventEnrolledFreeCourse, EventLeadCreated,
		EventAwardedCertificate, EventCourseCompleted, EventLearningProgramCompleted,
		EventSubscriptionPaymentPlanBought, EventSubscriptionPaymentPlanCanceled, EventSubscriptionTrialStarted,
		EventSubscriptionTrialWillEnd, EventPreviewedFree, EventSubscriptionUpdated, EventUserUnenrolledFromProduct,
		EventUserTagAdded, EventUserTagDeleted, EventPaymentCreated}
}

// Known reports whether t is a documented event type.
func (t EventType) Known() bool { return slices.Contains(EventTypes(), t) }

// Event is a parsed v2 webhook. Only the members its type carries are set; Data keeps the raw
// "data" object for anything not typed here.
type Event struct {
	Version  int       `json:"version"`
	Type     EventType `json:"type"`
	Trigger  string    `json:"trigger"`
	SchoolID string    `json:"school_id"`
	// DedupeKey is the hex SHA-256 of the raw body. LearnWorlds sends no event or delivery id, so
	// a redelivery is recognised only by identical bytes.
	DedupeKey string `json:"dedupe_key"`
	// User is the learner the event is about, normalised (see User). For userTagAdded and
	// userTagDeleted it is the whole data object, and Tags is the full list after the change (no
	// delta is sent). For leadCreated it holds the lead's email, names, tags and UTMs and no ID.
	// It is nil only for an unknown event type without data.user.
	User      *User  `json:"user,omitempty"`
	IPAddress string `json:"ip_address,omitempty"`
	// Payment: productBought, subscriptionPaymentPlanBought, paymentCreated.
	Payment *Payment `json:"payment,omitempty"`
	// Course: enrolledFreeCourse, courseCompleted, previewedFree, and the learning program of
	// learningProgramCompleted.
	Course *Course `json:"course,omitempty"`
	// Product: subscriptionPaymentPlanCanceled, userUnenrolledFromProduct, the subscription of the
	// trial events, and the new plan of subscriptionUpdated.
	Product     *Product     `json:"product,omitempty"`
	Certificate *Certificate `json:"certificate,omitempty"`
	// At is when it happened, in Unix seconds, when the payload says (date, completed_at,
	// created_at, issued, paid_at); 0 otherwise.
	At                float64         `json:"at,omitempty"`
	ManuallyCompleted bool            `json:"manually_completed,omitempty"`
	Data              json.RawMessage `json:"-"`
}

// Course is a course or learning program named by an event.
type Course struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Certificate is the certificate of an awardedCertificate event.
type Certificate struct {
	ID       string  `json:"id"`
	CourseID string  `json:"course_id"`
	Title    string  `json:"title"`
	Type     string  `json:"type"`
	Status   string  `json:"status"`
	Issued   float64 `json:"issued"`
}

// userless lists the known types whose data carries no user object.
var userFlat = map[EventType]bool{EventUserTagAdded: true, EventUserTagDeleted: true}

// ParseWebhook parses a v2 webhook body. Errors wrap ErrInvalidWebhook and say what is wrong: a body
// that is not a JSON object, a version other than 2 (also ErrUnsupportedVersion), a missing type or
// data, a documented event without its user (or a user without email), or a member of the wrong
// type. An undocumented type is not an error: the Event has Type set, Known() false, User when
// data.user is present, and Data.
func ParseWebhook(body []byte) (Event, error) {
	var env struct {
		Version  json.RawMessage `json:"version"`
		Type     string          `json:"type"`
		Trigger  string          `json:"trigger"`
		SchoolID string          `json:"school_id"`
		Data     json.RawMessage `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil {
		return Event{}, fmt.Errorf("%w: body is not a JSON object: %v", ErrInvalidWebhook, err)
	}
	if dec.More() {
		return Event{}, fmt.Errorf("%w: body has data after the JSON object", ErrInvalidWebhook)
	}
	var version float64
	if len(env.Version) == 0 || json.Unmarshal(env.Version, &version) != nil || version != 2 {
		return Event{}, fmt.Errorf("%w: %w: version is %s, want 2", ErrInvalidWebhook, ErrUnsupportedVersion, truncate(string(env.Version), 20))
	}
	if env.Type == "" {
		return Event{}, fmt.Errorf("%w: type is missing", ErrInvalidWebhook)
	}
	var data map[string]json.RawMessage
	if len(env.Data) == 0 || json.Unmarshal(env.Data, &data) != nil || data == nil {
		return Event{}, fmt.Errorf("%w: %s: data is missing or not an object", ErrInvalidWebhook, truncate(env.Type, 40))
	}
	sum := sha256.Sum256(body)
	ev := Event{Version: 2, Type: EventType(env.Type), Trigger: env.Trigger, SchoolID: env.SchoolID,
		DedupeKey: hex.EncodeToString(sum[:]), Data: env.Data}
	if err := ev.fill(data); err != nil {
		return Event{}, fmt.Errorf("%w: %s: %v", ErrInvalidWebhook, truncate(env.Type, 40), err)
	}
	return ev, nil
}

// fill decodes the typed members of data.
func (ev *Event) fill(data map[string]json.RawMessage) error {
	known := ev.Type.Known()
	switch {
	case userFlat[ev.Type]:
		var u User
		if err := u.UnmarshalJSON(ev.Data); err != nil {
			return err
		}
		ev.User = &u
	case ev.Type == EventLeadCreated:
		var u User
		if err := u.UnmarshalJSON(ev.Data); err != nil {
			return err
		}
		u.ID = ""
		ev.User = &u
		ev.At = u.Created
	default:
		raw, ok := data["user"]
		if ok && !isNull(raw) {
			// subscriptionPaymentPlanBought nests the user twice: {"user":{"user":{...}}}.
			var nested struct {
				User json.RawMessage `json:"user"`
			}
			if json.Unmarshal(raw, &nested) == nil && len(nested.User) > 0 && !isNull(nested.User) && bytes.HasPrefix(bytes.TrimSpace(nested.User), []byte("{")) {
				raw = nested.User
			}
			var u User
			if err := u.UnmarshalJSON(raw); err != nil {
				return err
			}
			ev.User = &u
		} else if known && ev.Type != EventPaymentCreated {
			return fmt.Errorf("data.user is missing")
		}
	}
	if known && ev.User != nil && ev.User.Email == "" {
		return fmt.Errorf("the user has no email")
	}
	if err := str(data, "ip_address", &ev.IPAddress); err != nil {
		return err
	}
	if raw, ok := data["payment"]; ok && !isNull(raw) {
		var p Payment
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("data.payment: %v", err)
		}
		ev.Payment = &p
		ev.At = p.When()
	}
	course := "course"
	if ev.Type == EventLearningProgramCompleted {
		course = "learningProgram"
	}
	if raw, ok := data[course]; ok && !isNull(raw) {
		var c Course
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("data.%s: %v", course, err)
		}
		ev.Course = &c
	}
	for _, key := range []string{"product", "subscription", "new_plan"} {
		raw, ok := data[key]
		if !ok || isNull(raw) {
			continue
		}
		var p Product
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("data.%s: %v", key, err)
		}
		if p.Type == "" && key == "subscription" {
			p.Type = "subscription"
		}
		ev.Product = &p
	}
	if raw, ok := data["certificate"]; ok && !isNull(raw) {
		var c struct {
			Certificate
			Issued json.RawMessage `json:"issued"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("data.certificate: %v", err)
		}
		ev.Certificate = &c.Certificate
		if len(c.Issued) > 0 && !isNull(c.Issued) {
			f, err := parseStamp(c.Issued)
			if err != nil {
				return fmt.Errorf("data.certificate.issued: %v", err)
			}
			ev.Certificate.Issued = f
			ev.At = f
		}
	}
	for _, key := range []string{"date", "completed_at", "created_at"} {
		if raw, ok := data[key]; ok && !isNull(raw) {
			f, err := parseStamp(raw)
			if err != nil {
				return fmt.Errorf("data.%s: %v", key, err)
			}
			ev.At = f
			break
		}
	}
	if raw, ok := data["manually_completed"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &ev.ManuallyCompleted); err != nil {
			return fmt.Errorf("data.manually_completed is not a boolean")
		}
	}
	return nil
}

// str decodes an optional string member.
func str(data map[string]json.RawMessage, key string, dst *string) error {
	raw, ok := data[key]
	if !ok || isNull(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("data.%s is not a string", key)
	}
	return nil
}
