package hubsync

import (
	"context"
	"fmt"
	"time"
)

// This file declares the Queue port: durable, leased jobs with coalescing keys. See store.go for
// the Store port and learners.go for the LMS side.

// MaxAttemptsDefault is how many tries a job gets before a queue dead-letters it, in every queue
// of this module unless configured otherwise (and the number storetest expects by default).
const MaxAttemptsDefault = 10

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
	// Kill dead-letters a leased job at once, whatever its attempt count, recording cause as its
	// LastError (the engine uses it for work whose error is permanent). The job counts the
	// attempt. It can be replayed like any dead letter. ErrLeaseLost as Ack.
	Kill(ctx context.Context, j Job, cause string) error
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
