package hubsync

import (
	"context"
	"fmt"
	"time"

	"github.com/hubsync/hubsync/clock"
)

// This file declares the ports: the interfaces through which the engine reaches persistence
// (Store, Queue), time (Clock) and the LMS (Learners). The root package ships no implementation of
// them that does I/O; see the store/sqlitestore and store/pgstore adapters, the in-memory ones in
// hubsynctest, and the learnworlds package's Learners adapter. Every implementation of Store and
// Queue must pass store/storetest.Run.

// SchoolID identifies one school (one LMS tenant, connected to one HubSpot portal).
type SchoolID string

// Clock is the injected time source; see package clock. A nil Clock anywhere means real time.
type Clock = clock.Clock

// Token is one school's HubSpot OAuth token set.
type Token struct {
	AccessToken  string
	RefreshToken string
	// Expiry is when AccessToken stops working (from expires_in at issue time).
	Expiry time.Time
}

// Connection is a school's HubSpot connection as stored.
type Connection struct {
	School SchoolID
	Token  Token
	// PortalID and Domain identify the connected HubSpot account (the "connected account" a
	// settings screen shows). Filled from token introspection.
	PortalID int64
	Domain   string
	// Active is false once the connection was lost (refresh refused); the engine sends nothing to
	// HubSpot for the school until it is connected again.
	Active bool
	// DeactivatedAt and DeactivatedReason say when and why Active went false.
	DeactivatedAt     time.Time
	DeactivatedReason string
	// NotifiedAt is when the school was emailed about the lost connection (zero: not yet). It
	// makes the notification go out exactly once per loss.
	NotifiedAt  time.Time
	ConnectedAt time.Time
}

// SyncState is what the engine knows of one learner/contact pair, keyed by school and email
// (the match key on both sides). It is how the engine avoids re-sending unchanged values and how it
// recognises its own writes coming back as changes (echo suppression).
type SyncState struct {
	School SchoolID
	// Email is the lower-cased match key.
	Email     string
	LearnerID string
	ContactID string
	// SentToHubSpot holds, per HubSpot property, the last value the engine successfully wrote.
	SentToHubSpot map[string]string
	// SentToLMS holds, per LMS field key, the last value (in HubSpot string form) the engine wrote
	// to the learner.
	SentToLMS map[string]string
	// LifecycleStage is the last stage the engine wrote or saw.
	LifecycleStage string
	// UpdatedAt is set by the store on every Put.
	UpdatedAt time.Time
}

// Checkpoint is where a manual sync (or any long resumable pass) stands, so a restart resumes.
type Checkpoint struct {
	School SchoolID
	// Name tells passes apart, for example "manual:lw-to-hs".
	Name string
	// Cursor is the opaque position to resume from (a page token, a page number, a timestamp).
	Cursor string
	// Data is any state the pass keeps with the cursor (counts, started time), opaque to the store.
	Data      []byte
	UpdatedAt time.Time
}

// LogOutcome says what happened to one record in a sync.
type LogOutcome string

// The outcomes a sync log entry can have.
const (
	OutcomeCreated   LogOutcome = "created"
	OutcomeUpdated   LogOutcome = "updated"
	OutcomeUnchanged LogOutcome = "unchanged"
	OutcomeSkipped   LogOutcome = "skipped"
	OutcomeFailed    LogOutcome = "failed"
)

// SyncLogEntry is one per-record line of the sync log: what was done to which record and why.
type SyncLogEntry struct {
	ID     int64 // assigned by the store
	School SchoolID
	At     time.Time
	// Direction is ToHubSpot or ToLMS.
	Direction Direction
	// Email is the record's match key. Implementations store it as given; anything that prints it
	// masks it (see MaskEmail).
	Email   string
	Outcome LogOutcome
	// Reason is a human sentence, for a skip or a failure.
	Reason string
}

// LogFilter narrows ListSyncLog. Zero fields do not filter.
type LogFilter struct {
	Outcome LogOutcome
	Email   string
	Since   time.Time
	// Limit caps the entries returned, newest first; 0 means 100.
	Limit int
}

