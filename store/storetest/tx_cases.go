package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hubsync/hubsync"
)

var txCases = []testCase{
	{"RollbackUndoesStateAndJob", testTxRollback},
	{"CommitKeepsStateAndJob", testTxCommit},
	{"ConnectionGenerationInTx", testTxGeneration},
	{"ConnectionGenerationTxRace", testTxGenerationRace},
}

var errTxTest = errors.New("storetest: fn failed on purpose")

func transactor(t *testing.T, x fixture) hubsync.Transactor {
	t.Helper()
	tx, ok := x.s.(hubsync.Transactor)
	if !ok {
		t.Skip("the Store does not implement hubsync.Transactor")
	}
	return tx
}

func testTxRollback(t *testing.T, x fixture) {
	tr := transactor(t, x)
	must(t, "PutSyncState before the transaction", x.s.PutSyncState(x.ctx, hubsync.SyncState{School: "a", Email: "jane@example.com", LearnerID: "before"}))
	err := tr.RunInTx(x.ctx, func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error {
		if err := s.PutSyncState(ctx, hubsync.SyncState{School: "a", Email: "jane@example.com", LearnerID: "inside"}); err != nil {
			return err
		}
		if err := s.PutSyncState(ctx, hubsync.SyncState{School: "a", Email: "bob@example.com", LearnerID: "inside"}); err != nil {
			return err
		}
		if err := q.Enqueue(ctx, live("a", "jane@example.com", "from tx")); err != nil {
			return err
		}
		if _, err := s.ClaimOnce(ctx, "a", "signed_up:jane@example.com", "occ-tx"); err != nil {
			return err
		}
		return errTxTest
	})
	if !errors.Is(err, errTxTest) {
		t.Fatalf("RunInTx: err = %v, want fn's error", err)
	}
	got, err := x.s.GetSyncState(x.ctx, "a", "jane@example.com")
	must(t, "GetSyncState after rollback", err)
	mustEqual(t, "state after rollback", got.LearnerID, "before")
	_, err = x.s.GetSyncState(x.ctx, "a", "bob@example.com")
	mustNotFound(t, "GetSyncState of a state written in a rolled-back tx", err)
	stats(t, x, "a", hubsync.QueueStats{})
	dequeueNone(t, x, "the job was enqueued in a rolled-back transaction")
	owner, err := x.s.ClaimOnce(x.ctx, "a", "signed_up:jane@example.com", "occ-after")
	must(t, "ClaimOnce after rollback", err)
	mustEqual(t, "owner after rollback", owner, "occ-after")
}

func testTxCommit(t *testing.T, x fixture) {
	tr := transactor(t, x)
	enqueue(t, x, live("a", "jane@example.com", "v1")) // waiting: the tx's enqueue coalesces into it
	err := tr.RunInTx(x.ctx, func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error {
		if err := s.PutSyncState(ctx, hubsync.SyncState{School: "a", Email: "Jane@Example.com", LearnerID: "inside"}); err != nil {
			return err
		}
		got, err := s.GetSyncState(ctx, "a", "jane@example.com")
		if err != nil {
			return err
		}
		if got.LearnerID != "inside" {
			t.Errorf("inside the transaction GetSyncState saw LearnerID %q, want its own write", got.LearnerID)
		}
		if err := q.Enqueue(ctx, live("a", "jane@example.com", "v2")); err != nil {
			return err
		}
		st, err := q.Stats(ctx, "a")
		if err != nil {
			return err
		}
		if st.Ready != 1 {
			t.Errorf("inside the transaction Stats = %+v, want 1 ready (coalesced)", st)
		}
		return nil
	})
	must(t, "RunInTx", err)
	got, err := x.s.GetSyncState(x.ctx, "a", "jane@example.com")
	must(t, "GetSyncState after commit", err)
	mustEqual(t, "state after commit", got.LearnerID, "inside")
	j := dequeueOne(t, x)
	mustEqual(t, "payload after commit", string(j.Payload), "v2")
}

// testTxGeneration: a PutConnection or DeleteConnection inside RunInTx raises the generation as
// one outside does, fn sees the raised value, and a rolled-back put leaves the stored connection
// as it was.
func testTxGeneration(t *testing.T, x fixture) {
	tr := transactor(t, x)
	must(t, "PutConnection", x.s.PutConnection(x.ctx, hubsync.Connection{School: "a", Token: hubsync.Token{AccessToken: "outside"}}))
	g1 := generation(t, x, "a")
	var inside int64
	err := tr.RunInTx(x.ctx, func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error {
		if err := s.PutConnection(ctx, hubsync.Connection{School: "a", Token: hubsync.Token{AccessToken: "inside"}}); err != nil {
			return err
		}
		c, err := s.GetConnection(ctx, "a")
		inside = c.Generation
		return err
	})
	must(t, "RunInTx", err)
	if inside <= g1 {
		t.Fatalf("PutConnection inside RunInTx gave generation %d, want more than %d", inside, g1)
	}
	mustEqual(t, "generation after commit", generation(t, x, "a"), inside)

	err = tr.RunInTx(x.ctx, func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error {
		if err := s.PutConnection(ctx, hubsync.Connection{School: "a", Token: hubsync.Token{AccessToken: "rolled back"}}); err != nil {
			return err
		}
		return errTxTest
	})
	if !errors.Is(err, errTxTest) {
		t.Fatalf("RunInTx: err = %v, want fn's error", err)
	}
	c, err := x.s.GetConnection(x.ctx, "a")
	must(t, "GetConnection after rollback", err)
	mustEqual(t, "token after rollback", c.Token.AccessToken, "inside")
	mustEqual(t, "generation after rollback", c.Generation, inside)

	err = tr.RunInTx(x.ctx, func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error {
		return s.DeleteConnection(ctx, "a")
	})
	must(t, "RunInTx with DeleteConnection", err)
	must(t, "PutConnection", x.s.PutConnection(x.ctx, hubsync.Connection{School: "a"}))
	if g := generation(t, x, "a"); g <= inside {
		t.Fatalf("PutConnection after a DeleteConnection in RunInTx gave generation %d, want more than %d", g, inside)
	}
}

// testTxGenerationRace: racing transactions that each put the connection and read it back see
// distinct generations.
func testTxGenerationRace(t *testing.T, x fixture) {
	tr := transactor(t, x)
	gens := make([]int64, racers)
	errs := make([]error, racers)
	raceN(racers, func(i int) {
		errs[i] = tr.RunInTx(x.ctx, func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error {
			if err := s.PutConnection(ctx, hubsync.Connection{School: "a", Token: hubsync.Token{AccessToken: fmt.Sprint("at-", i)}}); err != nil {
				return err
			}
			c, err := s.GetConnection(ctx, "a")
			gens[i] = c.Generation
			return err
		})
	})
	seen := map[int64]int{}
	for i, err := range errs {
		must(t, "racing RunInTx", err)
		if j, dup := seen[gens[i]]; dup {
			t.Fatalf("racing transactions %d and %d both got generation %d", j, i, gens[i])
		}
		seen[gens[i]] = i
	}
}
