package hubsync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EventKind is a kind of learner activity sent to HubSpot as a timeline event.
type EventKind string

// The timeline event kinds. SignedUp, Deleted and FirstPurchase fire at most once per learner,
// ever; the rest repeat, once per real occurrence.
const (
	EventSignedUp              EventKind = "signed_up"
	EventDeleted               EventKind = "deleted"
	EventFirstPurchase         EventKind = "first_purchase"
	EventTagAdded              EventKind = "tag_added"
	EventTagRemoved            EventKind = "tag_removed"
	EventEnrolled              EventKind = "enrolled_in_course"
	EventCourseCompleted       EventKind = "course_completed"
	EventCertificateAwarded    EventKind = "certificate_awarded"
	EventPurchaseMade          EventKind = "purchase_made"
	EventSubscriptionStarted   EventKind = "subscription_started"
	EventSubscriptionCancelled EventKind = "subscription_cancelled"
)

var eventKinds = []EventKind{
	EventSignedUp, EventDeleted, EventFirstPurchase, EventTagAdded, EventTagRemoved, EventEnrolled,
	EventCourseCompleted, EventCertificateAwarded, EventPurchaseMade, EventSubscriptionStarted,
	EventSubscriptionCancelled,
}

// EventKinds lists every event kind, once-kinds first.
func EventKinds() []EventKind { return append([]EventKind(nil), eventKinds...) }

// Validate reports an unknown kind.
func (k EventKind) Validate() error {
	for _, e := range eventKinds {
		if k == e {
			return nil
		}
	}
	return fmt.Errorf("%w: unknown timeline event kind %q", ErrInvalidSettings, string(k))
}

// Once reports whether k fires at most once per learner (sign-up, deletion, first purchase).
func (k EventKind) Once() bool {
	return k == EventSignedUp || k == EventDeleted || k == EventFirstPurchase
}

// Activity is one thing a learner did, as the host (or a LearnWorlds webhook) reports it.
type Activity struct {
	Kind EventKind
	// Email identifies the learner (and the HubSpot contact the event lands on).
	Email string
	// LearnerID is the LMS user id, when known (informational: ids and the once-ledger use the
	// email, the match key).
	LearnerID string
	// At is when it happened.
	At time.Time
	// SourceID is the id of the source event (a webhook delivery, a payment id, an enrolment id),
	// when there is one. Two reports with the same SourceID are one occurrence.
	SourceID string
	// Subject names what the activity is about: the course, the tag, the product, the certificate.
	Subject string
	// SubjectID is the subject's id (course id, product id...).
	SubjectID string
	// Amount and Currency describe a purchase.
	Amount   float64
	Currency string
	// Extra carries further display properties for the timeline entry.
	Extra map[string]string
}

// Validate checks an Activity has what an event needs.
func (a Activity) Validate() error {
	if err := a.Kind.Validate(); err != nil {
		return fmt.Errorf("activity: %w", err)
	}
	if err := ValidateEmail(a.Email); err != nil {
		return fmt.Errorf("%w: activity %s: %v", ErrInvalidValue, a.Kind, err)
	}
	if a.At.IsZero() {
		return fmt.Errorf("%w: activity %s for %s has no time", ErrInvalidValue, a.Kind, MaskEmail(a.Email))
	}
	return nil
}

// learnerRef identifies the learner in ids: the folded email, the match key on both sides. It is
// not the LMS id, so a host that reports an activity without the id and a webhook that carries it
// agree on one ledger entry.
func (a Activity) learnerRef() string {
	return "e:" + FoldEmail(a.Email)
}

// OnceKey is the ledger key of a once-kind activity: one per school's learner and kind. It is
// empty for repeatable kinds.
func (a Activity) OnceKey() string {
	if !a.Kind.Once() {
		return ""
	}
	return string(a.Kind) + "|" + a.learnerRef()
}

// OccurrenceID is the deterministic idempotency id of one real occurrence, sent as the timeline
// event's id so a redelivered source event never becomes a second timeline entry. For once-kinds
// it depends only on learner and kind. For repeatable kinds it is derived from SourceID when set,
// else from the subject and the time to the millisecond. It is at most 64 characters of
// [a-z0-9-], safe in any HubSpot id field.
func (a Activity) OccurrenceID(school SchoolID) string {
	var b strings.Builder
	b.WriteString(string(school))
	b.WriteByte('|')
	b.WriteString(string(a.Kind))
	b.WriteByte('|')
	b.WriteString(a.learnerRef())
	if !a.Kind.Once() {
		b.WriteByte('|')
		if a.SourceID != "" {
			b.WriteString("src:" + a.SourceID)
		} else {
			b.WriteString("sub:" + a.SubjectID + "|" + a.Subject + "|" + strconv.FormatInt(a.At.UnixMilli(), 10))
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return "hs-" + strings.ReplaceAll(string(a.Kind), "_", "-") + "-" + hex.EncodeToString(sum[:])[:32]
}
