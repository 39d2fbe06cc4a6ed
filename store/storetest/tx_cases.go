package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/hubsync/hubsync"
)

var txCases = []testCase{
	{"RollbackUndoesStateAndJob", testTxRollback},
	{"CommitKeepsStateAndJob", testTxCommit},
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
