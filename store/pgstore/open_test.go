package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/store/pgstore"
)

func TestOpenRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opt  pgstore.Option
		want string
	}{
		{"upper-case schema", pgstore.WithSchema("HubSync"), `WithSchema: schema "HubSync"`},
		{"empty schema", pgstore.WithSchema(""), `schema ""`},
		{"quote in schema", pgstore.WithSchema(`a"b`), `schema "a\"b"`},
		{"long schema", pgstore.WithSchema(strings.Repeat("a", 64)), "at most 63 bytes"},
		{"zero max attempts", pgstore.WithMaxAttempts(0), "WithMaxAttempts: max attempts must be at least 1, got 0"},
		{"zero max conns", pgstore.WithMaxConns(0), "WithMaxConns: max conns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// No database is needed: options are checked before connecting.
			_, err := pgstore.Open(t.Context(), "postgres://nobody@127.0.0.1:1/none", tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "pgstore: ") {
				t.Fatalf("Open with %s: err = %v, want one starting %q and containing %q", tc.name, err, "pgstore: ", tc.want)
			}
		})
	}
}

func TestOpenErrorsHideThePassword(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"postgres://user:s3cret-pw@127.0.0.1:1/db?connect_timeout=2", // nothing listens on port 1
		"postgres://user:s3cret-pw@127.0.0.1:notaport/db",
	} {
		_, err := pgstore.Open(t.Context(), url)
		if err == nil {
			t.Fatalf("Open(%s): want an error", strings.ReplaceAll(url, "s3cret-pw", "xxx"))
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Fatalf("Open's error shows the password: %v", err)
		}
	}
}

// FuzzWithSchema: any schema name WithSchema accepts is a plain lower-case identifier, safe to use
// unquoted, and anything else is rejected with an error, never a panic.
func FuzzWithSchema(f *testing.F) {
	for _, s := range []string{"hubsync", "", "a b", `x"; DROP TABLE jobs; --`, "_x1", "Ä", strings.Repeat("z", 63)} {
		f.Add(s)
	}
	plain := regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	f.Fuzz(func(t *testing.T, name string) {
		// An invalid option fails Open before any connection is attempted; a valid one goes on to
		// parse this URL, which fails without a network call.
		_, err := pgstore.Open(context.Background(), "postgres://u@127.0.0.1:notaport/db", pgstore.WithSchema(name))
		if err == nil {
			t.Fatal("Open succeeded with a URL that cannot parse")
		}
		rejected := strings.Contains(err.Error(), "is not a lower-case SQL identifier")
		if ok := plain.MatchString(name) && len(name) <= 63; ok == rejected {
			t.Fatalf("WithSchema(%q): rejected = %v, want %v", name, rejected, !ok)
		}
	})
}

