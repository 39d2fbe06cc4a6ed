// Package storetest is the conformance suite every implementation of hubsync.Store and
// hubsync.Queue passes: the in-memory one in hubsynctest, store/sqlitestore, store/pgstore, and a
// host's own.
//
// An implementation's test calls [Run] with a [Factory]:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
//			s, err := mystore.Open(ctx, mystore.WithClock(cfg.Clock), mystore.WithMaxAttempts(cfg.MaxAttempts))
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
// (a clock, and a maximum of attempts that defaults to [hubsync.MaxAttemptsDefault]). The suite
// calls the factory once per subtest and runs subtests in parallel, so the factory must be safe
// for concurrent use.
//
// # The contract
//
// The doc comments of the ports are the contract, and the suite checks what they promise; it
// pins down nothing of its own. They are on [hubsync.Store] and its methods (with
// [hubsync.Connection.Generation], [hubsync.SyncState], [hubsync.SyncLogEntry] and
// [hubsync.LogFilter]), on [hubsync.Queue] and its methods (with [hubsync.JobSpec], whose Key
// says how jobs coalesce and in which order one key's jobs run, [hubsync.Job] and
// [hubsync.QueueStats]), and on [hubsync.Transactor]. The suite's times are whole seconds and
// milliseconds from one fake clock, which every store must keep exactly.
//
// If the store implements hubsync.Transactor, the suite checks that a failing fn rolls back both
// the job it enqueued and the state it wrote, that a successful one commits both, that fn sees
// its own writes, and that connection generations raised inside transactions count like any.
//
// If the store implements hubsync.LMSConnections, the suite checks its contract too (round trip,
// ErrNotFound, delete, two schools, ListSchools listing a school with only an LMS connection,
// refused values, RunInTx); otherwise those cases are skipped.
//
// If the store implements hubsync.SyncStateSwapper, the suite checks its conditional writes: a
// swap with the UpdatedAt its writer read is stored, a stale one and a "none existed" one over a
// state are refused and reported while the batch's other swaps are stored, a frozen clock still
// moves a swapped state's UpdatedAt, racing writers of one read see one winner, and swaps join
// RunInTx's transaction. Those cases stand the clock between microseconds: a store may keep
// times to the microsecond, but must compare what it returned; otherwise they are skipped.
//
// [RunSealing] checks a store that seals tokens at rest (given cfg.Sealer): with a
// [RawConnections] reader of its stored rows, it finds no token there, and checks key rotation,
// hubsync.ResealConnections and a failing Sealer, for the HubSpot tokens and (when the store
// implements hubsync.LMSConnections) the LMS connections' secrets.
//
// [Benchmark] measures enqueue+dequeue+ack throughput of a queue with the same factory, and
// [BenchmarkExtend] the cost of a heartbeat renewing a batch of 100 leases.
package storetest
