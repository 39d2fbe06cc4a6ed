package hubsync

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// This file is the engine's intake of learner changes and activities: the jobs LearnerChanged and
// Record queue, and their Tx variants, which queue the same jobs on a Queue the caller's
// transaction hands them, so the work commits together with the caller's own writes (a webhook
// delivery marked seen, say) or not at all.

// LearnerChangedTx is LearnerChanged with the job enqueued on q instead of the engine's Queue. q
// is the engine's queue bound to a transaction: the host's own (sqlitestore's and pgstore's
// Store.WithTx(tx), over the host's *sql.Tx or pgx.Tx; see the README's "Embedding it"), or the
// Queue a Transactor's RunInTx handed the caller, the Transactor being the engine's Store. The
// learner's change then commits or rolls back with the caller's writes in that transaction (a
// transactional outbox: once the host's commit returns, a crash loses nothing). It wakes an idle worker as LearnerChanged does, before
// the caller commits; the worker looks again after BatchLinger, or within Poll at the latest.
// Errors: as LearnerChanged, and one wrapping ErrInvalidValue for a nil q.
func (e *Engine) LearnerChangedTx(ctx context.Context, q Queue, school SchoolID, l Learner) error {
	if q == nil {
		return fmt.Errorf("%w: LearnerChangedTx: no queue", ErrInvalidValue)
	}
	return e.learnerChangedOn(ctx, q, school, l)
}

// RecordTx is Record with the jobs enqueued on q instead of the engine's Queue; q is a Queue of
// the caller's transaction, as for LearnerChangedTx, so the activity's event and stage jobs
// commit or roll back with the caller's writes. Errors: as Record, and one wrapping
// ErrInvalidValue for a nil q.
func (e *Engine) RecordTx(ctx context.Context, q Queue, school SchoolID, a Activity) error {
	if q == nil {
		return fmt.Errorf("%w: RecordTx: no queue", ErrInvalidValue)
	}
	return e.recordOn(ctx, q, school, a)
}

// learnerChangedOn queues a learner's latest state on q (see LearnerChanged).
func (e *Engine) learnerChangedOn(ctx context.Context, q Queue, school SchoolID, l Learner) error {
	if err := ValidateEmail(strings.TrimSpace(l.Email)); err != nil {
		return fmt.Errorf("%w: learner %q: %v", ErrInvalidValue, l.ID, err)
	}
	l.Email = FoldEmail(l.Email)
	job, err := contactJob(school, l, e.clk.Now())
	if err != nil {
		return err
	}
	if err := q.Enqueue(ctx, job); err != nil {
		return fmt.Errorf("hubsync: queue learner change: %w", err)
	}
	e.notify()
	return nil
}

// recordOn queues an activity's event job, and its stage job when it has a lifecycle trigger, on
// q (see Record).
func (e *Engine) recordOn(ctx context.Context, q Queue, school SchoolID, a Activity) error {
	if err := a.Validate(); err != nil {
		return err
	}
	a.Email = FoldEmail(a.Email)
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("%w: activity cannot be encoded: %v", ErrInvalidValue, err)
	}
	jobs := []JobSpec{{School: school, Kind: JobEvent, Key: "event|" + a.OccurrenceID(school), Payload: b, Priority: PriorityLive}}
	if tr, ok := activityTrigger(a.Kind); ok {
		jobs = append(jobs, stageJob(school, a.Email, tr))
	}
	jobs, refused := e.boundEvents(ctx, q, school, a, jobs)
	if err := q.Enqueue(ctx, jobs...); err != nil {
		return fmt.Errorf("hubsync: queue activity: %w", err)
	}
	e.notify()
	return refused
}
