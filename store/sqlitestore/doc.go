// Package sqlitestore is the embedded default hubsync.Store, hubsync.Queue and
// hubsync.Transactor: one SQLite file, through modernc.org/sqlite (pure Go, no cgo).
//
// It is meant for the quickstart and for single-process hosts. The file is opened in WAL mode
// with synchronous=FULL, so a committed enqueue survives a crash or power loss. Writes go through
// one connection, each call in its own BEGIN IMMEDIATE transaction, so the goroutines of one
// process never see SQLITE_BUSY; reads use a small pool of read-only connections that WAL lets
// run beside the writer. Several processes may open the same file (a CLI beside a server): they
// wait for each other's writes through busy_timeout, and the queue stays correct across them
// because every Dequeue, Ack and Retry is one immediate transaction.
//
// The schema lives in embedded, numbered migrations (migrations/NNNN_name.sql), applied once each,
// in order, when [Open] runs; [Store.SchemaVersion] reports the newest applied.
//
//	db, err := sqlitestore.Open(ctx, "hubsync.db")
//	...
//	defer db.Close()
//	eng, err := hubsync.New(hubsync.Config{Store: db, Queue: db, ...})
//
// The package passes store/storetest.Run; what the queue guarantees beyond the port's doc
// comments (coalescing, per-key order, fairness, lease takeover) is listed in storetest's doc.
package sqlitestore
