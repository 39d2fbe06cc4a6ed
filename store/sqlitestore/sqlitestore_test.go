package sqlitestore_test

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlitestore"
	"github.com/hubsync/hubsync/store/storetest"
)

// factory opens a fresh database file in t's temporary directory.
func factory(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
	s, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "hubsync.db"),
		sqlitestore.WithClock(cfg.Clock), sqlitestore.WithMaxAttempts(cfg.MaxAttempts),
		sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, factory)
}

// BenchmarkQueueThroughput measures enqueue+dequeue+ack throughput with the default,
// synchronous=FULL (every commit synced) and with SyncNormal.
func BenchmarkQueueThroughput(b *testing.B) {
	b.Run("sync=FULL", func(b *testing.B) { storetest.Benchmark(b, factory) })
	b.Run("sync=NORMAL", func(b *testing.B) {
		storetest.Benchmark(b, func(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
			s, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "hubsync.db"),
				sqlitestore.WithClock(cfg.Clock), sqlitestore.WithSynchronous(sqlitestore.SyncNormal),
				sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s, s
		})
	})
}
