package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/pgstore"
	"github.com/hubsync/hubsync/store/storetest"
)

// hostDDL is the host's own tables, in a schema of the host's: two named like tables of the
// store, to show that the store never touches them, and the learners an LMS keeps.
const hostDDL = `
CREATE TABLE jobs (id integer PRIMARY KEY, note text NOT NULL);
CREATE TABLE settings (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE learners (id text PRIMARY KEY, email text NOT NULL, first_name text NOT NULL);
INSERT INTO jobs VALUES (1, 'the host''s own job');
INSERT INTO settings VALUES ('theme', 'dark');
`

// hostDB is a host application's database as a test sees it: a schema of the host's own, holding
// hostDDL's tables, and the host's pool, whose search_path is that schema (not the store's).
type hostDB struct {
	schema string
	pool   *pgxpool.Pool
}

// newHostDB makes a fresh host schema with hostDDL's tables and a pool of at most maxConns
// connections whose search_path is it; both go when t ends.
func newHostDB(t testing.TB, maxConns int32) hostDB {
	t.Helper()
	ctx := context.Background()
	h := hostDB{schema: freshSchema(t)}
	h.pool = openHostPool(t, h.schema, maxConns)
	if _, err := h.pool.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{h.schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.pool.Exec(ctx, hostDDL); err != nil {
		t.Fatal(err)
	}
	return h
}

// openHostPool opens a pool of at most maxConns connections whose search_path is schema, closed
// when t ends.
func openHostPool(t testing.TB, schema string, maxConns int32) *pgxpool.Pool {
	t.Helper()
	pc, err := pgxpool.ParseConfig(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	pc.MaxConns = maxConns
	pc.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// requireUntouched fails t unless the host's jobs and settings tables hold just hostDDL's rows.
func (h hostDB) requireUntouched(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	var jobs, settings string
	err := h.pool.QueryRow(ctx, `SELECT (SELECT string_agg(id || ':' || note, ',') FROM jobs),
		(SELECT string_agg(name || ':' || value, ',') FROM settings)`).Scan(&jobs, &settings)
	if err != nil {
		t.Fatalf("reading the host's tables: %v", err)
	}
	if jobs != "1:the host's own job" || settings != "theme:dark" {
		t.Fatalf("the host's tables changed: jobs %q, settings %q", jobs, settings)
	}
}

// newOnHost returns a Store from New over h's pool, on an empty schema of its own (not h's and not
// the default), closed when t ends.
func newOnHost(t testing.TB, h hostDB, opts ...pgstore.Option) *pgstore.Store {
	t.Helper()
	s, err := pgstore.New(context.Background(), h.pool, append([]pgstore.Option{pgstore.WithSchema(reusedSchema(t))}, opts...)...)
	if err != nil {
		t.Fatalf("pgstore.New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestConformanceHostPool runs the conformance suites over Stores from New that share one host
// pool, whose search_path is the host's schema, where tables named jobs and settings live: every
// statement must name the store's schema. Each subtest closes its Store, which must leave the
// shared pool open for the others.
func TestConformanceHostPool(t *testing.T) {
	t.Parallel()
	testURL(t)
	h := newHostDB(t, 8)
	t.Cleanup(func() { h.requireUntouched(t) }) // after every subtest, before the pool closes
	factory := func(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
		s := newOnHost(t, h, pgstore.WithClock(cfg.Clock), pgstore.WithMaxAttempts(cfg.MaxAttempts), pgstore.WithSealer(cfg.Sealer))
		return s, s
	}
	storetest.Run(t, factory)
	storetest.RunSealing(t, factory, rawConnections)
}

func TestNewRejectsBadInput(t *testing.T) {
	t.Parallel()
	// No database is needed: pgxpool connects lazily, and New checks its input first.
	pool, err := pgxpool.New(t.Context(), "postgres://nobody@127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, tc := range []struct {
		name string
		pool *pgxpool.Pool
		opt  pgstore.Option
		want string
	}{
		{"nil pool", nil, pgstore.WithAutoMigrate(true), "pgstore: New: no pool"},
		{"max conns", pool, pgstore.WithMaxConns(4), "pgstore: New: WithMaxConns does not apply to a host's pool"},
		{"bad schema", pool, pgstore.WithSchema("Host"), `pgstore: WithSchema: schema "Host"`},
	} {
		_, err := pgstore.New(t.Context(), tc.pool, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New with %s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "pgstore: WithTx: nil transaction") {
			t.Errorf("WithTx(nil) panicked with %v, want a panic naming the nil transaction", r)
		}
	}()
	var s *pgstore.Store
	s.WithTx(nil)
}

// TestNewCloseLeavesThePoolOpen: the pool is the host's, so closing a Store from New leaves it
// working; a Store from Open closes its own.
func TestNewCloseLeavesThePoolOpen(t *testing.T) {
	t.Parallel()
	h := newHostDB(t, 2)
	s := newOnHost(t, h)
	s.Close()
	if err := h.pool.Ping(t.Context()); err != nil {
		t.Fatalf("the host's pool after Store.Close: %v", err)
	}
	opened := openTest(t)
	opened.Close()
	if err := opened.PutSettings(t.Context(), "a", hubsync.Settings{}); err == nil {
		t.Fatal("a Store from Open still works after Close, want its pool closed")
	}
}

// TestWithTxRunsInTheHostTransaction: what a WithTx Store writes, enqueues and acks is part of the
// host's transaction: a rollback undoes all of it, the host's own write included, even with
// WithAsyncAcks (which must not commit on its own inside the host's transaction). RunInTx on the
// bound Store is a savepoint.
func TestWithTxRunsInTheHostTransaction(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHostDB(t, 4)
	s := newOnHost(t, h, pgstore.WithAsyncAcks(true))
	if err := s.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.Dequeue(ctx, hubsync.DequeueOptions{Worker: "w"})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Dequeue = %d jobs, %v; want 1", len(jobs), err)
	}
	errRollback := errors.New("host rolls back")
	errInner := errors.New("inner fails")
	err = pgx.BeginFunc(ctx, h.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO learners VALUES ('1', 'kim@school.example', 'Kim')`); err != nil {
			return err
		}
		bound := s.WithTx(tx)
		if err := bound.Ack(ctx, jobs[0]); err != nil {
			return err
		}
		if err := bound.PutCheckpoint(ctx, hubsync.Checkpoint{School: "a", Name: "c"}); err != nil {
			return err
		}
		if err := bound.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push"}); err != nil {
			return err
		}
		err := bound.RunInTx(ctx, func(ctx context.Context, st hubsync.Store, q hubsync.Queue) error {
			if err := st.PutCheckpoint(ctx, hubsync.Checkpoint{School: "a", Name: "inner"}); err != nil {
				return err
			}
			return errInner
		})
		if !errors.Is(err, errInner) {
			t.Errorf("RunInTx on the bound Store = %v, want the fn's error", err)
		}
		if _, err := bound.GetCheckpoint(ctx, "a", "inner"); !errors.Is(err, hubsync.ErrNotFound) {
			t.Errorf("after the savepoint's rollback the inner checkpoint reads: %v, want ErrNotFound", err)
		}
		if _, err := bound.GetCheckpoint(ctx, "a", "c"); err != nil {
			t.Errorf("the bound Store does not read its own write: %v", err)
		}
		if st, err := bound.Stats(ctx, "a"); err != nil || st.Ready != 1 || st.Leased != 0 {
			t.Errorf("Stats in the transaction = %+v, %v; want the acked job gone and 1 ready", st, err)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("host transaction: %v", err)
	}
	if st, err := s.Stats(ctx, "a"); err != nil || st != (hubsync.QueueStats{Leased: 1}) {
		t.Fatalf("Stats after the host's rollback = %+v, %v; want just the job, still leased (the ack rolled back)", st, err)
	}
	if _, err := s.GetCheckpoint(ctx, "a", "c"); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("checkpoint after the host's rollback: %v, want ErrNotFound", err)
	}
	var n int
	if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM learners`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("host learners after the rollback: %d, %v; want none", n, err)
	}
	if err := s.Ack(ctx, jobs[0]); err != nil {
		t.Fatalf("Ack after the rolled back one: %v", err)
	}
}

// TestWithTxDequeueKeepsTheHostSettings: an Enqueue and a Dequeue inside a host's transaction
// change the planner's settings (plannerOffSQL) for their own statements only; the transaction
// goes on with the values the host had set, its own SET LOCAL ones included.
func TestWithTxDequeueKeepsTheHostSettings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := newHostDB(t, 2)
	s := newOnHost(t, h)
	if err := s.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, h.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
			return err
		}
		const settings = `SELECT current_setting('jit') || ' ' || current_setting('enable_bitmapscan') || ' ' ||
			current_setting('enable_seqscan') || ' ' || current_setting('plan_cache_mode')`
		var want string
		if err := tx.QueryRow(ctx, settings).Scan(&want); err != nil {
			return err
		}
		check := func(after string) error {
			var got string
			if err := tx.QueryRow(ctx, settings).Scan(&got); err != nil {
				return err
			}
			if got != want {
				t.Errorf("settings after %s in the host's transaction = %q, want %q", after, got, want)
			}
			return nil
		}
		bound := s.WithTx(tx)
		if err := bound.Enqueue(ctx, hubsync.JobSpec{School: "a", Kind: "push", Key: "k2"}); err != nil {
			return err
		}
		if err := check("an Enqueue"); err != nil {
			return err
		}
		jobs, err := bound.Dequeue(ctx, hubsync.DequeueOptions{Worker: "w", Max: 10})
		if err != nil || len(jobs) != 2 {
			return fmt.Errorf("Dequeue = %d jobs, %v; want 2", len(jobs), err)
		}
		return check("a Dequeue")
	})
	if err != nil {
		t.Fatal(err)
	}
}