// Store is the engine's persistence for everything but jobs. Every method is keyed by school, is
// safe for concurrent use by many engine instances sharing one database, and returns an error
// wrapping ErrNotFound when the record asked for is missing.
type Store interface {
	// PutSettings replaces a school's settings (creating the school on first use).
	PutSettings(ctx context.Context, school SchoolID, s Settings) error
	// GetSettings returns a school's settings; ErrNotFound when none were saved.
	GetSettings(ctx context.Context, school SchoolID) (Settings, error)
	// ListSchools returns every school that has settings or a connection, sorted.
	ListSchools(ctx context.Context) ([]SchoolID, error)

	// PutConnection stores a school's connection (tokens, portal, active flag), replacing any.
	PutConnection(ctx context.Context, c Connection) error
	// GetConnection returns a school's connection; ErrNotFound when it was never connected or was
	// disconnected.
	GetConnection(ctx context.Context, school SchoolID) (Connection, error)
	// DeleteConnection forgets a school's connection and tokens. Deleting a missing one is not an
	// error.
	DeleteConnection(ctx context.Context, school SchoolID) error

	// GetSyncState returns the state for one learner (email compared case-insensitively);
	// ErrNotFound when there is none.
	GetSyncState(ctx context.Context, school SchoolID, email string) (SyncState, error)
	// PutSyncState stores st, replacing the state for its school and email.
	PutSyncState(ctx context.Context, st SyncState) error

	// ClaimOnce records that the once-per-learner event key (see OnceKey) belongs to the occurrence
	// occurrenceID, unless it already belongs to another. It returns the occurrence that owns the key
	// after the call: occurrenceID when this call (or an earlier call with the same occurrence)
	// claimed it. Two racing callers with different occurrences see the same single winner.
	ClaimOnce(ctx context.Context, school SchoolID, key, occurrenceID string) (owner string, err error)

	// MarkWebhookSeen records a webhook event id from source ("hubspot", "learnworlds") and reports
	// whether this is the first time it was seen. Racing callers with the same id: exactly one gets
	// true.
	MarkWebhookSeen(ctx context.Context, source, eventID string, at time.Time) (first bool, err error)
	// ForgetWebhooksBefore deletes dedupe records older than t (HubSpot retries for 24 hours, so
	// keeping a few days is enough) and returns how many went.
	ForgetWebhooksBefore(ctx context.Context, t time.Time) (int, error)

	// PutCheckpoint stores a checkpoint, replacing the one with the same school and name.
	PutCheckpoint(ctx context.Context, c Checkpoint) error
	// GetCheckpoint returns one checkpoint; ErrNotFound when there is none.
	GetCheckpoint(ctx context.Context, school SchoolID, name string) (Checkpoint, error)
	// DeleteCheckpoint removes a checkpoint; a missing one is not an error.
	DeleteCheckpoint(ctx context.Context, school SchoolID, name string) error

	// AppendSyncLog adds entries to the per-record sync log.
	AppendSyncLog(ctx context.Context, entries ...SyncLogEntry) error
	// ListSyncLog returns a school's log entries matching f, newest first.
	ListSyncLog(ctx context.Context, school SchoolID, f LogFilter) ([]SyncLogEntry, error)
}

// Transactor is implemented by a Store whose Queue lives in the same database. RunInTx calls fn
// with a Store and Queue bound to one transaction, so an enqueued job and the state change it
// belongs to commit together or not at all. fn's error rolls back and is returned.
type Transactor interface {
	RunInTx(ctx context.Context, fn func(ctx context.Context, s Store, q Queue) error) error
}

// JobKind says what a job does; the engine defines the kinds it uses.
type JobKind string

// Priority orders work inside one school: live changes go ahead of backfill.
type Priority int

// The priorities, highest first.
const (
	PriorityLive     Priority = 0
	PriorityBackfill Priority = 1
)

// JobSpec is a job to enqueue.
type JobSpec struct {
	School SchoolID
	Kind   JobKind
	// Key coalesces: while a job with the same school and key waits (not leased), enqueueing
	// another replaces its payload with the new one (the latest state wins), keeps the earlier
	// RunAt and the higher priority, and keeps its attempt count. While one is leased, the new job
	// waits behind it: jobs of one key never run at the same time and run in enqueue order. An
	// empty Key never coalesces.
	Key      string
	Payload  []byte
	Priority Priority
	// RunAt is the earliest time the job may be dequeued; zero means now.
	RunAt time.Time
}

