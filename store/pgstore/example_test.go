package pgstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/pgstore"
)

// Open a store, enqueue a learner's change together with its sync state in one transaction, and
// run it as a worker would.
func Example() {
	ctx := context.Background()
	db, err := pgstore.Open(ctx, os.Getenv("DATABASE_URL"), pgstore.WithMaxAttempts(8))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	err = db.RunInTx(ctx, func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error {
		if err := s.PutSyncState(ctx, hubsync.SyncState{School: "school-1", Email: "jane@example.com", LearnerID: "lw-1"}); err != nil {
			return err
		}
		return q.Enqueue(ctx, hubsync.JobSpec{School: "school-1", Kind: "push", Key: "jane@example.com", Payload: []byte(`{"v":1}`)})
	})
	if err != nil {
		log.Fatal(err)
	}

	jobs, err := db.Dequeue(ctx, hubsync.DequeueOptions{Worker: "host-1/worker-1", Max: 100, Lease: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	for _, j := range jobs {
		fmt.Printf("running %s for %s\n", j.Kind, j.School)
		if err := db.Ack(ctx, j); err != nil {
			log.Print(err) // hubsync.ErrLeaseLost: another worker took it over; its outcome stands
		}
	}
}

// New puts the store in the host's own database: over the host's pool, with its tables in a schema
// of their own, and a learner's change queued in the host's transaction (the transactional
// outbox), so it commits or rolls back with the host's write of the learner.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL")) // the host's pool
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	// The host runs pgstore.Migrations("hubsync") with its own migration tool; the store checks.
	store, err := pgstore.New(ctx, pool, pgstore.WithSchema("hubsync"), pgstore.WithAutoMigrate(false))
	if err != nil {
		log.Fatal(err) // errors.Is(err, pgstore.ErrSchemaVersion): a migration is missing
	}
	defer store.Close() // leaves the pool open: it is the host's
	eng, err := hubsync.New(hubsync.Config{Store: store, Queue: store /* Learners, HubSpot... */})
	if err != nil {
		log.Fatal(err)
	}

	learner := hubsync.Learner{ID: "u1", Email: "ada@example.com", Values: map[string]any{"first_name": "Ada"}}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE learners SET first_name = $1 WHERE id = $2`, "Ada", learner.ID); err != nil {
			return err
		}
		return eng.LearnerChangedTx(ctx, store.WithTx(tx), "school-1", learner)
	})
	if err != nil {
		log.Fatal(err)
	}
}
