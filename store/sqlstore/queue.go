package sqlstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/hubsync/hubsync"
)

// Defaults of the queue.
const (
	// LeaseDefault is the lease Dequeue grants when DequeueOptions.Lease is zero.
	LeaseDefault = time.Minute
	// MaxBatchDefault caps DequeueOptions.Max.
	MaxBatchDefault = 1000
)

var (
	_ hubsync.Queue       = (*Store)(nil)
	_ hubsync.Transactor  = (*Store)(nil)
	_ hubsync.KindStatser = (*Store)(nil)
)

func (s *Store) maxAttempts() int { return cmp.Or(s.cfg.MaxAttempts, hubsync.MaxAttemptsDefault) }

// RunInTx calls fn with a Store (also the Queue) bound to one transaction (Executor.InTx), so
// what fn writes and enqueues commits together or not at all. fn's error rolls the transaction
// back and is returned as is, as is a failure to begin or commit. On a Store bound to a
// transaction already (RunInTx's, or a host's through the driver package's WithTx), fn runs
// inside it (a savepoint where the database has them). The bound Store must not be used after fn
// returns.
func (s *Store) RunInTx(ctx context.Context, fn func(ctx context.Context, st hubsync.Store, q hubsync.Queue) error) error {
	return s.ex.InTx(ctx, func(ctx context.Context, tx Executor) error {
		b := Bind(s, tx)
		return fn(ctx, b, b)
	})
}

// Enqueue adds jobs durably, all or none, coalescing by JobSpec.Key (see Executor.JobInsert). A
// zero RunAt means the clock's now. The whole batch is checked first (hubsync.ValidateJobs): an
// empty School or Kind, or a Priority other than PriorityLive or PriorityBackfill, fails the call
// naming the job, and nothing is enqueued.
func (s *Store) Enqueue(ctx context.Context, jobs ...hubsync.JobSpec) error {
	if err := hubsync.ValidateJobs(jobs); err != nil {
		return s.errorf("enqueue: %w", err)
	}
	if len(jobs) == 0 {
		return nil
	}
	now := s.now()
	rows := make([]JobInsertRow, len(jobs))
	for i, j := range jobs {
		runAt := j.RunAt
		if runAt.IsZero() {
			runAt = now
		}
		rows[i] = JobInsertRow{School: string(j.School), Kind: string(j.Kind), Key: j.Key, Payload: j.Payload,
			Priority: int(j.Priority), RunAt: runAt.UTC()}
	}
	if err := s.ex.JobInsert(ctx, rows, now); err != nil {
		return s.wrap(fmt.Sprintf("enqueueing %d jobs", len(jobs)), err)
	}
	return nil
}

// Dequeue leases up to opts.Max (0 means 1, at most MaxBatchDefault) ready jobs of one school for
// opts.Lease (LeaseDefault when zero), with one new lease token, in the order of hubsync.Queue
// (see Executor.JobLease): the school served least recently that has a ready job, then priority,
// RunAt and enqueue order. A negative Max or Lease fails with an error wrapping
// hubsync.ErrInvalidValue. It returns an empty slice, not an error, when nothing is ready.
func (s *Store) Dequeue(ctx context.Context, opts hubsync.DequeueOptions) ([]hubsync.Job, error) {
	if opts.Max < 0 || opts.Lease < 0 {
		return nil, s.errorf("dequeue: negative Max (%d) or Lease (%v): %w", opts.Max, opts.Lease, hubsync.ErrInvalidValue)
	}
	max := min(cmp.Or(opts.Max, 1), MaxBatchDefault)
	lease := cmp.Or(opts.Lease, LeaseDefault)
	now := s.now()
	p := JobLeaseParams{Now: now, Max: max, Until: now.Add(lease), Token: newLeaseToken(), Worker: opts.Worker,
		Kinds: make([]string, len(opts.Kinds)), Exclude: make([]string, len(opts.Exclude)), MaxAttempts: s.maxAttempts()}
	for i, k := range opts.Kinds {
		p.Kinds[i] = string(k)
	}
	for i, e := range opts.Exclude {
		p.Exclude[i] = string(e)
	}
	if len(opts.Schools) > 0 {
		p.Schools = make([]string, len(opts.Schools))
		for i, sc := range opts.Schools {
			p.Schools[i] = string(sc)
		}
	}
	p.BusyKeys = opts.ExcludeLeasedKeys
	rows, err := s.ex.JobLease(ctx, p)
	if err != nil {
		return nil, s.wrap("leasing jobs", err)
	}
	out := make([]hubsync.Job, len(rows))
	for i, r := range rows {
		out[i] = job(r)
	}
	slices.SortFunc(out, func(a, b hubsync.Job) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), a.RunAt.Compare(b.RunAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// job is r as the queue's callers see it.
func job(r JobRow) hubsync.Job {
	return hubsync.Job{ID: r.ID, JobSpec: hubsync.JobSpec{School: hubsync.SchoolID(r.School), Kind: hubsync.JobKind(r.Kind),
		Key: r.Key, Payload: r.Payload, Priority: hubsync.Priority(r.Priority), RunAt: utc(r.RunAt)},
		Attempts: r.Attempts, LastError: r.LastError, LeaseToken: r.LeaseToken, LeaseUntil: utc(r.LeaseUntil), EnqueuedAt: utc(r.EnqueuedAt)}
}

// newLeaseToken returns 128 random bits in hex.
func newLeaseToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics on a broken system source).
	return hex.EncodeToString(b[:])
}

