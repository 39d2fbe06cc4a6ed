// Package storetest is the conformance suite every implementation of hubsync.Store and
// hubsync.Queue passes: the in-memory one in hubsynctest, store/sqlitestore, store/pgstore, and a
// host's own.
//
// An implementation's test calls [Run] with a [Factory]:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
//			s, err := mystore.Open(ctx, mystore.Options{Clock: cfg.Clock, MaxAttempts: cfg.MaxAttempts})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s, s
//		})
//	}
//
// The factory must return a fresh, empty store and queue (no schools, no jobs) that read the time
// only from cfg.Clock, and whose queue dead-letters a job when a Retry brings its attempt count to
// cfg.MaxAttempts. Every implementation in this module takes these two as constructor options
// (Clock, and MaxAttempts with a default of hubsync.MaxAttemptsDefault). The suite calls the factory once per subtest and
// runs subtests in parallel, so the factory must be safe for concurrent use.
//
// # What the suite pins down beyond the port's doc comments
//
// The doc comments on hubsync.Store and hubsync.Queue are the contract. Where they leave a choice
// open, the suite checks the following, and every implementation must agree:
//
//   - SyncState: the store folds Email with hubsync.FoldEmail (trimmed, lower-cased) on Put and
//     Get, and returns it folded; UpdatedAt is the clock's time at Put.
//   - Connection.Generation: the first PutConnection of a school stores at least 1; every
//     PutConnection and DeleteConnection (inside RunInTx too) raises it above every value it had,
//     a deleted connection's counter included, and racing writers get distinct values.
//   - SyncLogEntry: a zero At is set to the clock's time; IDs are assigned, distinct and non-zero.
//     Entries keep Email as given; ListSyncLog applies LogFilter.Normalized and LogFilter.Match
//     (Email compared folded; Since keeps entries with At >= Since; Limit 0 means
//     hubsync.LogLimitDefault), and a filter LogFilter.Validate refuses (a negative Limit, an
//     unknown Outcome) is an error wrapping hubsync.ErrInvalidValue. Entries with equal At come
//     newest-appended first.
//   - A zero JobSpec.RunAt is stored as the enqueue time, and Job.RunAt reports it so.
//   - Enqueue checks the whole batch first: an empty School or Kind, or a Priority other than
//     PriorityLive or PriorityBackfill, fails the call and enqueues nothing.
//   - Coalescing (JobSpec.Key) merges only into a job that is not leased and never was since it
//     last went back to the queue, so a slow worker's expired lease never has its payload swapped.
//     The merged job takes the new Kind and Payload, the earlier RunAt, the higher priority, and keeps
//     its Attempts.
//   - Jobs of one key run strictly in enqueue order: the oldest live (not dead) job of a key blocks
//     the ones behind it, even while it waits for a Retry's run-at time. A leased job (even with
//     an expired lease) goes first: a replayed dead job, though older, waits behind it.
//   - Inside one school, Dequeue orders by priority, then RunAt, then enqueue order. Across schools it
//     serves the school served least recently first, so N schools with ready jobs are each served
//     once in any N consecutive single-job dequeues.
//   - A job whose lease expired is ready again. The worker that takes it over sees Attempts
//     increased by one and a LastError saying the lease expired; when that count reaches
//     MaxAttempts the job is dead-lettered instead (a job that keeps killing its workers). The old worker's Ack, Retry or
//     Release then fail with hubsync.ErrLeaseLost; until someone takes the job over, the old lease
//     token still works.
//   - Ack deletes the job; acking it again fails with hubsync.ErrLeaseLost.
//   - Retry counts the attempt; when the count reaches MaxAttempts the job is dead instead of
//     rescheduled. Kill counts the attempt and makes the job dead at once, with its cause as
//     LastError. A dead job, killed or retried to death, no longer blocks its key. Replay of a dead
//     job resets Attempts to 0 and makes it ready at the clock's now.
//   - Stats: Ready counts waiting jobs due now (blocked ones included) and jobs whose lease expired,
//     Scheduled counts jobs due later, Leased counts unexpired leases, Dead counts dead letters.
//   - Times round-trip to the microsecond (the suite uses whole seconds and milliseconds).
//
// If the store implements hubsync.Transactor, the suite checks that a failing fn rolls back both
// the job it enqueued and the state it wrote, that a successful one commits both, and that fn sees
// its own writes.
//
// [Benchmark] measures enqueue+dequeue+ack throughput of a queue with the same factory.
package storetest
