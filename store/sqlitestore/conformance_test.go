package sqlitestore_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlitestore"
	"github.com/hubsync/hubsync/store/storetest"
)

// template is a migrated, empty database file that factory copies, so each of the suite's
// many subtests skips creating the schema (slow under -race).
var template struct {
	once sync.Once
	path string
	err  error
}

func templateFile() (string, error) {
	template.once.Do(func() {
		dir, err := os.MkdirTemp("", "sqlitestore-template")
		if err != nil {
			template.err = err
			return
		}
		path := filepath.Join(dir, "template.db")
		s, err := sqlitestore.Open(context.Background(), path, sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
		if err == nil {
			err = s.Close() // the last connection closing checkpoints the WAL into the file
		}
		template.path, template.err = path, err
	})
	return template.path, template.err
}

// factory opens a fresh database file (a copy of the template) in t's temporary directory.
func factory(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
	src, err := templateFile()
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "hubsync.db")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sqlitestore.Open(t.Context(), path,
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

func TestMain(m *testing.M) {
	code := m.Run()
	if template.path != "" {
		os.RemoveAll(filepath.Dir(template.path))
	}
	os.Exit(code)
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