// leased turns the result of an operation guarded by j's lease into the queue's: an error wrapping
// hubsync.ErrLeaseLost when it changed nothing.
func (s *Store) leased(op string, j hubsync.Job, ok bool, err error) error {
	if err != nil {
		return s.wrap(fmt.Sprintf("%s job %d", op, j.ID), err)
	}
	if !ok {
		return s.errorf("%s job %d: %w", op, j.ID, hubsync.ErrLeaseLost)
	}
	return nil
}

// Ack completes a job by deleting it. It fails with an error wrapping hubsync.ErrLeaseLost when j's
// lease is no longer the job's (another worker took the job over after the lease expired, or the
// job was acked, retried, released or killed already); an expired lease nobody took over still
// acks.
func (s *Store) Ack(ctx context.Context, j hubsync.Job) error {
	ok, err := s.ex.JobAck(ctx, j.ID, j.LeaseToken)
	return s.leased("acking", j, ok, err)
}

// Retry gives a job back to run again at runAt (zero: now), counting the attempt and recording
// cause as its LastError; the attempt that reaches the configured maximum dead-letters the job
// instead. The job stays the head of its key. ErrLeaseLost as Ack.
func (s *Store) Retry(ctx context.Context, j hubsync.Job, runAt time.Time, cause string) error {
	now := s.now()
	if runAt.IsZero() {
		runAt = now
	}
	ok, err := s.ex.JobRetry(ctx, JobRetryParams{ID: j.ID, Token: j.LeaseToken, Cause: cause, RunAt: runAt.UTC(), Now: now,
		MaxAttempts: s.maxAttempts()})
	return s.leased("retrying", j, ok, err)
}

// Release gives a leased job back without counting an attempt, to run again at runAt (zero: now).
// ErrLeaseLost as Ack.
func (s *Store) Release(ctx context.Context, j hubsync.Job, runAt time.Time) error {
	if runAt.IsZero() {
		runAt = s.now()
	}
	ok, err := s.ex.JobRelease(ctx, j.ID, j.LeaseToken, runAt.UTC())
	return s.leased("releasing", j, ok, err)
}

// AckMany acks, in one atomic change (Executor.JobAckMany), every job of jobs whose lease token is
// still the job's, and returns the ids of the others, in the order given (see hubsync.Queue).
func (s *Store) AckMany(ctx context.Context, jobs []hubsync.Job) ([]int64, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	lost, err := many(jobs, func(leases []Lease) ([]bool, error) { return s.ex.JobAckMany(ctx, leases) })
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("acking %d jobs", len(jobs)), err)
	}
	return lost, nil
}

// ReleaseMany releases, in one atomic change (Executor.JobReleaseMany), every job of jobs whose
// lease token is still the job's, to run again at runAt (zero: now), and returns the ids of the
// others, in the order given.
func (s *Store) ReleaseMany(ctx context.Context, jobs []hubsync.Job, runAt time.Time) ([]int64, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	if runAt.IsZero() {
		runAt = s.now()
	}
	lost, err := many(jobs, func(leases []Lease) ([]bool, error) { return s.ex.JobReleaseMany(ctx, leases, runAt.UTC()) })
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("releasing %d jobs", len(jobs)), err)
	}
	return lost, nil
}

// many runs op over the distinct leases of jobs and returns, in the order of jobs, the ids of
// the jobs whose lease op did not find.
func many(jobs []hubsync.Job, op func([]Lease) ([]bool, error)) ([]int64, error) {
	leases := make([]Lease, 0, len(jobs))
	seen := make(map[Lease]bool, len(jobs))
	for _, j := range jobs {
		l := Lease{ID: j.ID, Token: j.LeaseToken}
		if _, dup := seen[l]; !dup {
			seen[l] = false
			leases = append(leases, l)
		}
	}
	ok, err := op(leases)
	if err != nil {
		return nil, err
	}
	if len(ok) != len(leases) {
		return nil, fmt.Errorf("the driver reported %d results for %d leases", len(ok), len(leases))
	}
	for i, l := range leases {
		seen[l] = ok[i]
	}
	var lost []int64
	for _, j := range jobs {
		if !seen[Lease{ID: j.ID, Token: j.LeaseToken}] {
			lost = append(lost, j.ID)
		}
	}
	return lost, nil
}

// Kill dead-letters a leased job at once, whatever its attempt count: the attempt counts and
// cause becomes its LastError. ErrLeaseLost as Ack.
func (s *Store) Kill(ctx context.Context, j hubsync.Job, cause string) error {
	ok, err := s.ex.JobKill(ctx, j.ID, j.LeaseToken, cause, s.now())
	return s.leased("killing", j, ok, err)
}

