// Package pgstore is the PostgreSQL adapter of hubsync's persistence ports: one [Store] value
// implements hubsync.Store, hubsync.Queue and hubsync.Transactor over a pgx connection pool (its
// own, or the host's), so many instances of a host can run workers against one database.
//
// Open connects, applies the embedded, versioned migrations once (under an advisory lock, so many
// instances may start at the same moment) and returns a ready Store:
//
//	db, err := pgstore.Open(ctx, os.Getenv("DATABASE_URL"))
//	if err != nil { ... }
//	defer db.Close()
//	eng, err := hubsync.New(hubsync.Config{Store: db, Queue: db, ...})
//
// # Embedding in the host's database
//
// A host that already runs PostgreSQL gives the store its own pool instead: [New] takes a
// *pgxpool.Pool and opens no connection of its own (Close leaves the pool open). The tables live
// in their own schema ([WithSchema], default "hubsync"), and every statement names it, so the
// pool's search_path stays the host's and host tables of the same names elsewhere are never
// touched. [Store.WithTx] binds the store to one of the host's transactions, which makes the
// transactional outbox: the host writes its learner and queues the change in one transaction,
// and a rollback, or a crash before the commit, leaves neither, while a commit keeps both, even
// if the process dies the next instant:
//
//	store, err := pgstore.New(ctx, pool)
//	...
//	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
//		if _, err := tx.Exec(ctx, `UPDATE learners SET ...`); err != nil {
//			return err
//		}
//		return eng.LearnerChangedTx(ctx, store.WithTx(tx), school, learner)
//	})
//
// The host commits or rolls back; the bound Store is not used after. LearnerChangedTx wakes an
// idle worker before the commit, which finds the job after it (within the engine's BatchLinger,
// or its Poll at the latest).
//
// A host with its own migration tool (golang-migrate, goose, atlas, psql) writes [Migrations] out
// as files, each to run in one transaction in version order, and starts the store with
// [WithAutoMigrate](false): New and Open then only check that the schema records every version,
// and fail with an error wrapping [ErrSchemaVersion] naming the missing ones, or the unknown ones
// a newer hubsync applied. Each migration creates the schema and the schema_migrations table when
// missing, records its own version there (whichever tool ran it), and is idempotent. With
// auto-migration on (the default), Open and New apply what is missing under an advisory lock, and
// run no DDL when nothing is; a schema that records a version this package does not know (a newer
// hubsync migrated it) is refused either way.
//
// The store is built on pgx, not database/sql: its queue leans on pgx batches (an enqueue is one
// round trip) and native array and time types, which database/sql hides. So it takes a
// *pgxpool.Pool and a pgx.Tx only. A host on database/sql (pgx's stdlib driver, say) opens a
// pgxpool over the same URL beside its *sql.DB, and runs the transactions that queue hubsync work
// on that pool (pgx.BeginFunc) rather than as *sql.Tx: a *sql.Tx cannot carry the store's writes.
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
// A Dequeue is one statement (picking the school and leasing from it) in one round trip; the
// lease changes no indexed column, so PostgreSQL writes it as a HOT update, without index entries
// (migration 0009). Enqueue's and Dequeue's statements run with JIT, bitmap and sequential scans
// and per-call planning turned off for their transaction only, so their plans, index reads that
// stop after the jobs asked for, hold on a table whose statistics are missing or stale, as a
// queue's often are.
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
// SQL as a parameter; no query calls now() (but a migration, recording when it ran in
// schema_migrations, which nothing reads). Times are stored as timestamptz, so they round-trip to
// the microsecond, and come back in UTC.
//
// # Isolation
//
// All tables live in one schema ([WithSchema], default "hubsync"), which the first migration
// creates. Tests give each test its own schema in one database; see the package's tests for the
// pattern.
//
// The tables with a row per learner (sync_state, sync_log, sync_health) name the school by its id
// in the schools table (migration 0010), a 4-byte integer instead of the school's text in every
// row and index entry: a query of the host's own over them joins schools on schools.id. A school's
// row is added by its first write, and is never deleted or renumbered (a Store keeps the ids it
// read).
//
// Tokens in the connections table are stored as given (not encrypted); protect the database.
package pgstore
