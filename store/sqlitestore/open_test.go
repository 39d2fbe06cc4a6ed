package sqlitestore_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

func TestOpenRejectsBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		path string
		opts []sqlitestore.Option
		want string
	}{
		{"empty path", "", nil, "empty database path"},
		{"memory", ":memory:", nil, "not a plain file path"},
		{"uri", "file:x.db?mode=ro", nil, "not a plain file path"},
		{"query in name", filepath.Join(dir, "x.db?_pragma=foo"), nil, "not a plain file path"},
		{"zero attempts", filepath.Join(dir, "a.db"), []sqlitestore.Option{sqlitestore.WithMaxAttempts(0)}, "WithMaxAttempts: max attempts must be at least 1, got 0"},
		{"negative busy timeout", filepath.Join(dir, "b.db"), []sqlitestore.Option{sqlitestore.WithBusyTimeout(-time.Second)}, "WithBusyTimeout: busy timeout"},
		{"unknown synchronous mode", filepath.Join(dir, "d.db"), []sqlitestore.Option{sqlitestore.WithSynchronous("OFF")}, `WithSynchronous: synchronous mode "OFF"`},
		{"missing directory", filepath.Join(dir, "nope", "c.db"), nil, "sqlitestore: open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := sqlitestore.Open(t.Context(), tc.path, tc.opts...)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded, want an error mentioning %q", tc.path, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "sqlitestore: ") {
				t.Fatalf("Open(%q) error = %q, want it prefixed sqlitestore: and mentioning %q", tc.path, err, tc.want)
			}
		})
	}
}

// TestMigrationsAppliedOnce reopens a file: the schema is not applied again and the data stays.
func TestMigrationsAppliedOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hubsync.db")
	ctx := t.Context()
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := s.SchemaVersion(ctx)
	if err != nil || v1 < 1 {
		t.Fatalf("SchemaVersion = %d, %v; want at least 1", v1, err)
	}
	if err := s.PutSettings(ctx, "a", hubsync.Settings{GDPRToolkit: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer s.Close()
	v2, err := s.SchemaVersion(ctx)
	if err != nil || v2 != v1 {
		t.Fatalf("SchemaVersion after reopening = %d, %v; want %d", v2, err, v1)
	}
	got, err := s.GetSettings(ctx, "a")
	if err != nil || !got.GDPRToolkit {
		t.Fatalf("settings after reopening = %+v, %v; want them kept", got, err)
	}
	st, err := s.Stats(ctx, "a")
	if err != nil || st.Ready != 1 {
		t.Fatalf("Stats after reopening = %+v, %v; want the job kept", st, err)
	}
}

// TestCrashedInstanceJobTakenOver is the crash test across processes: one instance leases a job
// and dies without acking (closed mid-job); after the lease another instance on the same file
// takes the job over and completes it exactly once, and the dead lease cannot ack it.
func TestCrashedInstanceJobTakenOver(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hubsync.db")
	ctx := t.Context()
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	open := func() *sqlitestore.Store {
		s, err := sqlitestore.Open(ctx, path, sqlitestore.WithClock(clk))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(), open()
	defer b.Close()
	if err := a.Enqueue(ctx, hubsync.JobSpec{School: "s", Kind: "push", Key: "jane@example.com", Payload: []byte("v1")}); err != nil {
		t.Fatal(err)
	}
	leased, err := a.Dequeue(ctx, hubsync.DequeueOptions{Worker: "a", Lease: 30 * time.Second})
	if err != nil || len(leased) != 1 {
		t.Fatalf("instance a Dequeue = %d jobs, %v", len(leased), err)
	}
	if err := a.Close(); err != nil { // the worker's process dies mid-job
		t.Fatal(err)
	}
	if got, err := b.Dequeue(ctx, hubsync.DequeueOptions{Worker: "b", Lease: 30 * time.Second}); err != nil || len(got) != 0 {
		t.Fatalf("instance b Dequeue before the lease ran out = %d jobs, %v; want none", len(got), err)
	}
	clk.Advance(30 * time.Second)
	got, err := b.Dequeue(ctx, hubsync.DequeueOptions{Worker: "b", Lease: 30 * time.Second})
	if err != nil || len(got) != 1 || got[0].ID != leased[0].ID || got[0].Attempts != 1 {
		t.Fatalf("instance b Dequeue after the lease = %+v, %v; want job %d with 1 attempt", got, err, leased[0].ID)
	}
	if err := b.Ack(ctx, got[0]); err != nil {
		t.Fatal(err)
	}
	if err := b.Ack(ctx, leased[0]); !errors.Is(err, hubsync.ErrLeaseLost) {
		t.Fatalf("late Ack with the dead worker's lease: err = %v, want hubsync.ErrLeaseLost", err)
	}
	if st, err := b.Stats(ctx, "s"); err != nil || st != (hubsync.QueueStats{}) {
		t.Fatalf("Stats after the takeover = %+v, %v; want an empty queue", st, err)
	}
}

func TestPanicInTxRollsBack(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "hubsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	func() {
		defer func() { _ = recover() }()
		_ = s.RunInTx(ctx, func(ctx context.Context, st hubsync.Store, q hubsync.Queue) error {
			_ = q.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push"})
			panic("fn fails hard")
		})
	}()
	if st, err := s.Stats(ctx, "a"); err != nil || st != (hubsync.QueueStats{}) {
		t.Fatalf("Stats after a panicking transaction = %+v, %v; want it rolled back", st, err)
	}
	if err := s.PutSettings(ctx, "a", hubsync.Settings{}); err != nil {
		t.Fatalf("the store is unusable after a panicking transaction: %v", err)
	}
}

// TestOpenPrefixAndAutoMigrate: Open takes a table prefix, and without auto-migration checks the
// schema instead: a fresh file fails with ErrSchemaVersion, a migrated one opens.
func TestOpenPrefixAndAutoMigrate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hubsync.db")
	noAuto := sqlitestore.WithAutoMigrate(false)
	if s, err := sqlitestore.Open(ctx, path, noAuto, sqlitestore.WithTablePrefix("hs_")); !errors.Is(err, sqlitestore.ErrSchemaVersion) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open of a fresh file without auto-migration: %v, want ErrSchemaVersion", err)
	}
	s, err := sqlitestore.Open(ctx, path, sqlitestore.WithTablePrefix("hs_"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := dumpTable(t, path, "hs_jobs"); !strings.Contains(got, "school=a|") {
		t.Fatalf("hs_jobs holds %q, want the job", got)
	}
	s, err = sqlitestore.Open(ctx, path, noAuto, sqlitestore.WithTablePrefix("hs_"))
	if err != nil {
		t.Fatalf("Open of the migrated file without auto-migration: %v", err)
	}
	defer s.Close()
	if st, err := s.Stats(ctx, "a"); err != nil || st.Ready != 1 {
		t.Fatalf("Stats = %+v, %v; want the job", st, err)
	}
	// The same file under another prefix has none of the store's tables.
	if s2, err := sqlitestore.Open(ctx, path, noAuto); !errors.Is(err, sqlitestore.ErrSchemaVersion) {
		if err == nil {
			s2.Close()
		}
		t.Fatalf("Open with the prefix \"\" of a file migrated with hs_: %v, want ErrSchemaVersion", err)
	}
}