// Extend renews to until, in one atomic change, the leases of jobs whose lease token is still the
// job's (an expired lease nobody took over included), and returns the ids of the others, in the
// order given. An until not after the clock's now fails with an error wrapping
// hubsync.ErrInvalidValue and extends nothing.
func (s *Store) Extend(ctx context.Context, jobs []hubsync.Job, until time.Time) ([]int64, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	if now := s.now(); !until.After(now) {
		return nil, s.errorf("extending the leases of %d jobs: lease end %s is not after the clock's now %s: %w",
			len(jobs), until.UTC().Format(time.RFC3339Nano), now.Format(time.RFC3339Nano), hubsync.ErrInvalidValue)
	}
	leases := make([]Lease, len(jobs))
	for i, j := range jobs {
		leases[i] = Lease{ID: j.ID, Token: j.LeaseToken}
	}
	kept, err := s.ex.JobExtend(ctx, leases, until.UTC())
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("extending the leases of %d jobs", len(jobs)), err)
	}
	var lost []int64
	for i, j := range jobs {
		if !kept[i] {
			lost = append(lost, j.ID)
		}
	}
	return lost, nil
}

// Holders lists, each once and sorted, the workers holding a lease that has not expired.
func (s *Store) Holders(ctx context.Context) ([]string, error) {
	out, err := s.ex.JobHolders(ctx, s.now())
	if err != nil {
		return nil, s.wrap("listing the lease holders", err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// ExpireLeases ends now the unexpired leases of the jobs worker holds, so the next Dequeue takes
// them over; it returns how many it ended.
func (s *Store) ExpireLeases(ctx context.Context, worker string) (int, error) {
	n, err := s.ex.JobExpireLeases(ctx, worker, s.now())
	if err != nil {
		return 0, s.wrap(fmt.Sprintf("expiring the leases of worker %q", worker), err)
	}
	return n, nil
}

// DeadLetters lists a school's dead-lettered jobs, oldest death first, with their attempt count and
// last error.
func (s *Store) DeadLetters(ctx context.Context, school hubsync.SchoolID) ([]hubsync.Job, error) {
	rows, err := s.ex.JobDeadLetters(ctx, string(school))
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("listing dead letters of school %q", school), err)
	}
	out := make([]hubsync.Job, len(rows))
	for i, r := range rows {
		out[i] = job(r)
		out[i].LeaseToken, out[i].LeaseUntil = "", time.Time{}
	}
	return out, nil
}

// Replay moves a dead-lettered job back to the queue, ready at the clock's now, with Attempts and
// LastError reset. It fails with an error wrapping hubsync.ErrNotFound when no dead job has that
// id.
func (s *Store) Replay(ctx context.Context, id int64) error {
	ok, err := s.ex.JobReplay(ctx, id, s.now())
	if err != nil {
		return s.wrap(fmt.Sprintf("replaying job %d", id), err)
	}
	if !ok {
		return s.errorf("replaying job %d: no dead job has that id: %w", id, hubsync.ErrNotFound)
	}
	return nil
}

// Discard deletes a dead-lettered job for good. It fails with an error wrapping
// hubsync.ErrNotFound when no dead job has that id.
func (s *Store) Discard(ctx context.Context, id int64) error {
	ok, err := s.ex.JobDiscard(ctx, id)
	if err != nil {
		return s.wrap(fmt.Sprintf("discarding job %d", id), err)
	}
	if !ok {
		return s.errorf("discarding job %d: no dead job has that id: %w", id, hubsync.ErrNotFound)
	}
	return nil
}

// Stats counts a school's jobs at the clock's now (see hubsync.QueueStats).
func (s *Store) Stats(ctx context.Context, school hubsync.SchoolID) (hubsync.QueueStats, error) {
	st, err := s.ex.JobStats(ctx, string(school), s.now())
	if err != nil {
		return hubsync.QueueStats{}, s.wrap(fmt.Sprintf("counting jobs of school %q", school), err)
	}
	return st, nil
}

// StatsByKind counts a school's jobs by kind and state, as Stats does for all kinds together
// (the engine's hubsync.queue.jobs metric). A kind with no job is absent.
func (s *Store) StatsByKind(ctx context.Context, school hubsync.SchoolID) (map[hubsync.JobKind]hubsync.QueueStats, error) {
	m, err := s.ex.JobStatsByKind(ctx, string(school), s.now())
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("counting jobs of school %q by kind", school), err)
	}
	out := make(map[hubsync.JobKind]hubsync.QueueStats, len(m))
	for k, st := range m {
		out[hubsync.JobKind(k)] = st
	}
	return out, nil
}

// NextRunAt returns the earliest RunAt of a waiting job across all schools; ok is false when
// nothing waits. It may be in the past (work is ready now, or waits behind a leased job of its
// key).
func (s *Store) NextRunAt(ctx context.Context) (time.Time, bool, error) {
	t, ok, err := s.ex.JobNextRunAt(ctx, s.now())
	if err != nil {
		return time.Time{}, false, s.wrap("finding the next run time", err)
	}
	return utc(t), ok, nil
}
