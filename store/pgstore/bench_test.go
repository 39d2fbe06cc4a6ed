package pgstore_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/store/pgstore"
)

// BenchmarkQueueWorkers is BenchmarkQueue's shape with the concurrency of a real deployment: b.N
// jobs over 4 schools are enqueued in batches of 100, then two instances (two pools) with 4
// workers each dequeue batches of 10 and ack every job, so PostgreSQL can group the commits of
// concurrent Acks. It reports jobs/s (one job = its enqueue, its dequeue and its ack).
func BenchmarkQueueWorkers(b *testing.B) {
	clk := clock.NewFake(time.Time{})
	s1 := openTest(b, pgstore.WithClock(clk), pgstore.WithMaxConns(6))
	s2 := openSibling(b, s1, pgstore.WithClock(clk), pgstore.WithMaxConns(6))
	ctx := b.Context()
	b.ResetTimer()
	start := time.Now()
	specs := make([]hubsync.JobSpec, 0, 100)
	for i := 0; i < b.N; i += 100 {
		specs = specs[:0]
		for k := i; k < min(i+100, b.N); k++ {
			specs = append(specs, hubsync.JobSpec{School: hubsync.SchoolID(fmt.Sprintf("s%d", k%4)), Kind: "push",
				Key: fmt.Sprintf("learner-%d@example.com", k), Payload: []byte(`{"firstname":"Jane","company":"Acme"}`)})
		}
		if err := s1.Enqueue(ctx, specs...); err != nil {
			b.Fatal(err)
		}
	}
	var done atomic.Int64
	var wg sync.WaitGroup
	for i, s := range []*pgstore.Store{s1, s2} {
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for done.Load() < int64(b.N) {
					jobs, err := s.Dequeue(ctx, hubsync.DequeueOptions{Worker: fmt.Sprintf("%d/%d", i, w), Max: 10, Lease: time.Minute})
					if err != nil {
						b.Error(err)
						return
					}
					if len(jobs) == 0 {
						return // the rest is leased by other workers
					}
					for _, j := range jobs {
						if err := s.Ack(ctx, j); err != nil {
							b.Error(err)
							return
						}
					}
					done.Add(int64(len(jobs)))
				}
			}()
		}
	}
	wg.Wait()
	b.StopTimer()
	if n := done.Load(); n != int64(b.N) {
		b.Fatalf("workers completed %d of %d jobs", n, b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}
