package pgstore_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/store/pgstore"
)

// TestJobsHotLeaseMigration: jobs written before migration 0009 (waiting, chained behind another
// of their key, leased with the lease run out, dead with and without dead_at) are served, held
// back and dead-lettered after it as before; the indexes are the new ones, and a second run
// changes nothing.
func TestJobsHotLeaseMigration(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema := freshSchema(t)
	ms := migrationsOf(t, schema)
	i := 0
	for i < len(ms) && ms[i].Version < 9 {
		i++
	}
	applyByHand(t, ms[:i])
	jobs := pgx.Identifier{schema, "jobs"}.Sanitize()
	execByHand(t, fmt.Sprintf(`INSERT INTO %s (school, kind, key, payload, priority, run_at, state, attempts, lease_token, lease_until, leased_by, enqueued_at, dead_at) VALUES
		('a', 'push', 'k1', '1', 5, '2026-01-01T00:00:00Z', 'waiting', 0, NULL, NULL, NULL, '2026-01-01T00:00:00Z', NULL),
		('a', 'push', 'k1', '2', 5, '2026-01-01T00:00:00Z', 'waiting', 0, NULL, NULL, NULL, '2026-01-01T00:00:00Z', NULL),
		('a', 'push', 'k2', '3', 5, '2026-01-01T00:00:01Z', 'leased', 1, 'old', '2026-01-01T00:00:30Z', 'gone', '2026-01-01T00:00:00Z', NULL),
		('a', 'push', 'k3', '4', 5, '2026-01-01T00:00:00Z', 'dead', 3, NULL, NULL, NULL, '2026-01-01T00:00:00Z', '2026-01-01T00:00:05Z'),
		('a', 'push', 'k4', '5', 5, '2026-01-01T00:00:00Z', 'dead', 3, NULL, NULL, NULL, '2026-01-01T00:00:00Z', NULL);
		INSERT INTO %s (school) VALUES ('a')`, jobs, pgx.Identifier{schema, "queue_schools"}.Sanitize()))
	applyByHand(t, ms[i:])
	applyByHand(t, ms[i:]) // idempotent
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC))
	s, err := pgstore.New(ctx, openHostPool(t, "public", 2), pgstore.WithSchema(schema), pgstore.WithAutoMigrate(false), pgstore.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'jobs' ORDER BY indexname`, schema)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if want := []string{"jobs_dead_letters", "jobs_live", "jobs_live_chain", "jobs_live_run_at", "jobs_pkey"}; err != nil || !slices.Equal(idx, want) {
		t.Fatalf("indexes of jobs after 0009 = %v, %v; want %v", idx, err, want)
	}

	dead, err := s.DeadLetters(ctx, "a")
	if err != nil || len(dead) != 2 {
		t.Fatalf("DeadLetters = %d jobs, %v; want the 2 dead ones", len(dead), err)
	}
	got, err := s.Dequeue(ctx, hubsync.DequeueOptions{Worker: "w", Max: 10, Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var payloads []string
	for _, j := range got {
		payloads = append(payloads, string(j.Payload))
	}
	if !slices.Equal(payloads, []string{"1", "3"}) {
		t.Fatalf("first Dequeue leased payloads %v, want [1 3] (k1's head and k2's expired lease, not k1's second)", payloads)
	}
	if j := got[1]; j.Attempts != 2 || j.LastError == "" {
		t.Fatalf("the job taken over from the expired lease has attempts %d, last error %q; want 2 and the expiry", j.Attempts, j.LastError)
	}
	if _, err := s.AckMany(ctx, got); err != nil {
		t.Fatal(err)
	}
	got, err = s.Dequeue(ctx, hubsync.DequeueOptions{Worker: "w", Max: 10, Lease: time.Minute})
	if err != nil || len(got) != 1 || string(got[0].Payload) != "2" {
		t.Fatalf("second Dequeue = %v, %v; want k1's second job", got, err)
	}
	if err := s.Ack(ctx, got[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Replay(ctx, dead[0].ID); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Stats(ctx, "a"); err != nil || st.Ready != 1 || st.Dead != 1 {
		t.Fatalf("Stats after a replay = %+v, %v; want 1 ready and 1 dead", st, err)
	}
}
