package pgstore_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/store/pgstore"
)

// The transactional outbox, end to end: a host's transaction writes its own learner row and
// queues the learner's change through a Store bound to it (WithTx), and the change reaches
// HubSpot exactly when the host's transaction commits.

const outboxSchool = hubsync.SchoolID("school-1")

// outboxLearner is the learner the host's transaction writes.
var outboxLearner = hubsync.Learner{ID: "u1", Email: "ada@school.example", Values: map[string]any{"first_name": "Ada"}}

// newOutboxEngine returns an engine over store (as Store and Queue) talking to the fake HubSpot
// hs. With connect, it connects the school and saves a mapping of first_name to firstname.
func newOutboxEngine(t testing.TB, store *pgstore.Store, hs *hubspottest.Server, connect bool) *hubsync.Engine {
	t.Helper()
	ctx := context.Background()
	eng, err := hubsync.New(hubsync.Config{
		Store: store, Queue: store,
		Learners: hubsynctest.NewLearners(0),
		HubSpot:  hubsync.HubSpotApp{ClientID: hs.ClientID(), ClientSecret: hs.ClientSecret(), BaseURL: hs.URL},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !connect {
		return eng
	}
	_, refresh := hs.MintToken()
	if _, err := eng.ConnectWithRefreshToken(ctx, outboxSchool, refresh); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SaveSettings(ctx, outboxSchool, hubsync.Settings{Mappings: []hubsync.Mapping{
		{LMSField: "first_name", HubSpotProperty: "firstname"},
	}}); err != nil {
		t.Fatal(err)
	}
	return eng
}

// hostLearnerUpdate is the host's own transaction: it writes the learner's row to its learners
// table and, in the same transaction, queues the change (and with record, a sign-up activity)
// through store.WithTx. It commits when commit is set and rolls back otherwise. after, when not
// nil, runs right after the commit returns.
func hostLearnerUpdate(ctx context.Context, h hostDB, store *pgstore.Store, eng *hubsync.Engine, record, commit bool, after func()) error {
	tx, err := h.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) // a no-op after Commit
	l := outboxLearner
	if _, err := tx.Exec(ctx, `INSERT INTO learners (id, email, first_name) VALUES ($1, $2, $3)`, l.ID, l.Email, l.Values["first_name"]); err != nil {
		return fmt.Errorf("host insert: %w", err)
	}
	q := store.WithTx(tx)
	if err := eng.LearnerChangedTx(ctx, q, outboxSchool, l); err != nil {
		return fmt.Errorf("LearnerChangedTx: %w", err)
	}
	if record {
		a := hubsync.Activity{Kind: hubsync.EventSignedUp, Email: l.Email, At: time.Unix(1700000000, 0)}
		if err := eng.RecordTx(ctx, q, outboxSchool, a); err != nil {
			return fmt.Errorf("RecordTx: %w", err)
		}
	}
	if !commit {
		return tx.Rollback(ctx)
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	if after != nil {
		after()
	}
	return nil
}

// hostLearners counts the rows of the host's learners table.
func hostLearners(t testing.TB, h hostDB) int {
	t.Helper()
	var n int
	if err := h.pool.QueryRow(context.Background(), `SELECT count(*) FROM learners`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOutboxRollback: the host's transaction rolls back, so neither its row nor the learner's job
// exists, and nothing reaches HubSpot.
func TestOutboxRollback(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHostDB(t, 4)
	store := newOnHost(t, h)
	hs := hubspottest.NewServer()
	t.Cleanup(hs.Close)
	eng := newOutboxEngine(t, store, hs, true)

	if err := hostLearnerUpdate(ctx, h, store, eng, true, false, nil); err != nil {
		t.Fatal(err)
	}
	if n := hostLearners(t, h); n != 0 {
		t.Fatalf("the host's learners table holds %d rows after the rollback, want none", n)
	}
	if st, err := store.Stats(ctx, outboxSchool); err != nil || st != (hubsync.QueueStats{}) {
		t.Fatalf("Stats after the host's rollback = %+v, %v; want nothing queued", st, err)
	}
	if jobs, err := store.Dequeue(ctx, hubsync.DequeueOptions{Worker: "w", Max: 10}); err != nil || len(jobs) != 0 {
		t.Fatalf("Dequeue after the host's rollback = %d jobs, %v; want none", len(jobs), err)
	}
	if _, err := eng.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	hubsynctest.RequireNoContact(t, hs, outboxLearner.Email)
}

// TestOutboxCommit: the host's transaction commits, and the engine's next run delivers the learner
// as a contact and the recorded sign-up on its timeline.
func TestOutboxCommit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHostDB(t, 4)
	store := newOnHost(t, h)
	hs := hubspottest.NewServer()
	t.Cleanup(hs.Close)
	eng := newOutboxEngine(t, store, hs, true)

	if err := hostLearnerUpdate(ctx, h, store, eng, true, true, nil); err != nil {
		t.Fatal(err)
	}
	if n := hostLearners(t, h); n != 1 {
		t.Fatalf("the host's learners table holds %d rows after the commit, want 1", n)
	}
	if st, err := store.Stats(ctx, outboxSchool); err != nil || st.Ready != 3 {
		t.Fatalf("Stats after the host's commit = %+v, %v; want 3 ready jobs (contact, event, stage)", st, err)
	}
	if _, err := eng.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	hubsynctest.RequireContact(t, hs, outboxLearner.Email, map[string]string{"firstname": "Ada"})
	hubsynctest.RequireTimelineEvents(t, hs, outboxLearner.Email, hubsync.EventSignedUp)
	hubsynctest.RequireQueueDrained(ctx, t, store, outboxSchool)
}

// Environment of TestOutboxKill9's child process: the store's and the host's schemas.
const (
	outboxChildStoreEnv = "HUBSYNC_PGSTORE_OUTBOX_CHILD_STORE"
	outboxChildHostEnv  = "HUBSYNC_PGSTORE_OUTBOX_CHILD_HOST"
	outboxCommitted     = "outbox-child: committed"
)

// TestOutboxKill9: the host process dies (SIGKILL) the instant its commit returns, before it does
// anything else. The test runs its own binary again as that host: the child commits the learner's
// row and change, prints a line, and blocks; the parent kills it on reading the line, then, as a
// restarted host, opens the store and an engine, and the change reaches HubSpot.
func TestOutboxKill9(t *testing.T) {
	if os.Getenv(outboxChildStoreEnv) != "" {
		outboxChild(t)
		return
	}
	t.Parallel()
	ctx := t.Context()
	h := newHostDB(t, 4)
	store := newOnHost(t, h)
	hs := hubspottest.NewServer()
	t.Cleanup(hs.Close)
	newOutboxEngine(t, store, hs, true) // connects the school, saves the mapping

	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestOutboxKill9$", "-test.count=1")
	child.Env = append(os.Environ(), outboxChildStoreEnv+"="+store.Schema(), outboxChildHostEnv+"="+h.schema)
	stdin, err := child.StdinPipe() // never written: the child blocks reading it until killed
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	child.Stderr = &stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if sc.Text() == outboxCommitted {
			if err := child.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			break
		}
		seen = append(seen, sc.Text())
	}
	_, _ = io.Copy(io.Discard, stdout)
	err = child.Wait()
	if code := child.ProcessState.ExitCode(); code != -1 {
		t.Fatalf("the child ended with code %d (%v), not killed: it never reported its commit\nstdout:\n%s\nstderr:\n%s",
			code, err, strings.Join(seen, "\n"), stderr.String())
	}

	// The restarted host: a new pool and store (Open), a new engine.
	restarted, err := pgstore.Open(ctx, testURL(t), pgstore.WithSchema(store.Schema()), pgstore.WithMaxConns(2))
	if err != nil {
		t.Fatal(err)
	}
	defer restarted.Close()
	if n := hostLearners(t, h); n != 1 {
		t.Fatalf("the host's learners table holds %d rows after the kill, want the committed one", n)
	}
	eng := newOutboxEngine(t, restarted, hs, false)
	if _, err := eng.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	hubsynctest.RequireContact(t, hs, outboxLearner.Email, map[string]string{"firstname": "Ada"})
	hubsynctest.RequireQueueDrained(ctx, t, restarted, outboxSchool)
}

// outboxChild is TestOutboxKill9's child: the host's transaction, committed, reported on stdout
// the moment the commit returns, then a wait for the kill (or for the parent's end, which closes
// stdin).
func outboxChild(t *testing.T) {
	ctx := context.Background()
	h := hostDB{schema: os.Getenv(outboxChildHostEnv)}
	h.pool = openHostPool(t, h.schema, 2)
	store, err := pgstore.New(ctx, h.pool, pgstore.WithSchema(os.Getenv(outboxChildStoreEnv)), pgstore.WithAutoMigrate(false))
	if err != nil {
		t.Fatal(err)
	}
	// The child never talks to HubSpot: queueing needs no connection.
	eng, err := hubsync.New(hubsync.Config{Store: store, Queue: store, Learners: hubsynctest.NewLearners(0),
		HubSpot: hubsync.HubSpotApp{ClientID: "id", ClientSecret: "secret"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	err = hostLearnerUpdate(ctx, h, store, eng, false, true, func() {
		fmt.Println(outboxCommitted) // os.Stdout is unbuffered: the parent reads it at once
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	t.Fatal("outbox child: not killed (stdin closed)")
}
