package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlitestore"
	"github.com/hubsync/hubsync/store/storetest"
)

// factory opens a fresh database file in t's temporary directory.
func factory(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
	s, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "hubsync.db"),
		sqlitestore.WithClock(cfg.Clock), sqlitestore.WithMaxAttempts(cfg.MaxAttempts))
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

func BenchmarkQueueThroughput(b *testing.B) {
	storetest.Benchmark(b, factory)
}
