package hubsync

import (
	"context"
	"time"
)

// This file declares the Learners port: the LMS side of the sync.

// Learner is one LMS user as the engine sees it.
type Learner struct {
	ID       string
	Email    string
	Username string
	// Values holds the learner's field values by catalog key (see LearnerField.Key). Allowed
	// dynamic types: nil, string, bool, float64 (numbers; and dates/datetimes as Unix seconds, as
	// LearnWorlds sends them), int64, and time.Time.
	Values map[string]any
	Tags   []string
	// MarketingConsent reports whether the learner accepted marketing/targeting cookies; with the
	// GDPR toolkit on, a learner without it is not added to HubSpot.
	MarketingConsent bool
	Created          time.Time
	// Updated is when the learner's profile last changed, when the LMS knows it. In two-way sync
	// it settles a field changed on both sides (see inbound.go); zero means unknown.
	Updated time.Time
}

// NewLearner is a learner to create in the LMS from a HubSpot contact.
type NewLearner struct {
	Email    string
	Username string
	// Values are the mapped inbound fields, by catalog key, in the LMS's types.
	Values map[string]any
	Tags   []string
	// SendWelcomeEmail asks the LMS to send its registration email.
	SendWelcomeEmail bool
}

// LearnerPage is one page of a school's learners.
type LearnerPage struct {
	Learners []Learner
	// Next is the cursor of the next page; "" when this is the last page.
	Next string
	// Total is the number of learners in the school when the LMS knows it, else -1.
	Total int

	// readAt is when the engine started reading the page (set by the engine, not by a Learners).
	readAt time.Time
}

// Learners is the LMS-side port. A host LMS implements it over its own database; the learnworlds
// package implements it over the public LearnWorlds API.
//
// Errors tell the engine what to do, record by record or for the whole batch:
//   - ErrNotFound (no such learner), ErrConflict (create: email or username taken), ErrReadOnly
//     (a field the implementation cannot write), ErrInvalidValue (a value the LMS refuses), and
//     a PermanentError (Permanent(err): this record can never be written as it is) fail that
//     one record: it is logged with the reason and the rest of the batch goes on. Returned from
//     a call that is not about one record (Catalog, ListPage), a PermanentError dead-letters the
//     batch's jobs at once, where an operator can read and replay them.
//   - ErrUnavailable (wrapped, or matched by the error's Is method: the LMS is down, overloaded,
//     rate-limited or unreachable) and a RetryAfterError (RetryAfter(err, d): try again after d)
//     put the batch back without counting an attempt and pause the school: a growing backoff
//     for ErrUnavailable, d for RetryAfter. An LMS outage of any length dead-letters nothing.
//   - Network errors (net.Error), io.ErrUnexpectedEOF and context.DeadlineExceeded count as
//     ErrUnavailable.
//   - Any other error is retried with a growing backoff, counting an attempt, and dead-lettered
//     after the queue's maximum attempts.
type Learners interface {
	// Catalog returns the LMS fields this school can map: the built-in ones, the school's custom
	// cf_ fields, billing fields when billing is enabled, UTMs and usage fields, each with its type
	// and whether the implementation can read and write it.
	Catalog(ctx context.Context, school SchoolID) ([]LearnerField, error)
	// GetByEmail finds a learner by email, case-insensitively.
	GetByEmail(ctx context.Context, school SchoolID, email string) (Learner, error)
	// ListPage returns the page of learners at cursor ("" for the first page).
	ListPage(ctx context.Context, school SchoolID, cursor string) (LearnerPage, error)
	// Update writes the given fields (catalog key to value, in the LMS's types) of learner id and
	// returns the learner as stored. It never touches password, role or enrollments.
	Update(ctx context.Context, school SchoolID, id string, values map[string]any) (Learner, error)
	// Create makes a new learner.
	Create(ctx context.Context, school SchoolID, l NewLearner) (Learner, error)
	// AddTags attaches tags to learner id.
	AddTags(ctx context.Context, school SchoolID, id string, tags []string) error
}
