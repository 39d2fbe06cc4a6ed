package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
		sqlitestore.WithLogger(slog.New(slog.DiscardHandler)), sqlitestore.WithSealer(cfg.Sealer))
	if err != nil {
		t.Fatal(err)
	}
	paths.Store(s, storeFile{path: path})
	t.Cleanup(func() {
		paths.Delete(s)
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, s
}

// paths maps each store a factory opened to its storeFile, for rawConnections.
var paths sync.Map

// storeFile is a store's database file and table prefix.
type storeFile struct{ path, prefix string }

// rawConnections reads every column of every row of the store's connections table through a
// connection of its own, past the store's methods.
func rawConnections(t testing.TB, s hubsync.Store) string {
	t.Helper()
	f, ok := paths.Load(s)
	if !ok {
		t.Fatal("rawConnections: not a store a factory opened")
	}
	return dumpTable(t, f.(storeFile).path, f.(storeFile).prefix+"connections") + "\n" +
		dumpTable(t, f.(storeFile).path, f.(storeFile).prefix+"lms_connections")
}

// dumpTable returns every row of table in the file at path, one line a row, columns split by "|".
func dumpTable(t testing.TB, path, table string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), "SELECT * FROM "+table) // also from a Cleanup, after t.Context ends
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%s=%v|", cols[i], v)
		}
		b.WriteString("\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range []string{template.path, hostTemplate.path} {
		if p != "" {
			os.RemoveAll(filepath.Dir(p))
		}
	}
	os.Exit(code)
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, factory)
	storetest.RunSealing(t, factory, rawConnections)
}

// BenchmarkQueueThroughput measures enqueue+dequeue+ack throughput with the default,
// synchronous=FULL (every commit synced) and with SyncNormal, and over New in a host's file
// (synchronous=FULL, no cached write statements).
func BenchmarkQueueThroughput(b *testing.B) {
	b.Run("sync=FULL", func(b *testing.B) { storetest.Benchmark(b, factory) })
	b.Run("sync=NORMAL", func(b *testing.B) { storetest.Benchmark(b, normalFactory) })
	b.Run("new-host-db", func(b *testing.B) { storetest.Benchmark(b, hostFactory) })
	// The engine's batching: 4 workers dequeuing batches of 100, each acked with one AckMany.
	b.Run("workers=4/sync=FULL", func(b *testing.B) { storetest.BenchmarkWorkers(b, factory, 4, 100) })
	b.Run("workers=4/sync=NORMAL", func(b *testing.B) { storetest.BenchmarkWorkers(b, normalFactory, 4, 100) })
}

// normalFactory opens a Store with WithSynchronous(SyncNormal).
func normalFactory(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
	s, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "hubsync.db"),
		sqlitestore.WithClock(cfg.Clock), sqlitestore.WithSynchronous(sqlitestore.SyncNormal),
		sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, s
}
