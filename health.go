package hubsync

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Sync health: what each learner's latest sync said, like HubSpot Data Sync's sync health lists.
// This file is vocabulary (pure, no I/O): the records, the filter stores take, and HealthOf, the
// one rule turning a sync log entry into a learner's health. The engine keeps the records (see
// Store.PutSyncHealth) and lists them (engine_health.go).
//
// Only learners that are not in sync take room: a record is kept for an excluded or failing
// learner and deleted when the learner's next sync succeeds. The learners in sync are the sync
// states (Store.ListSyncStates) that have no such record.

// HealthStatus is where a learner stands.
type HealthStatus string

// The health statuses.
const (
	// HealthInSync: the latest sync of the learner created, updated or found it unchanged.
	HealthInSync HealthStatus = "in_sync"
	// HealthExcluded: the learner is left out on purpose (see Exclusion).
	HealthExcluded HealthStatus = "excluded"
	// HealthFailing: the latest sync of the learner failed; Reason says why.
	HealthFailing HealthStatus = "failing"
)

// HealthStatuses lists the statuses.
func HealthStatuses() []HealthStatus {
	return []HealthStatus{HealthInSync, HealthExcluded, HealthFailing}
}

// Validate reports a status that is not one of the constants; the error wraps ErrInvalidValue.
func (s HealthStatus) Validate() error {
	switch s {
	case HealthInSync, HealthExcluded, HealthFailing:
		return nil
	}
	return fmt.Errorf("%w: unknown health status %q", ErrInvalidValue, s)
}

// Exclusion says why an excluded learner is left out.
type Exclusion string

// The exclusion reasons.
const (
	// ExcludedNoConsent: the GDPR toolkit is on and the learner has not accepted marketing cookies.
	ExcludedNoConsent Exclusion = "no_consent"
	// ExcludedNoEmail: the learner has no email, the match key.
	ExcludedNoEmail Exclusion = "no_email"
	// ExcludedInvalidEmail: the learner's email is one HubSpot would refuse.
	ExcludedInvalidEmail Exclusion = "invalid_email"
	// ExcludedNoContact: HubSpot -> LMS, no HubSpot contact has the learner's email.
	ExcludedNoContact Exclusion = "no_contact"
	// ExcludedOther: any other skip; the record's Reason says which.
	ExcludedOther Exclusion = "other"
)

// HealthEntry is one learner's health in one direction.
type HealthEntry struct {
	School    SchoolID
	Direction Direction
	// Email is the learner's folded email; empty for a learner without one, who is then told
	// apart by LearnerID (set only then).
	Email     string
	LearnerID string
	Status    HealthStatus
	// Exclusion is set for an excluded learner.
	Exclusion Exclusion
	// Reason is the sync log's sentence for a failing learner and for ExcludedOther (at most 200
	// bytes; emails in it as the log holds them: mask them to print), empty otherwise.
	Reason string
	// At is when the sync that said so ran.
	At time.Time
}

// Describe is the entry's reason as a sentence: the Reason, or the exclusion spelled out.
func (h HealthEntry) Describe() string {
	if h.Reason != "" {
		return h.Reason
	}
	switch h.Exclusion {
	case ExcludedNoConsent:
		return reasonNoConsent
	case ExcludedNoEmail:
		return "learner has no email"
	case ExcludedInvalidEmail:
		return "learner has no valid email"
	case ExcludedNoContact:
		return reasonNoContact
	}
	return ""
}

// HealthFilter narrows Store.ListSyncHealth. Zero fields do not filter.
type HealthFilter struct {
	Status    HealthStatus
	Direction Direction
	// AfterEmail, AfterLearner and AfterDirection are the cursor (the last entry of the page
	// before): only entries sorting after it, by email, then learner id, then direction, are
	// returned. Zero: from the start.
	AfterEmail, AfterLearner string
	AfterDirection           Direction
	// Limit caps the entries returned; 0 means LogLimitDefault.
	Limit int
}

