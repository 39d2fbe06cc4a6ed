package pgstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

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
