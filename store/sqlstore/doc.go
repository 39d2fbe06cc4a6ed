// Package sqlstore is the seam between hubsync's persistence ports and a SQL database: the
// engine-facing half of a store, written once, over a small per-dialect interface, in the manner
// of river's riverdriver.
//
// [Store] implements hubsync.Store, hubsync.Queue, hubsync.Transactor and hubsync.KindStatser. It
// holds everything the engine relies on that is not SQL: argument checks (an empty school, a job
// spec hubsync.ValidateJobs refuses, a log or health filter Normalized refuses, a negative
// Dequeue Max or Lease), email folding (hubsync.FoldEmail), token sealing (hubsync.SealToken and
// OpenToken with the configured Sealer), the JSON of settings, the encoding of a sync state's
// sent maps (sentcodec.go), the defaults ([LeaseDefault], [MaxBatchDefault],
// hubsync.LogLimitDefault, a zero RunAt or At made the clock's now), lease tokens, the order of
// a dequeued batch, chunked pruning, the error wording ("pgstore: reading settings of school
// ...") and the mapping of a driver's errors to hubsync.ErrNotFound, ErrLeaseLost and
// ErrUnavailable.
//
// A [Driver] and its [Executor] hold what is the database's: the SQL, the concurrency model
// (PostgreSQL's row locks and FOR UPDATE SKIP LOCKED; SQLite's single writer) and which errors
// mean the database refuses work for now. Executor's methods are typed, single-purpose operations
// on plain rows (strings, []byte, time.Time, ints); the rules that live in the SQL (coalescing,
// per-key order, fairness, lease takeover and its dead-lettering) are the contract stated on the
// methods that carry them. store/pgstore and store/sqlitestore are the two drivers; a third is one
// package that implements Driver and Executor, embeds *Store in its own Store type, and passes
// store/storetest.Run. docs/store-drivers.md says how to write one.
package sqlstore