// Normalized returns f checked (a negative Limit, an unknown Status or Direction fail with an
// error wrapping ErrInvalidValue) with Limit 0 made LogLimitDefault. Every store calls it first.
func (f HealthFilter) Normalized() (HealthFilter, error) {
	if f.Limit < 0 {
		return f, fmt.Errorf("%w: health filter: negative limit %d", ErrInvalidValue, f.Limit)
	}
	if f.Status != "" {
		if err := f.Status.Validate(); err != nil {
			return f, err
		}
	}
	if f.Direction != "" && f.Direction != DirectionToHubSpot && f.Direction != DirectionToLMS {
		return f, fmt.Errorf("%w: health filter: direction %q is not %q or %q", ErrInvalidValue, f.Direction, DirectionToHubSpot, DirectionToLMS)
	}
	if f.Limit == 0 {
		f.Limit = LogLimitDefault
	}
	return f, nil
}

// Match reports whether h passes f's Status, Direction and cursor (the school and Limit are the
// caller's). The in-memory store filters with it; SQL stores state it in their query.
func (f HealthFilter) Match(h HealthEntry) bool {
	return (f.Status == "" || h.Status == f.Status) &&
		(f.Direction == "" || h.Direction == f.Direction) &&
		healthAfter(h, f.AfterEmail, f.AfterLearner, f.AfterDirection)
}

// healthAfter reports whether h sorts after the cursor (email, learner, direction).
func healthAfter(h HealthEntry, email, learner string, dir Direction) bool {
	if h.Email != email {
		return h.Email > email
	}
	if h.LearnerID != learner {
		return h.LearnerID > learner
	}
	return h.Direction > dir
}

// Skip reasons HealthOf recognises; the engine logs these sentences.
const (
	reasonNoConsent  = "GDPR toolkit on and the learner has not accepted marketing cookies"
	reasonNoContact  = "no HubSpot contact with this email"
	reasonBadEmail   = "learner has no valid email: "
	reasonEmptyEmail = "email is empty"
	reasonTimeline   = "timeline event "
)

// HealthOf is the rule turning one sync log entry into its learner's health: a failure is
// failing; a skip is excluded, with the reason classified; created, updated and unchanged are in
// sync. ok is false for an entry that says nothing about a learner's contact: one without an
// email or learner id, or a timeline event that did not fail.
func HealthOf(en SyncLogEntry, learnerID string) (h HealthEntry, ok bool) {
	h = HealthEntry{School: en.School, Direction: en.Direction, Email: FoldEmail(en.Email), At: en.At}
	if h.Email == "" {
		h.LearnerID = learnerID
	}
	if h.Email == "" && h.LearnerID == "" {
		return HealthEntry{}, false
	}
	switch {
	case en.Outcome == OutcomeFailed:
		h.Status, h.Reason = HealthFailing, clipReason(en.Reason)
	case strings.HasPrefix(en.Reason, reasonTimeline):
		return HealthEntry{}, false
	case en.Outcome == OutcomeSkipped:
		h.Status = HealthExcluded
		switch {
		case en.Reason == reasonNoConsent:
			h.Exclusion = ExcludedNoConsent
		case en.Reason == reasonBadEmail+reasonEmptyEmail:
			h.Exclusion = ExcludedNoEmail
		case strings.HasPrefix(en.Reason, reasonBadEmail):
			h.Exclusion = ExcludedInvalidEmail
		case en.Reason == reasonNoContact:
			h.Exclusion = ExcludedNoContact
		default:
			h.Exclusion, h.Reason = ExcludedOther, clipReason(en.Reason)
		}
	default:
		h.Status = HealthInSync
	}
	return h, true
}

// healthReasonMax bounds the reason a health record keeps, so a long error costs a failing
// learner a bounded row (the sync log keeps the whole sentence).
const healthReasonMax = 200

// clipReason cuts s to at most healthReasonMax bytes, on a rune boundary, marking the cut.
func clipReason(s string) string {
	if len(s) <= healthReasonMax {
		return s
	}
	cut := healthReasonMax - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
