package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// ExampleOpen opens a database file, records a state change and its job in one transaction, and
// works the job.
func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "hubsync-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	db, err := sqlitestore.Open(ctx, filepath.Join(dir, "hubsync.db"), sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	defer db.Close()

	err = db.RunInTx(ctx, func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error {
		if err := s.PutSyncState(ctx, hubsync.SyncState{School: "school-1", Email: "jane@example.com", LearnerID: "lw-1"}); err != nil {
			return err
		}
		return q.Enqueue(ctx, hubsync.JobSpec{School: "school-1", Kind: "push", Key: "jane@example.com", Payload: []byte(`{"v":1}`)})
	})
	if err != nil {
		panic(err)
	}
	jobs, err := db.Dequeue(ctx, hubsync.DequeueOptions{Worker: "w1", Max: 10, Lease: time.Minute})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(jobs), jobs[0].Key, string(jobs[0].Payload))
	if err := db.Ack(ctx, jobs[0]); err != nil {
		panic(err)
	}
	st, _ := db.Stats(ctx, "school-1")
	fmt.Printf("%+v\n", st)
	// Output:
	// 1 jane@example.com {"v":1}
	// {Ready:0 Scheduled:0 Leased:0 Dead:0}
}

// ExampleNew embeds the store in a host's own database file: the host's learner update and the
// learner's change for HubSpot commit in one transaction of the host's (the transactional
// outbox), and the engine then delivers the change.
func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "hubsync-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	// The host's pool on its own file, with the settings New asks for.
	db, err := sql.Open("sqlite", filepath.Join(dir, "lms.db")+
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE learners (id TEXT PRIMARY KEY, email TEXT, first_name TEXT)`); err != nil {
		panic(err)
	}

	// hubsync's tables join the host's, as hubsync_settings, hubsync_jobs and so on.
	store, err := sqlitestore.New(ctx, db, sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	defer store.Close() // before db.Close: the store does not close the host's pool

	hs := hubspottest.NewServer() // the fake HubSpot; a host gives its app's credentials
	defer hs.Close()
	eng, err := hubsync.New(hubsync.Config{
		Store: store, Queue: store,
		Learners: hubsynctest.NewLearners(0), // the host's own hubsync.Learners over its tables
		HubSpot:  hubsync.HubSpotApp{ClientID: hs.ClientID(), ClientSecret: hs.ClientSecret(), BaseURL: hs.URL},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	const school = hubsync.SchoolID("school-1")
	_, refresh := hs.MintToken()
	if _, err := eng.ConnectWithRefreshToken(ctx, school, refresh); err != nil {
		panic(err)
	}
	if _, err := eng.SaveSettings(ctx, school, hubsync.Settings{Mappings: []hubsync.Mapping{
		{LMSField: "first_name", HubSpotProperty: "firstname"},
	}}); err != nil {
		panic(err)
	}

	// The host's learner update: its own row and the change for HubSpot, one transaction.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		panic(err)
	}
	defer tx.Rollback() // a no-op after Commit
	if _, err := tx.ExecContext(ctx, `INSERT INTO learners VALUES ('u1', 'ada@example.com', 'Ada')`); err != nil {
		panic(err)
	}
	learner := hubsync.Learner{ID: "u1", Email: "ada@example.com", Values: map[string]any{"first_name": "Ada"}}
	if err := eng.LearnerChangedTx(ctx, store.WithTx(tx), school, learner); err != nil {
		panic(err)
	}
	if err := tx.Commit(); err != nil {
		panic(err)
	}

	// A host runs eng.Run in the background; RunOnce does the queued work once.
	if _, err := eng.RunOnce(ctx); err != nil {
		panic(err)
	}
	contact, _ := hs.Contact("ada@example.com")
	fmt.Println("HubSpot firstname:", contact.Properties["firstname"])
	// Output:
	// HubSpot firstname: Ada
}