func TestMigrationsApplyOnce(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	schema := freshSchema(t)
	for range 2 {
		s, err := pgstore.Open(t.Context(), url, pgstore.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM `+pgx.Identifier{schema, "schema_migrations"}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	if n != len(files) {
		t.Fatalf("schema_migrations has %d rows after two Opens, want %d (each embedded migration, applied once)", n, len(files))
	}
}

func TestBadInputErrors(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := t.Context()
	secret := "jane.doe@example.com"
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"PutSettings without school", s.PutSettings(ctx, "", hubsync.Settings{}), "empty school id"},
		{"PutConnection without school", s.PutConnection(ctx, hubsync.Connection{Token: hubsync.Token{AccessToken: "tok-secret"}}), "empty school id"},
		{"PutSyncState without email", s.PutSyncState(ctx, hubsync.SyncState{School: "a"}), "has no email"},
		{"ClaimOnce without key", func() error { _, err := s.ClaimOnce(ctx, "a", "", "occ"); return err }(), "needs a key"},
		{"MarkWebhookSeen without id", func() error { _, err := s.MarkWebhookSeen(ctx, "hubspot", "", time.Time{}); return err }(), "needs a source and an event id"},
		{"PutCheckpoint without name", s.PutCheckpoint(ctx, hubsync.Checkpoint{School: "a"}), "has no name"},
		{"AppendSyncLog without school", s.AppendSyncLog(ctx, hubsync.SyncLogEntry{Email: secret}), "entry 0 has no school"},
		{"GetSyncState missing", func() error { _, err := s.GetSyncState(ctx, "a", secret); return err }(), "j***@example.com"},
		{"Enqueue without kind", s.Enqueue(ctx, hubsync.JobSpec{School: "a"}), "job 0 of 1: hubsync: invalid value: job of school \"a\" has no kind"},
	} {
		if tc.err == nil || !strings.HasPrefix(tc.err.Error(), "pgstore: ") || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want a pgstore error containing %q", tc.name, tc.err, tc.want)
		}
		if tc.err != nil && (strings.Contains(tc.err.Error(), secret) || strings.Contains(tc.err.Error(), "tok-secret")) {
			t.Errorf("%s: error shows an email or token: %v", tc.name, tc.err)
		}
	}
}

// TestRunInTxNested: a RunInTx inside a RunInTx is a savepoint: its failure rolls back only its own
// writes, and the outer transaction still commits.
func TestRunInTxNested(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := t.Context()
	errInner := errors.New("inner failed")
	err := s.RunInTx(ctx, func(ctx context.Context, st hubsync.Store, q hubsync.Queue) error {
		if err := st.PutCheckpoint(ctx, hubsync.Checkpoint{School: "a", Name: "outer"}); err != nil {
			return err
		}
		err := st.(hubsync.Transactor).RunInTx(ctx, func(ctx context.Context, st hubsync.Store, q hubsync.Queue) error {
			if err := st.PutCheckpoint(ctx, hubsync.Checkpoint{School: "a", Name: "inner"}); err != nil {
				return err
			}
			if err := q.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push", Key: "k"}); err != nil {
				return err
			}
			return errInner
		})
		if !errors.Is(err, errInner) {
			return fmt.Errorf("inner RunInTx: %v, want errInner", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCheckpoint(ctx, "a", "outer"); err != nil {
		t.Fatalf("outer write: %v", err)
	}
	if _, err := s.GetCheckpoint(ctx, "a", "inner"); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("inner write after the savepoint's rollback: err = %v, want ErrNotFound", err)
	}
	if st, err := s.Stats(ctx, "a"); err != nil || st != (hubsync.QueueStats{}) {
		t.Fatalf("Stats = %+v, %v; want the inner enqueue rolled back", st, err)
	}
}

// TestConcurrentBatchesDoNotDeadlock: batches that coalesce the same keys in opposite orders take
// their key locks in one sorted order, so they never deadlock, and each key ends as one job.
func TestConcurrentBatchesDoNotDeadlock(t *testing.T) {
	t.Parallel()
	s := openTest(t, pgstore.WithMaxConns(8))
	ctx := t.Context()
	const keys = 20
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for g := range len(errs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 10 {
				var specs []hubsync.JobSpec
				for k := range keys {
					if g%2 == 1 {
						k = keys - 1 - k
					}
					specs = append(specs, hubsync.JobSpec{School: hubsync.SchoolID(fmt.Sprint("s", k%3)), Kind: "push",
						Key: fmt.Sprint("k", k), Payload: []byte(fmt.Sprint(g, "/", round))})
				}
				if err := s.Enqueue(ctx, specs...); err != nil {
					errs[g] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for sc := range 3 {
		st, err := s.Stats(ctx, hubsync.SchoolID(fmt.Sprint("s", sc)))
		if err != nil {
			t.Fatal(err)
		}
		total += st.Ready
	}
	if total != keys {
		t.Fatalf("%d ready jobs after coalescing, want %d (one per key)", total, keys)
	}
}

// TestNextRunAtIgnoresLeasedAndDead pins what idle workers wait for.
func TestNextRunAtIgnoresLeasedAndDead(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	s := openTest(t, pgstore.WithClock(clk), pgstore.WithMaxAttempts(1))
	ctx := t.Context()
	if err := s.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push"}, hubsync.JobSpec{School: "a", Kind: "push", RunAt: clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.Dequeue(ctx, hubsync.DequeueOptions{Max: 5})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Dequeue = %d jobs, %v; want 1", len(jobs), err)
	}
	if err := s.Retry(ctx, jobs[0], clk.Now(), "boom"); err != nil { // MaxAttempts 1: dead at once
		t.Fatal(err)
	}
	next, ok, err := s.NextRunAt(ctx)
	if err != nil || !ok || !next.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("NextRunAt = %v, %v, %v; want the scheduled job's time", next, ok, err)
	}
}

// TestEnqueueBatchIsAtomic: when the database refuses one job of a batch (PostgreSQL text cannot
// hold a NUL byte), the jobs before it in the batch are not enqueued either.
func TestEnqueueBatchIsAtomic(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := t.Context()
	err := s.Enqueue(ctx,
		hubsync.JobSpec{School: "a", Kind: "push", Key: "fine", Payload: []byte("1")},
		hubsync.JobSpec{School: "a", Kind: "push", Payload: []byte("2")},
		hubsync.JobSpec{School: "a", Kind: "push", Key: "bad\x00key", Payload: []byte("3")},
	)
	if err == nil || !strings.HasPrefix(err.Error(), "pgstore: enqueueing 3 jobs") {
		t.Fatalf("Enqueue with a NUL byte in a key: err = %v, want a pgstore error", err)
	}
	if st, err := s.Stats(ctx, "a"); err != nil || st != (hubsync.QueueStats{}) {
		t.Fatalf("Stats after the refused batch = %+v, %v; want nothing enqueued", st, err)
	}
}
