package sqlitestore_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hubsync/hubsync"
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
