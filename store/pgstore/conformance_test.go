package pgstore_test

import (
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/pgstore"
	"github.com/hubsync/hubsync/store/storetest"
)

func factory(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
	return factoryWith(t, cfg)
}

// factoryWith builds the store under test with extra options.
func factoryWith(t testing.TB, cfg storetest.Config, opts ...pgstore.Option) (hubsync.Store, hubsync.Queue) {
	s := openTest(t, append([]pgstore.Option{pgstore.WithClock(cfg.Clock), pgstore.WithMaxAttempts(cfg.MaxAttempts), pgstore.WithSealer(cfg.Sealer)}, opts...)...)
	return s, s
}

// TestConformance runs the store/storetest suite against pgstore.
func TestConformance(t *testing.T) {
	t.Parallel()
	testURL(t)
	storetest.Run(t, factory)
	storetest.RunSealing(t, factory, rawConnections)
}

// TestConformanceAsyncAcks runs the suite with WithAsyncAcks, whose job-lifecycle statements run
// in their own pipelined transactions.
func TestConformanceAsyncAcks(t *testing.T) {
	t.Parallel()
	testURL(t)
	storetest.Run(t, func(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
		return factoryWith(t, cfg, pgstore.WithAsyncAcks(true))
	})
}

// BenchmarkQueueAsyncAcks is BenchmarkQueue with WithAsyncAcks(true).
func BenchmarkQueueAsyncAcks(b *testing.B) {
	storetest.Benchmark(b, func(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
		return factoryWith(t, cfg, pgstore.WithAsyncAcks(true))
	})
}

// BenchmarkQueueBatched is storetest.BenchmarkWorkers: 4 workers (and 1, to compare) dequeuing
// batches of 100 and acking each with one AckMany, with synchronous commits and with
// WithAsyncAcks(true).
func BenchmarkQueueBatched(b *testing.B) {
	b.Run("workers=1", func(b *testing.B) { storetest.BenchmarkWorkers(b, factory, 1, 100) })
	b.Run("workers=4", func(b *testing.B) { storetest.BenchmarkWorkers(b, factory, 4, 100) })
	b.Run("workers=4/async-acks", func(b *testing.B) {
		storetest.BenchmarkWorkers(b, func(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
			return factoryWith(t, cfg, pgstore.WithAsyncAcks(true))
		}, 4, 100)
	})
}

// BenchmarkQueue measures enqueue+dequeue+ack throughput (jobs/s) with storetest.Benchmark.
func BenchmarkQueue(b *testing.B) {
	storetest.Benchmark(b, factory)
}
