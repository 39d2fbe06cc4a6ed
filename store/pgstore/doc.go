// Package pgstore is the PostgreSQL adapter of hubsync's persistence ports: one [Store] value
// implements hubsync.Store, hubsync.Queue and hubsync.Transactor over a pgx connection pool, so
// many instances of a host can run workers against one database.
//
// Open connects, applies the embedded, versioned migrations once (under an advisory lock, so many
// instances may start at the same moment) and returns a ready Store:
//
//	db, err := pgstore.Open(ctx, os.Getenv("DATABASE_URL"))
//	if err != nil { ... }
//	defer db.Close()
//	eng, err := hubsync.New(hubsync.Config{Store: db, Queue: db, ...})
//
// # The queue
//
// Jobs live in one table. Dequeue leases with SELECT ... FOR UPDATE SKIP LOCKED
// (https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE), so concurrent
// workers in any number of processes never take the same job, and a crashed worker's job becomes
// ready again when its lease runs out. Fairness across schools is round robin: the school served
// least recently goes first (a per-school counter in the queue_schools table). Inside a school jobs
// go by priority (live before backfill), then RunAt, then enqueue order. Jobs with the same
// (school, key) form a chain that runs strictly one at a time in enqueue order; an Enqueue with a
// key merges into the chain's last job when that job waits (is not leased), which is how ten
// changes of one learner become one job. Enqueues of one key are serialised with a transaction
// advisory lock on a hash of (schema, school, key). A job whose lease expires is taken over with
// one more attempt counted, and dead-lettered instead when that reaches the maximum attempts (a
// job that keeps killing its workers).
//
// # Durability and throughput
//
// Every commit waits for PostgreSQL's write-ahead log flush by default, so one worker's throughput
// is bounded by the disk's fsync latency (each Ack is a commit). Many workers share flushes.
// [WithAsyncAcks] lets Ack, Retry, Release, Kill and leases skip the wait, trading a re-run after a
// database crash for several times the throughput; enqueues always wait.
//
// # Time
//
// Every time the store reasons with comes from the injected clock ([WithClock]) and is passed to
// SQL as a parameter; no query calls now(). Times are stored as timestamptz, so they round-trip to
// the microsecond, and come back in UTC.
//
// # Isolation
//
// All tables live in one schema ([WithSchema], default "hubsync"), which Open creates. Tests give
// each test its own schema in one database; see the package's tests for the pattern.
//
// Tokens in the connections table are stored as given (not encrypted); protect the database.
package pgstore
