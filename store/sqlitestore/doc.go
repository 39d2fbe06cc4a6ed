// Package sqlitestore is the embedded default hubsync.Store, hubsync.Queue and
// hubsync.Transactor: one SQLite file, through modernc.org/sqlite (pure Go, no cgo).
//
// It is meant for the quickstart and for single-process hosts. The file is opened in WAL mode
// with synchronous=FULL, so a committed enqueue survives a crash or power loss. Writes go through
// one connection, each call in its own BEGIN IMMEDIATE transaction, so the goroutines of one
// process never see SQLITE_BUSY; reads use a small pool of read-only connections that WAL lets
// run beside the writer. Several processes may open the same file (a CLI beside a server): they
// wait for each other's writes through busy_timeout, and the queue stays correct across them
// because every Dequeue, Ack and Retry is one immediate transaction. The busy timeout
// ([WithBusyTimeout]) bounds a write's whole wait for the lock, this process's other writes
// included; past it the write fails with an error wrapping [ErrBusy], having done nothing (a
// webhook intake then answers 500 and the sender delivers again).
//
// The schema lives in embedded, numbered migrations (migrations/NNNN_name.sql), applied once each,
// in order, when [Open] or [New] runs (see [WithAutoMigrate]); [Store.SchemaVersion] reports the
// newest applied.
//
//	db, err := sqlitestore.Open(ctx, "hubsync.db")
//	...
//	defer db.Close()
//	eng, err := hubsync.New(hubsync.Config{Store: db, Queue: db, ...})
//
// # Embedding in the host's database
//
// A host that keeps its data in SQLite can give hubsync its own pool instead: [New] takes the
// *sql.DB the host opened with modernc.org/sqlite on its own file, and hubsync's tables join the
// host's under a prefix ([WithTablePrefix]; New's default is "hubsync_", so a host table named
// settings or jobs is never taken for hubsync's). The store opens no connection of its own: reads
// go through the host's pool, each write transaction borrows one connection of it (BEGIN
// IMMEDIATE ... COMMIT), and Close leaves the pool open. New checks the file is in WAL mode and the
// connections have a busy timeout, and says which DSN setting to add when not:
//
//	db, err := sql.Open("sqlite", "lms.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate")
//	store, err := sqlitestore.New(ctx, db)
//
// [Store.WithTx] binds the store to one of the host's transactions, so a learner's change is
// queued in the same transaction as the host's own write, and commits or rolls back with it (the
// transactional outbox: a crash right after the host's commit loses nothing):
//
//	tx, err := db.BeginTx(ctx, nil)
//	... the host's own writes in tx ...
//	err = eng.LearnerChangedTx(ctx, store.WithTx(tx), school, learner) // or eng.RecordTx
//	err = tx.Commit()
//
// The host commits or rolls back; the bound store must not be used after. _txlock=immediate makes
// the host's transactions take the write lock when they begin, so they do not fail with
// SQLITE_BUSY on their first write after another connection's.
//
// A host that runs its migrations with its own tool (golang-migrate, goose, atlas) takes the
// store's from [Migrations] (plain SQL for a prefix, each recording itself in the prefix's
// schema_migrations table) and opens the store with [WithAutoMigrate](false): New then only checks
// that every migration is applied and fails with an error wrapping [ErrSchemaVersion] naming the
// missing ones. Either way, a file that a newer hubsync migrated (a migration this version does
// not know) is refused.
//
// A separate hubsync file ATTACHed to the host's connections is not offered: in WAL mode SQLite
// does not commit a transaction atomically across attached files, which would undo the outbox's
// guarantee.
//
// # Throughput
//
// Enqueue+dequeue+ack of one job (storetest.Benchmark: enqueues in batches of 100, dequeues in
// batches of 10, one ack per job, one worker), on a shared 2-core virtual machine, measured with
//
//	go test -p 1 -run '^$' -bench QueueThroughput -benchtime 3s ./hubsynctest ./store/sqlitestore
//
// three times in a row while other builds kept the machine's load average near 10 gave (jobs/s):
//
//	run  in-memory  SyncFull  SyncNormal  in-memory : FULL : NORMAL
//	1       41,299       684       4,819         60 : 1 : 7.0
//	2       97,882       647       1,208        151 : 1 : 1.9
//	3       64,751     2,003       7,285         32 : 1 : 3.6
//
// With SyncFull each ack's commit waits for an fsync (about 2 ms on that disk); SyncNormal is
// several times faster. On an idle machine expect the upper figures or better.
//
// The package passes store/storetest.Run, which checks the contract the doc comments of
// hubsync.Store and hubsync.Queue state (coalescing, per-key order, fairness, lease takeover).
package sqlitestore
