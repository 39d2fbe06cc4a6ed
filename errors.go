package hubsync

import (
	"errors"
	"time"
)

// Sentinel errors that callers branch on with errors.Is. Adapters (stores, the LearnWorlds adapter,
// a host's own Learners) return or wrap these so the engine can tell what happened.
var (
	// ErrNotFound: the school, learner, connection, checkpoint or record asked for does not exist.
	ErrNotFound = errors.New("hubsync: not found")
	// ErrConflict: a create found the thing already there (a learner's email or username taken).
	ErrConflict = errors.New("hubsync: already exists")
	// ErrLeaseLost: a job was acked or retried by a worker whose lease had expired and been taken
	// over; the other worker's outcome stands.
	ErrLeaseLost = errors.New("hubsync: job lease lost")
	// ErrReadOnly: a Learners implementation was asked to write a field it cannot write.
	ErrReadOnly = errors.New("hubsync: field is read-only")
	// ErrInvalidSettings: Settings.Validate found a problem; the wrapped message names it.
	ErrInvalidSettings = errors.New("hubsync: invalid settings")
	// ErrInvalidValue: a value could not be converted between the two sides (see ConversionError).
	ErrInvalidValue = errors.New("hubsync: invalid value")
	// ErrConnectionLost: the school's HubSpot connection was revoked or its refresh token refused;
	// the school stays deactivated until it is connected again.
	ErrConnectionLost = errors.New("hubsync: HubSpot connection lost")
	// ErrNotConnected: the school has never been connected, or was disconnected.
	ErrNotConnected = errors.New("hubsync: school not connected to HubSpot")
	// ErrQueueFull: Engine.Record refused a repeatable timeline event because the school's queue
	// is at Retention.MaxQueuedEvents (HubSpot down, or the connection lost, for a long time).
	// Once-kinds, lifecycle stages and learner changes are never refused, so a caller that records
	// several activities of one source event must go on past this error, not stop at it.
	ErrQueueFull = errors.New("hubsync: queue full")
)

// Control errors: what a Learners implementation (the learnworlds adapter, or a host's own LMS
// backend) returns to tell the engine what to do with the work that failed, in the spirit of
// river's JobSnooze and JobCancel. Any other error is retried with a growing backoff and, after the
// queue's maximum attempts, dead-lettered.
var (
	// ErrUnavailable: the LMS (or HubSpot) cannot take work now (down, overloaded, rate-limited,
	// unreachable). The school's work waits, with a growing pause, and goes back to the queue
	// without counting an attempt: an outage of any length dead-letters nothing. Return it
	// wrapped (fmt.Errorf("...: %w", hubsync.ErrUnavailable)), or make the adapter's own error
	// type match it with an Is method (learnworlds.APIError does for 429 and 5xx).
	ErrUnavailable = errors.New("hubsync: service unavailable; try later")
)

// RetryAfterMax caps every wait the engine accepts from outside (a RetryAfterError's Delay, and
// the Retry-After headers the hubspot and learnworlds clients read, each capped at its own
// package's MaxRetryAfter): a wait longer than this, or one too large for a time.Duration, is
// taken as this.
const RetryAfterMax = 24 * time.Hour

// RetryAfterError says: the work failed for now, try again after Delay (a rate limit with a known
// reset). It matches ErrUnavailable with errors.Is; like it, it counts no attempt. Build it with
// RetryAfter.
type RetryAfterError struct {
	Err   error
	Delay time.Duration
}

// RetryAfter wraps err to say the work may run again after d (capped at RetryAfterMax; a
// negative d is taken as zero).
func RetryAfter(err error, d time.Duration) error {
	return &RetryAfterError{Err: err, Delay: min(max(d, 0), RetryAfterMax)}
}

func (e *RetryAfterError) Error() string {
	msg := "hubsync: retry after " + e.Delay.String()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the wrapped error.
func (e *RetryAfterError) Unwrap() error { return e.Err }

// Is matches ErrUnavailable.
func (e *RetryAfterError) Is(target error) bool { return target == ErrUnavailable }

// PermanentError says: this work can never succeed as it is (a record the LMS refuses for good);
// do not retry it. The engine dead-letters the jobs at once with the error as their cause, where
// an operator can read and replay them (Queue.DeadLetters, Queue.Replay). Build it with
// Permanent.
type PermanentError struct{ Err error }

// Permanent wraps err to say retrying cannot help.
func Permanent(err error) error { return &PermanentError{Err: err} }

func (e *PermanentError) Error() string {
	if e.Err == nil {
		return "hubsync: permanent failure"
	}
	return "hubsync: permanent failure: " + e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }
