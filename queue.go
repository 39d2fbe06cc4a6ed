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
	// Key names what the job is about inside its school (a learner, say); jobs with the same
	// school and Key coalesce and run one at a time, in order. An empty Key never coalesces and
	// never waits for another job.
	//
	// Coalescing: while a job of the key waits, enqueueing another merges into the newest waiting
	// one instead of adding a job. A leased job never counts as waiting, not even once its lease
	// expired, so a slow worker never has its job's payload swapped under it. The merged job
	// takes the new Kind and Payload (the latest state wins), the earlier RunAt and the higher
	// priority, and keeps its ID, Attempts and LastError. While the key's only live job is leased,
	// the new job is added and waits behind it.
	//
	// Order: jobs of one key are never leased at the same time and run strictly in enqueue order.
	// The oldest live (not dead) job of a key blocks the ones behind it, even while it waits for
	// a Retry's run-at time. A leased job, even one whose lease expired, goes first: a replayed
	// dead job, though older, waits behind it. A dead job, retried to death or killed, blocks
	// nothing.
	Key      string
	Payload  []byte
	Priority Priority
	// RunAt is the earliest time the job may be dequeued. A zero RunAt is stored as the time of
	// the Enqueue, and Job.RunAt reports it so.
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
	// Attempts counts the tries before this one (0 on the first run). Retry and Kill count one,
	// and so does a lease that expired and was taken over (see Queue); Release counts none, and
	// Replay starts again from 0.
	Attempts int
	// LastError says why the last counted try failed: the cause given to Retry or Kill, or that
	// the lease expired.
	LastError string
	// LeaseToken identifies this lease; Ack, Retry, Release and Kill with a stale token fail with
	// ErrLeaseLost.
	LeaseToken string
	LeaseUntil time.Time
	EnqueuedAt time.Time
}

// DequeueOptions says what a worker wants.
type DequeueOptions struct {
	// Worker names the caller; the queue keeps it with the lease, for diagnostics, Holders and
	// ExpireLeases.
	Worker string
	// Max is the most jobs to return; all returned jobs belong to ONE school, so a worker can batch
	// them into one call to that school's portal. 0 means 1.
	Max int
	// Lease is how long the jobs stay leased; after it a crashed worker's jobs can be taken over.
	// 0 means the queue's default lease.
	Lease time.Duration
	// Kinds, when not empty, restricts the kinds returned.
	Kinds []JobKind
	// Exclude lists schools to skip (for example those waiting out a rate limit).
	Exclude []SchoolID
	// Schools, when not empty, restricts the jobs returned to these schools, still taken by
	// turn among them (Exclude applies too): a worker asks for more of one school's work.
	Schools []SchoolID
	// ExcludeLeasedKeys, when not empty, skips every school that has a job of one of these keys
	// leased with its lease not yet run out (by any worker of any process). The engine's live
	// lane leaves a school alone while a worker runs its manual sync page ("manual"), since that
	// worker carries the school's live changes in its own requests. An expired lease does not
	// count: nobody is working the job.
	ExcludeLeasedKeys []string
}

// QueueStats counts a school's jobs at the queue clock's time; each job not yet acked is in
// exactly one count.
type QueueStats struct {
	// Ready counts waiting jobs that are due, those blocked behind another job of their key
	// included, and leased jobs whose lease expired.
	Ready int `json:"ready"`
	// Scheduled counts waiting jobs due later.
	Scheduled int `json:"scheduled"`
	// Leased counts jobs under a lease that has not expired (being worked on).
	Leased int `json:"leased"`
	// Dead counts dead-lettered jobs.
	Dead int `json:"dead"`
}

// Queue is the durable job queue. Implementations must be safe for many workers in many processes.
// They take every time they store or compare (enqueue time, run-at, leases, deaths) from an
// injected Clock and keep times to the microsecond at least. Each is configured with a maximum
// number of attempts, MaxAttemptsDefault unless set otherwise. store/storetest checks what these
// comments promise.
//
// A job is waiting (due at its RunAt), leased (a worker holds it until LeaseUntil) or dead
// (dead-lettered, until Replay); Ack deletes it.
//
// Dequeue is fair across schools: of the schools with a job ready it serves the one served least
// recently, so N schools with ready jobs are each served once in any N consecutive single-job
// dequeues, and a school with a million backfill jobs does not starve another's live job. Inside
// a school it serves by priority (PriorityLive before PriorityBackfill), then RunAt, then enqueue
// order. It never returns a job whose RunAt is in the future, and never leases two jobs with the
// same school and Key at once (see JobSpec.Key for the order of a key's jobs).
//
// A job whose lease expired is ready again. The worker that takes it over sees Attempts increased
// by one and a LastError saying the lease expired; when that count reaches the maximum attempts
// the job is dead-lettered instead (a job that keeps killing its workers). The old worker's Ack,
// Retry, Release and Kill then fail with ErrLeaseLost; until someone takes the job over, the old
// lease token still works.
type Queue interface {
	// Enqueue adds jobs durably, all or none (see JobSpec.Key for coalescing). It checks the whole
	// batch first (ValidateJobs): a job with no School or Kind, or with a Priority other than
	// PriorityLive or PriorityBackfill, fails the call with an error wrapping ErrInvalidValue, and
	// nothing is enqueued. Enqueue of no jobs does nothing.
	Enqueue(ctx context.Context, jobs ...JobSpec) error
	// Dequeue leases up to opts.Max ready jobs of one school, in the order above. It returns an
	// empty slice, not an error, when nothing is ready.
	Dequeue(ctx context.Context, opts DequeueOptions) ([]Job, error)
	// Ack completes a job, deleting it. It fails with ErrLeaseLost when j's lease is no longer the
	// job's: another worker took the job over after the lease expired, or it was acked, retried,
	// released or killed already (so a second Ack fails). An expired lease nobody took over still
	// acks.
	Ack(ctx context.Context, j Job) error
	// Retry gives a job back to run again at runAt (zero: now), counting the attempt and recording
	// cause as its LastError; it stays the head of its key's jobs. The Retry that brings the count
	// to the queue's maximum attempts dead-letters the job instead. ErrLeaseLost as Ack.
	Retry(ctx context.Context, j Job, runAt time.Time, cause string) error
	// Release gives a leased job back without counting an attempt (a worker shutting down, or work
	// postponed by a rate limit), to run again at runAt (zero: now). ErrLeaseLost as Ack.
	Release(ctx context.Context, j Job, runAt time.Time) error
	// AckMany is Ack of a batch in one atomic write (one commit for the batch instead of one per
	// job): it deletes every job of jobs whose lease is still the job's (as for Ack, an expired
	// lease nobody took over included) and returns the ids of the others, in the order given,
	// leaving them alone: those are the jobs Ack would fail with ErrLeaseLost, and a lost lease
	// does not keep the other jobs of the batch from being acked. A job given twice with one
	// lease token is acked once and not reported lost. An error means nothing was acked. The jobs
	// may belong to different schools. AckMany of no jobs does nothing.
	AckMany(ctx context.Context, jobs []Job) (lost []int64, err error)
	// ReleaseMany is Release of a batch, every job to run again at runAt (zero: now), in one
	// atomic write; lost and err as AckMany.
	ReleaseMany(ctx context.Context, jobs []Job, runAt time.Time) (lost []int64, err error)
	// Extend renews the leases of leased jobs the caller holds to until: a worker's heartbeat while
	// a long batch runs. It extends, in one write, every job of jobs whose lease token is still the
	// job's (an expired lease nobody took over included, as for Ack), and returns the ids of the
	// others (taken over by another worker, or acked, retried, released or killed already), whose
	// work the caller must stop. An until not after the queue clock's now fails with an error
	// wrapping ErrInvalidValue and extends nothing. Extend of no jobs does nothing.
	Extend(ctx context.Context, jobs []Job, until time.Time) (lost []int64, err error)
	// Holders lists, each once and sorted, the workers (DequeueOptions.Worker, when not empty)
	// holding a lease that has not expired at the queue clock's now.
	Holders(ctx context.Context) ([]string, error)
	// ExpireLeases ends now the unexpired leases of every job worker holds, as if they had run
	// out: the next Dequeue takes those jobs over (counting the attempt, as for any expired lease)
	// and, until then, the old lease tokens still work. It returns how many leases it ended (0 for
	// a worker holding none). The engine calls it for a holder it knows has died (a process of
	// this machine that is gone), so the work resumes at once instead of after the lease.
	ExpireLeases(ctx context.Context, worker string) (int, error)
	// Kill dead-letters a leased job at once, whatever its attempt count, recording cause as its
	// LastError (the engine uses it for work whose error is permanent). The job counts the
	// attempt. It can be replayed like any dead letter. ErrLeaseLost as Ack.
	Kill(ctx context.Context, j Job, cause string) error
	// DeadLetters lists a school's dead-lettered jobs, oldest death first, with the Attempts and
	// LastError they died with.
	DeadLetters(ctx context.Context, school SchoolID) ([]Job, error)
	// Replay moves a dead-lettered job back to the queue, ready at the clock's now, with its
	// Attempts reset to 0; it waits behind a leased job of its key (see JobSpec.Key). ErrNotFound
	// when no dead job has that id (a waiting or leased one included).
	Replay(ctx context.Context, id int64) error
	// Discard deletes a dead-lettered job for good. ErrNotFound when no dead job has that id (a
	// waiting or leased one included, which it leaves alone).
	Discard(ctx context.Context, id int64) error
	// Stats counts a school's jobs by state (see QueueStats); all counts are 0 for a school with
	// no jobs.
	Stats(ctx context.Context, school SchoolID) (QueueStats, error)
	// NextRunAt returns the earliest RunAt of a waiting (not leased, not dead) job across all
	// schools, so idle workers know how long to wait; ok is false when nothing waits.
	NextRunAt(ctx context.Context) (t time.Time, ok bool, err error)
}
