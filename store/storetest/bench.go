package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
)

// Benchmark measures a queue's enqueue+dequeue+ack throughput: b.N jobs spread over 4 schools and
// distinct keys are enqueued in batches of 100, then one worker dequeues them in batches of
// 10 and acks each. It reports "jobs/s" (one job = its enqueue, its dequeue and its ack). The
// factory is the same one Run takes; the clock does not move during the run.
func Benchmark(b *testing.B, f Factory) {
	clk := clock.NewFake(epoch)
	_, q := f(b, Config{Clock: clk, MaxAttempts: hubsync.MaxAttemptsDefault})
	ctx := b.Context()
	const batch = 100
	specs := make([]hubsync.JobSpec, 0, batch)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += batch {
		specs = specs[:0]
		for k := i; k < min(i+batch, b.N); k++ {
			specs = append(specs, hubsync.JobSpec{School: hubsync.SchoolID(fmt.Sprintf("s%d", k%4)), Kind: "push",
				Key: fmt.Sprintf("learner-%d@example.com", k), Payload: []byte(`{"firstname":"Jane","company":"Acme"}`)})
		}
		if err := q.Enqueue(ctx, specs...); err != nil {
			b.Fatal(err)
		}
	}
	done := 0
	for done < b.N {
		jobs, err := q.Dequeue(ctx, hubsync.DequeueOptions{Worker: "bench", Max: 10, Lease: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		if len(jobs) == 0 {
			b.Fatalf("Dequeue returned nothing after %d of %d jobs", done, b.N)
		}
		for _, j := range jobs {
			if err := q.Ack(ctx, j); err != nil {
				b.Fatal(err)
			}
		}
		done += len(jobs)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

// BenchmarkWorkers is Benchmark with the batching of the engine: b.N jobs spread over 4 schools
// and distinct keys are enqueued in batches of 100, then workers goroutines each dequeue batches
// of up to batch jobs and ack each batch with one AckMany. It reports "jobs/s" (one job = its
// enqueue, its dequeue and its ack) and "calls/job", the queue calls (Enqueue, Dequeue,
// AckMany: each one write) per job. The factory is the same one Run takes; the clock does not move.
func BenchmarkWorkers(b *testing.B, f Factory, workers, batch int) {
	clk := clock.NewFake(epoch)
	_, q := f(b, Config{Clock: clk, MaxAttempts: hubsync.MaxAttemptsDefault})
	ctx := b.Context()
	const enqueueBatch = 100
	specs := make([]hubsync.JobSpec, 0, enqueueBatch)
	var calls atomic.Int64
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += enqueueBatch {
		specs = specs[:0]
		for k := i; k < min(i+enqueueBatch, b.N); k++ {
			specs = append(specs, hubsync.JobSpec{School: hubsync.SchoolID(fmt.Sprintf("s%d", k%4)), Kind: "push",
				Key: fmt.Sprintf("learner-%d@example.com", k), Payload: []byte(`{"firstname":"Jane","company":"Acme"}`)})
		}
		if err := q.Enqueue(ctx, specs...); err != nil {
			b.Fatal(err)
		}
		calls.Add(1)
	}
	var done atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for done.Load() < int64(b.N) {
				jobs, err := q.Dequeue(ctx, hubsync.DequeueOptions{Worker: fmt.Sprint("bench-", w), Max: batch, Lease: time.Minute})
				if err != nil {
					b.Error(err)
					return
				}
				calls.Add(1)
				if len(jobs) == 0 {
					return // the rest is leased by the other workers
				}
				lost, err := q.AckMany(ctx, jobs)
				if err != nil || len(lost) > 0 {
					b.Errorf("AckMany of %d jobs: lost %d, err %v", len(jobs), len(lost), err)
					return
				}
				calls.Add(1)
				done.Add(int64(len(jobs)))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if n := done.Load(); n != int64(b.N) && !b.Failed() {
		b.Fatalf("acked %d of %d jobs", n, b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
	b.ReportMetric(float64(calls.Load())/float64(b.N), "calls/job")
}

// BenchmarkExtend measures a worker's heartbeat: one op is one Extend of 100 leased jobs (spread
// over distinct keys of one school), so ns/op is the cost of renewing a 100-job batch. The
// factory is the same one Run takes; the clock does not move, so every Extend succeeds.
func BenchmarkExtend(b *testing.B, f Factory) {
	clk := clock.NewFake(epoch)
	_, q := f(b, Config{Clock: clk, MaxAttempts: hubsync.MaxAttemptsDefault})
	ctx := b.Context()
	const batch = 100
	specs := make([]hubsync.JobSpec, batch)
	for k := range specs {
		specs[k] = hubsync.JobSpec{School: "s0", Kind: "push", Key: fmt.Sprintf("learner-%d@example.com", k), Payload: []byte(`{}`)}
	}
	if err := q.Enqueue(ctx, specs...); err != nil {
		b.Fatal(err)
	}
	jobs, err := q.Dequeue(ctx, hubsync.DequeueOptions{Worker: "bench", Max: batch, Lease: 15 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	if len(jobs) != batch {
		b.Fatalf("Dequeue returned %d jobs, want %d", len(jobs), batch)
	}
	until := epoch.Add(time.Minute)
	for b.Loop() {
		lost, err := q.Extend(ctx, jobs, until)
		if err != nil {
			b.Fatal(err)
		}
		if len(lost) > 0 {
			b.Fatalf("Extend lost %d of %d jobs", len(lost), batch)
		}
	}
}
