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
	// Generation is set by the store: every PutConnection and DeleteConnection of a school makes
	// it larger than any value the school's connection had before (the store keeps the counter
	// of a deleted connection), so an engine holding a copy tells with one read that another
	// process connected, reconnected, refreshed, deactivated or disconnected the school. The
	// value passed to PutConnection is ignored; GetConnection returns the stored one.
	Generation int64
}

// SyncState is what the engine knows of one learner/contact pair, keyed by school and email
// (the match key on both sides). It is how the engine avoids re-sending unchanged values and how it
// recognises its own writes coming back as changes (echo suppression).
type SyncState struct {
	School SchoolID
	// Email is the match key, folded by the store with FoldEmail (trimmed, lower-cased).
	Email     string
	LearnerID string
	ContactID string
	// SentToHubSpot records, per HubSpot property, the last value the engine successfully wrote.
	// The engine only compares a recorded value with another, so it records a value of up to 11
	// bytes as is and a longer one as a 12-character fingerprint; the key "~" (value "1") marks
	// a map so written. A map without it (as older versions wrote them) holds the values
	// themselves and is read as such. The key "@" records when the copy of the learner last
	// written was read (so an older copy, a manual sync page read before a live change, is not
	// written over a newer one). Stores keep the map as given.
	SentToHubSpot map[string]string
	// SentToLMS records, per LMS field key, the last value (in HubSpot string form) the engine
	// wrote to the learner, in the form SentToHubSpot has.
	SentToLMS map[string]string
	// LifecycleStage is the last stage the engine wrote or saw.
	LifecycleStage string
	// UpdatedAt is set by the store, to its clock's time, on every Put; the value given is
	// ignored.
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
	Data []byte
	// UpdatedAt is set by the store, to its clock's time, on every Put.
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

// LogOutcomes lists the valid outcomes of a sync log entry.
func LogOutcomes() []LogOutcome {
	return []LogOutcome{OutcomeCreated, OutcomeUpdated, OutcomeUnchanged, OutcomeSkipped, OutcomeFailed}
}

// Validate reports an outcome that is not one of the LogOutcome constants; the empty outcome is
// valid. The error wraps ErrInvalidValue.
func (o LogOutcome) Validate() error {
	switch o {
	case "", OutcomeCreated, OutcomeUpdated, OutcomeUnchanged, OutcomeSkipped, OutcomeFailed:
		return nil
	}
	return fmt.Errorf("%w: unknown outcome %q (want one of %q)", ErrInvalidValue, string(o), LogOutcomes())
}

// SyncLogEntry is one per-record line of the sync log: what was done to which record and why.
type SyncLogEntry struct {
	// ID is assigned by the store on append: distinct and non-zero.
	ID     int64
	School SchoolID
	// At is when it happened; a zero At is set to the store clock's time on append.
	At time.Time
	// Direction is ToHubSpot or ToLMS.
	Direction Direction
	// Email is the record's match key. Implementations store it as given; anything that prints it
	// masks it (see MaskEmail).
	Email   string
	Outcome LogOutcome
	// Reason is a human sentence, for a skip or a failure.
	Reason string
}

// Validate reports an entry no store may append, naming the field: no School, an Outcome that is
// not one of the LogOutcome constants, or a Direction that is not one of Directions (an empty
// Outcome or Direction is valid). The error wraps ErrInvalidValue. Every store calls it in
// AppendSyncLog, so what one store takes every other takes too (pgstore stores the outcome and
// direction as small codes, which have no room for other values).
func (e SyncLogEntry) Validate() error {
	if e.School == "" {
		return fmt.Errorf("%w: sync log entry has no school", ErrInvalidValue)
	}
	if err := e.Outcome.Validate(); err != nil {
		return fmt.Errorf("sync log entry field Outcome: %w", err)
	}
	switch e.Direction {
	case "", DirectionToHubSpot, DirectionToLMS, DirectionBoth:
		return nil
	}
	return fmt.Errorf("sync log entry field Direction: %w: unknown direction %q (want one of %q)", ErrInvalidValue, string(e.Direction), Directions())
}

// LogFilter narrows ListSyncLog. Zero fields do not filter.
type LogFilter struct {
	Outcome LogOutcome
	Email   string
	Since   time.Time
	// Limit caps the entries returned, newest first; 0 means LogLimitDefault.
	Limit int
}

// LogLimitDefault is how many entries ListSyncLog returns when LogFilter.Limit is 0.
const LogLimitDefault = 100

// Validate reports a filter no store may take: a negative Limit, or an Outcome that is not one of
// the LogOutcome constants. The error wraps ErrInvalidValue.
func (f LogFilter) Validate() error {
	if f.Limit < 0 {
		return fmt.Errorf("%w: sync log filter: negative limit %d", ErrInvalidValue, f.Limit)
	}
	if err := f.Outcome.Validate(); err != nil {
		return fmt.Errorf("sync log filter: %w", err)
	}
	return nil
}

// Normalized returns f after Validate, with its defaults applied: Limit 0 becomes
// LogLimitDefault, Email is folded (FoldEmail). Every store calls it first in ListSyncLog.
func (f LogFilter) Normalized() (LogFilter, error) {
	if err := f.Validate(); err != nil {
		return LogFilter{}, err
	}
	if f.Limit == 0 {
		f.Limit = LogLimitDefault
	}
	f.Email = FoldEmail(f.Email)
	return f, nil
}

// Match reports whether en passes f's Outcome, Email (folded on both sides) and Since filters;
// the school and Limit are the caller's. Stores that filter in Go (the in-memory one) use it; SQL
// stores state the same rule in their query.
func (f LogFilter) Match(en SyncLogEntry) bool {
	return (f.Outcome == "" || en.Outcome == f.Outcome) &&
		(f.Email == "" || FoldEmail(en.Email) == FoldEmail(f.Email)) &&
		(f.Since.IsZero() || !en.At.Before(f.Since))
}

// Store is the engine's persistence for everything but jobs. Every method is keyed by school, is
// safe for concurrent use by many engine instances sharing one database, and returns an error
// wrapping ErrNotFound when the record asked for is missing. Implementations take every time they
// stamp from an injected Clock and keep times to the microsecond at least. store/storetest checks
// what these comments promise.
type Store interface {
	// PutSettings replaces a school's settings (creating the school on first use).
	PutSettings(ctx context.Context, school SchoolID, s Settings) error
	// GetSettings returns a school's settings; ErrNotFound when none were saved.
	GetSettings(ctx context.Context, school SchoolID) (Settings, error)
	// ListSchools returns every school that has settings or a connection, sorted; in a store
	// that implements LMSConnections, also every school with an LMS connection.
	ListSchools(ctx context.Context) ([]SchoolID, error)

	// PutConnection stores a school's connection (tokens, portal, active flag), replacing any,
	// and raises the school's Generation (see Connection.Generation; c.Generation is ignored)
	// above every value it had: the first put of a school stores at least 1. Raising the counter
	// and writing the connection are one atomic change, inside RunInTx too, so racing writers in
	// any number of processes each get a generation of their own.
	PutConnection(ctx context.Context, c Connection) error
	// GetConnection returns a school's connection; ErrNotFound when it was never connected or was
	// disconnected.
	GetConnection(ctx context.Context, school SchoolID) (Connection, error)
	// DeleteConnection forgets a school's connection and tokens, and raises its Generation as
	// PutConnection does: the counter outlives the connection, so the next put is above every
	// value before the delete. Deleting a missing one is not an error, and a school whose
	// connection was only ever deleted is not listed by ListSchools.
	DeleteConnection(ctx context.Context, school SchoolID) error

	// GetSyncState returns the state for one learner, the email folded with FoldEmail (so case
	// and the white space around it do not matter); ErrNotFound when there is none.
	GetSyncState(ctx context.Context, school SchoolID, email string) (SyncState, error)
	// PutSyncState stores st under its school and FoldEmail(st.Email), replacing the state
	// there. The stored Email is the folded one; UpdatedAt is set to the clock's time.
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
	// ForgetWebhooksBefore deletes the dedupe records, of every source, seen before t (strictly:
	// one seen at t stays) and returns how many went. HubSpot retries a delivery for up to 24
	// hours, so the engine keeps records for Retention.Webhooks (72 hours by default) and calls
	// this from its janitor (see Engine.Prune). Racing callers, in any number of processes, each
	// delete a record at most once, and their counts add up to the records that went.
	ForgetWebhooksBefore(ctx context.Context, t time.Time) (int, error)

	// PutCheckpoint stores a checkpoint, replacing the one with the same school and name.
	PutCheckpoint(ctx context.Context, c Checkpoint) error
	// GetCheckpoint returns one checkpoint; ErrNotFound when there is none.
	GetCheckpoint(ctx context.Context, school SchoolID, name string) (Checkpoint, error)
	// DeleteCheckpoint removes a checkpoint; a missing one is not an error.
	DeleteCheckpoint(ctx context.Context, school SchoolID, name string) error

	// AppendSyncLog adds entries to the per-record sync log, assigning their IDs; a zero At
	// becomes the clock's time, and Email is kept as given. Appending none does nothing. An entry
	// SyncLogEntry.Validate refuses fails the call with an error wrapping ErrInvalidValue, and
	// nothing is appended.
	AppendSyncLog(ctx context.Context, entries ...SyncLogEntry) error
	// ListSyncLog returns a school's log entries matching f, newest first (by At; entries with
	// equal At, the last appended first). It applies f.Normalized first: a filter Validate refuses
	// (a negative Limit, an unknown Outcome) fails with an error wrapping ErrInvalidValue, and
	// Limit 0 means LogLimitDefault. It keeps the entries f.Match accepts: Email compared folded,
	// Since keeping entries with At at or after it.
	ListSyncLog(ctx context.Context, school SchoolID, f LogFilter) ([]SyncLogEntry, error)
	// ForgetSyncLogBefore deletes the log entries, of every school, whose At is before t
	// (strictly: an entry at t stays), and returns how many went. Every entry at or after t is
	// kept, so ListSyncLog still sees all of them (Engine.Status reads the newest). The engine
	// calls it from its janitor with now minus Retention.SyncLog (30 days by default; see
	// Engine.Prune). Racing callers, in any number of processes, each delete an entry at most
	// once, and their counts add up to the entries that went.
	ForgetSyncLogBefore(ctx context.Context, t time.Time) (int, error)

	// PutSyncHealth records learners' latest health (see health.go), keyed by school, direction,
	// folded email and learner id: an entry whose Status is HealthInSync deletes the record of
	// its key (a missing one is not an error), any other replaces it, in the order given. The
	// stored Email is folded; an entry with an invalid Status fails with ErrInvalidValue and
	// writes nothing. Putting none does nothing.
	PutSyncHealth(ctx context.Context, entries ...HealthEntry) error
	// ListSyncHealth returns a school's health records matching f (HealthFilter.Match), sorted by
	// email, then learner id, then direction (the cursor's order), at most f.Limit. It applies f.Normalized first: a
	// filter it refuses fails with ErrInvalidValue.
	ListSyncHealth(ctx context.Context, school SchoolID, f HealthFilter) ([]HealthEntry, error)
	// ListSyncStates returns a school's sync states whose folded email sorts after after, sorted
	// by email, at most limit (limit <= 0 means LogLimitDefault): a cursor walk over every
	// learner the engine has synced.
	ListSyncStates(ctx context.Context, school SchoolID, after string, limit int) ([]SyncState, error)
}

// SyncStateBatcher is implemented by a Store that reads and writes many learners' sync states in
// one round trip each. The engine uses it wherever it handles a batch of learners (a manual sync
// page, an outbound batch, an inbound batch), and on a Store without it makes one GetSyncState
// or PutSyncState call per learner instead: the results are the same, only slower. It is a port
// of its own, not part of Store, so that a host's Store written before it keeps working. A Store
// that implements it must make the Store RunInTx hands its function implement it too.
// store/storetest checks what these comments promise.
type SyncStateBatcher interface {
	// GetSyncStates returns the states stored for school under emails, each folded with
	// FoldEmail, keyed by the folded email: an email with no state is absent from the map (that
	// is not an error), an email given twice (also once folded) is read once, and no emails give
	// an empty map. Any number of emails is one call, however the store splits it.
	GetSyncStates(ctx context.Context, school SchoolID, emails []string) (map[string]SyncState, error)
	// PutSyncStates stores each state as PutSyncState does, all in one atomic change: every
	// state is stored, or (on an error) none. A state with an empty school or email fails the
	// call with ErrInvalidValue and nothing is written. Two states of one school and folded email:
	// the later one in the list is stored. Putting none does nothing.
	PutSyncStates(ctx context.Context, states ...SyncState) error
}

// SyncStateSwapper is implemented by a Store that writes sync states conditionally (a
// compare-and-swap): each state is stored only if the learner's stored state is still the one
// its writer read. Two writers of one learner (a manual sync page and a live change, in two
// workers or processes) then cannot both store a state built on the same read: the second is
// told, and the engine reads the state again, merges and tries once more (engine_outbound.go).
// Without it the engine stores unconditionally and looks again just before (a window of one
// store write remains). It is a port of its own, not part of Store, as SyncStateBatcher is; a
// Store that implements it must make the Store RunInTx hands its function implement it too.
// store/storetest checks what these comments promise.
type SyncStateSwapper interface {
	// SwapSyncStates stores, for each swap, swap.State under school and its folded email, with
	// UpdatedAt set as PutSyncState sets it, if and only if the stored state still is the one
	// the writer read: none when swap.Existed is false, else one whose UpdatedAt equals
	// swap.UpdatedAt exactly (the value GetSyncState or GetSyncStates of this store returned).
	// Each row is checked and written atomically, and the whole call is one atomic change. It
	// returns the folded emails whose condition failed, in no particular order; nothing was
	// written for them, and every other swap was stored. A swapped state's UpdatedAt is after
	// the one it replaces, even when the clock has not moved past it (a frozen test clock,
	// another process's clock behind), so a writer that read the replaced state is refused. A
	// state with an empty email, a school other than school (an empty one is school), an empty
	// school, or two swaps of one folded email fail the call with ErrInvalidValue and nothing
	// is written. Swapping none does nothing.
	SwapSyncStates(ctx context.Context, school SchoolID, swaps []SyncStateSwap) (conflicts []string, err error)
}

// SyncStateSwap is one conditional write of SyncStateSwapper.SwapSyncStates: State, to be stored
// if the learner's stored state is still the one its writer read.
type SyncStateSwap struct {
	State SyncState
	// Existed reports whether a state was stored when the writer read; false means "none
	// existed", and the swap stores State only if there still is none.
	Existed bool
	// UpdatedAt is the UpdatedAt of the state the writer read (when Existed), exactly as the
	// store returned it.
	UpdatedAt time.Time
}

// Transactor is implemented by a Store whose Queue lives in the same database. RunInTx calls fn
// with a Store and Queue bound to one transaction, so an enqueued job and the state change it
// belongs to commit together or not at all: fn sees its own writes, its error rolls back every
// write and enqueue it made and is returned, and a nil error commits them all.
type Transactor interface {
	RunInTx(ctx context.Context, fn func(ctx context.Context, s Store, q Queue) error) error
}