// Validate reports a job that no queue may take: one with no school, no kind, or an unknown
// priority. The error wraps ErrInvalidValue.
func (j JobSpec) Validate() error {
	switch {
	case j.School == "":
		return fmt.Errorf("%w: job has no school", ErrInvalidValue)
	case j.Kind == "":
		return fmt.Errorf("%w: job of school %q has no kind", ErrInvalidValue, j.School)
	case j.Priority != PriorityLive && j.Priority != PriorityBackfill:
		return fmt.Errorf("%w: job of school %q has priority %d; want %d (live) or %d (backfill)",
			ErrInvalidValue, j.School, j.Priority, PriorityLive, PriorityBackfill)
	}
	return nil
}

// ValidateJobs checks every spec of an Enqueue before anything is written, naming the first bad
// one by its position.
func ValidateJobs(jobs []JobSpec) error {
	for i, j := range jobs {
		if err := j.Validate(); err != nil {
			return fmt.Errorf("job %d of %d: %w", i, len(jobs), err)
		}
	}
	return nil
}

// Job is a leased job as a worker sees it.
type Job struct {
	ID int64
	JobSpec
	// Attempts counts the tries before this one (0 on the first run).
	Attempts  int
	LastError string
	// LeaseToken identifies this lease; Ack and Retry with a stale token fail with ErrLeaseLost.
	LeaseToken string
	LeaseUntil time.Time
	EnqueuedAt time.Time
}

// DequeueOptions says what a worker wants.
type DequeueOptions struct {
	// Worker names the caller, for diagnostics.
	Worker string
	// Max is the most jobs to return; all returned jobs belong to ONE school, so a worker can batch
	// them into one call to that school's portal. 0 means 1.
	Max int
	// Lease is how long the jobs stay leased; after it a crashed worker's jobs can be taken over.
	Lease time.Duration
	// Kinds, when not empty, restricts the kinds returned.
	Kinds []JobKind
	// Exclude lists schools to skip (for example those waiting out a rate limit).
	Exclude []SchoolID
}

// QueueStats counts a school's jobs.
type QueueStats struct {
	Ready, Scheduled, Leased, Dead int
}

// Queue is the durable job queue. Implementations must be safe for many workers in many processes.
//
// Dequeue is fair across schools (a school with a million backfill jobs does not starve another's
// live job), serves PriorityLive before PriorityBackfill inside a school, never returns a job whose
// RunAt is in the future, and never leases two jobs with the same school and Key at once.
type Queue interface {
	// Enqueue adds jobs durably (see JobSpec.Key for coalescing).
	Enqueue(ctx context.Context, jobs ...JobSpec) error
	// Dequeue leases up to opts.Max ready jobs of one school. It returns an empty slice, not an
	// error, when nothing is ready.
	Dequeue(ctx context.Context, opts DequeueOptions) ([]Job, error)
	// Ack completes a job. ErrLeaseLost when the lease expired and another worker took it.
	Ack(ctx context.Context, j Job) error
	// Retry gives a job back to run again at runAt, counting the attempt and recording cause. After
	// the queue's configured maximum attempts the job is dead-lettered instead. ErrLeaseLost as Ack.
	Retry(ctx context.Context, j Job, runAt time.Time, cause string) error
	// Release gives a leased job back without counting an attempt (a worker shutting down, or work
	// postponed by a rate limit), to run again at runAt.
	Release(ctx context.Context, j Job, runAt time.Time) error
	// DeadLetters lists a school's dead-lettered jobs, oldest first.
	DeadLetters(ctx context.Context, school SchoolID) ([]Job, error)
	// Replay moves a dead-lettered job back to the ready queue with its attempts reset.
	// ErrNotFound when no dead job has that id.
	Replay(ctx context.Context, id int64) error
	// Stats counts a school's jobs by state.
	Stats(ctx context.Context, school SchoolID) (QueueStats, error)
	// NextRunAt returns the earliest RunAt of a waiting (not leased, not dead) job across all
	// schools, so idle workers know how long to wait; ok is false when nothing waits.
	NextRunAt(ctx context.Context) (t time.Time, ok bool, err error)
}

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
}

// Learners is the LMS-side port. A host LMS implements it over its own database; the learnworlds
// package implements it over the public LearnWorlds API. Methods return errors wrapping
// ErrNotFound (no such learner), ErrConflict (create: email or username taken) and ErrReadOnly
// (a field the implementation cannot write).
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
