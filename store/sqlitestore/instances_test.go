package sqlitestore_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// TestTwoInstancesShareOneFile runs workers on two Stores opened on one file (as two processes
// would): every job runs exactly once and no two jobs of one key are leased at once.
func TestTwoInstancesShareOneFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hubsync.db")
	ctx := t.Context()
	var stores []*sqlitestore.Store
	for range 2 {
		s, err := sqlitestore.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	const jobs = 120
	var specs []hubsync.JobSpec
	for i := range jobs {
		specs = append(specs, hubsync.JobSpec{School: hubsync.SchoolID(fmt.Sprint("s", i%2)), Kind: "push",
			Key: fmt.Sprint("k", i%15), Payload: []byte(fmt.Sprint(i))})
	}
	if err := stores[0].Enqueue(ctx, specs...); err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		ran      = map[string]int{}
		inFlight = map[string]bool{}
		problems []string
		wg       sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%2]
			for {
				got, err := s.Dequeue(ctx, hubsync.DequeueOptions{Worker: fmt.Sprint("w", w), Max: 3, Lease: time.Hour})
				if err != nil {
					mu.Lock()
					problems = append(problems, err.Error())
					mu.Unlock()
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, j := range got {
					k := string(j.School) + "/" + j.Key
					if inFlight[k] {
						problems = append(problems, "two jobs of "+k+" at once")
					}
					inFlight[k] = true
					ran[string(j.Payload)]++
				}
				mu.Unlock()
				mu.Lock()
				for _, j := range got {
					delete(inFlight, string(j.School)+"/"+j.Key)
				}
				mu.Unlock()
				for _, j := range got {
					if err := s.Ack(ctx, j); err != nil {
						mu.Lock()
						problems = append(problems, err.Error())
						mu.Unlock()
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(problems) > 0 {
		t.Fatalf("%d problems, first: %s", len(problems), problems[0])
	}
	// Enqueued in one batch, the 4 jobs of each school/key coalesced into one carrying the last.
	for i := jobs - 30; i < jobs; i++ {
		if ran[fmt.Sprint(i)] != 1 {
			t.Fatalf("job %d ran %d times, want once (it is its key's latest state)", i, ran[fmt.Sprint(i)])
		}
	}
	if len(ran) != 30 {
		t.Fatalf("%d distinct jobs ran, want 30 (one per school and key)", len(ran))
	}
	for p, n := range ran {
		if n != 1 {
			t.Fatalf("job %s ran %d times", p, n)
		}
	}
}
