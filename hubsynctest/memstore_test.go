package hubsynctest_test

import (
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/store/storetest"
)

func TestMemStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
		m := hubsynctest.NewMemStore(hubsynctest.MemOptions{Clock: cfg.Clock, MaxAttempts: cfg.MaxAttempts})
		return m, m
	})
}

func BenchmarkMemQueueThroughput(b *testing.B) {
	storetest.Benchmark(b, func(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
		m := hubsynctest.NewMemStore(hubsynctest.MemOptions{Clock: cfg.Clock, MaxAttempts: cfg.MaxAttempts})
		return m, m
	})
}
