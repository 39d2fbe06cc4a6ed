package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
)

// The optional hubsync.SyncStateBatcher, checked for a store that implements it.
func init() {
	storeCases = append(storeCases,
		testCase{"SyncStatesBatchRead", testSyncStatesGet},
		testCase{"SyncStatesBatchWrite", testSyncStatesPut},
		testCase{"SyncStatesBatchAllOrNone", testSyncStatesAllOrNone},
		testCase{"SyncStatesBatchLarge", testSyncStatesLarge},
		testCase{"SyncStatesBatchInTx", testSyncStatesInTx},
	)
}

func batcher(t *testing.T, x fixture) hubsync.SyncStateBatcher {
	t.Helper()
	b, ok := x.s.(hubsync.SyncStateBatcher)
	if !ok {
		t.Skip("the store does not implement hubsync.SyncStateBatcher")
	}
	return b
}

// testSyncStatesGet: GetSyncStates returns what GetSyncState would for each email given, keyed by
// the folded email; missing ones, other schools' and empty input are absent, not errors.
func testSyncStatesGet(t *testing.T, x fixture) {
	b := batcher(t, x)
	got, err := b.GetSyncStates(x.ctx, "a", nil)
	must(t, "GetSyncStates of no emails", err)
	if got == nil || len(got) != 0 {
		t.Fatalf("GetSyncStates of no emails = %v, want an empty map", got)
	}
	jane := hubsync.SyncState{School: "a", Email: "Jane@Example.com", LearnerID: "lw-1", ContactID: "101",
		SentToHubSpot: map[string]string{"firstname": "Jane", "~": "1"}, SentToLMS: map[string]string{}, LifecycleStage: "lead"}
	bob := hubsync.SyncState{School: "a", Email: "bob@example.com", LearnerID: "lw-2"}
	otherSchool := hubsync.SyncState{School: "b", Email: "ann@example.com", LearnerID: "lw-3"}
	x.clk.Advance(time.Second)
	for _, st := range []hubsync.SyncState{jane, bob, otherSchool} {
		must(t, "PutSyncState", x.s.PutSyncState(x.ctx, st))
	}
	got, err = b.GetSyncStates(x.ctx, "a", []string{" JANE@example.COM", "missing@example.com", "bob@example.com",
		"jane@example.com", "ann@example.com", ""})
	must(t, "GetSyncStates", err)
	want := map[string]hubsync.SyncState{}
	for _, em := range []string{"jane@example.com", "bob@example.com"} {
		st, err := x.s.GetSyncState(x.ctx, "a", em)
		must(t, "GetSyncState "+em, err)
		want[em] = st
	}
	mustEqual(t, "GetSyncStates (folded keys, missing and other school's absent)", got, want)
	if got["jane@example.com"].SentToLMS == nil {
		t.Errorf("an empty SentToLMS map came back nil (PutSyncState keeps it empty)")
	}
	if got["bob@example.com"].SentToHubSpot != nil {
		t.Errorf("a nil SentToHubSpot map came back %v", got["bob@example.com"].SentToHubSpot)
	}
	got, err = b.GetSyncStates(x.ctx, "b", []string{"jane@example.com", "ANN@example.com"})
	must(t, "GetSyncStates of school b", err)
	if len(got) != 1 || got["ann@example.com"].LearnerID != "lw-3" {
		t.Fatalf("GetSyncStates of school b = %v, want only ann's state", got)
	}
	got, err = b.GetSyncStates(x.ctx, "a", []string{"nobody@example.com"})
	must(t, "GetSyncStates of a missing email", err)
	if got == nil || len(got) != 0 {
		t.Fatalf("GetSyncStates of a missing email = %v, want an empty map", got)
	}
}

// testSyncStatesPut: PutSyncStates stores each state as PutSyncState would (folded email, the
// clock's UpdatedAt, maps as given), across schools, the later of two states of one learner
// winning; putting none does nothing.
func testSyncStatesPut(t *testing.T, x fixture) {
	b := batcher(t, x)
	must(t, "PutSyncStates of none", b.PutSyncStates(x.ctx))
	must(t, "PutSyncState before", x.s.PutSyncState(x.ctx, hubsync.SyncState{School: "a", Email: "jane@example.com", LearnerID: "old"}))
	x.clk.Advance(1500 * time.Millisecond)
	states := []hubsync.SyncState{
		{School: "a", Email: " Jane@Example.COM", LearnerID: "lw-1", ContactID: "101",
			SentToHubSpot: map[string]string{"company": "", "firstname": "Jane"}, LifecycleStage: "customer",
			UpdatedAt: epoch.Add(-time.Hour)},
		{School: "b", Email: "jane@example.com", LearnerID: "lw-b", SentToLMS: map[string]string{}},
		{School: "a", Email: "bob@example.com", LearnerID: "first"},
		{School: "a", Email: "BOB@example.com", LearnerID: "second", SentToLMS: map[string]string{"k": "v"}},
	}
	must(t, "PutSyncStates", b.PutSyncStates(x.ctx, states...))
	now := x.clk.Now()
	for _, c := range []struct {
		school hubsync.SchoolID
		email  string
		want   hubsync.SyncState
	}{
		{"a", "jane@example.com", hubsync.SyncState{School: "a", Email: "jane@example.com", LearnerID: "lw-1", ContactID: "101",
			SentToHubSpot: map[string]string{"company": "", "firstname": "Jane"}, LifecycleStage: "customer", UpdatedAt: now}},
		{"b", "jane@example.com", hubsync.SyncState{School: "b", Email: "jane@example.com", LearnerID: "lw-b",
			SentToLMS: map[string]string{}, UpdatedAt: now}},
		{"a", "bob@example.com", hubsync.SyncState{School: "a", Email: "bob@example.com", LearnerID: "second",
			SentToLMS: map[string]string{"k": "v"}, UpdatedAt: now}},
	} {
		got, err := x.s.GetSyncState(x.ctx, c.school, c.email)
		must(t, fmt.Sprintf("GetSyncState(%s, %s)", c.school, c.email), err)
		mustEqual(t, fmt.Sprintf("state of %s in %s", c.email, c.school), got, c.want)
	}
}

// testSyncStatesAllOrNone: a state without a school or an email fails the whole call with
// hubsync.ErrInvalidValue, writing none of the others.
func testSyncStatesAllOrNone(t *testing.T, x fixture) {
	b := batcher(t, x)
	for _, bad := range []hubsync.SyncState{{School: "", Email: "x@example.com"}, {School: "a", Email: "  "}} {
		err := b.PutSyncStates(x.ctx, hubsync.SyncState{School: "a", Email: "good@example.com", LearnerID: "g"}, bad)
		if !errors.Is(err, hubsync.ErrInvalidValue) {
			t.Fatalf("PutSyncStates with %+v: err = %v, want one wrapping hubsync.ErrInvalidValue", bad, err)
		}
		_, err = x.s.GetSyncState(x.ctx, "a", "good@example.com")
		mustNotFound(t, "the good state of a refused batch", err)
	}
}

// largeBatch is more learners than any SQLite build takes bound parameters (32766 at most).
const largeBatch = 33000

// testSyncStatesLarge: batches larger than any limit on bound parameters are one call.
func testSyncStatesLarge(t *testing.T, x fixture) {
	b := batcher(t, x)
	states := make([]hubsync.SyncState, 0, 1100)
	for i := range 1100 {
		states = append(states, hubsync.SyncState{School: "a", Email: fmt.Sprintf("u%05d@example.com", i), LearnerID: fmt.Sprint(i),
			SentToHubSpot: map[string]string{"n": fmt.Sprint(i)}})
	}
	must(t, "PutSyncStates of 1,100", b.PutSyncStates(x.ctx, states...))
	emails := make([]string, 0, largeBatch)
	for i := range largeBatch {
		emails = append(emails, fmt.Sprintf("U%05d@example.com", i))
	}
	got, err := b.GetSyncStates(x.ctx, "a", emails)
	must(t, fmt.Sprintf("GetSyncStates of %d", largeBatch), err)
	if len(got) != len(states) {
		t.Fatalf("GetSyncStates of %d emails found %d states, want %d", largeBatch, len(got), len(states))
	}
	for i := range len(states) {
		em := fmt.Sprintf("u%05d@example.com", i)
		if st := got[em]; st.LearnerID != fmt.Sprint(i) || st.SentToHubSpot["n"] != fmt.Sprint(i) {
			t.Fatalf("state of %s = %+v", em, st)
		}
	}
}

// testSyncStatesInTx: the Store RunInTx hands fn batches too, inside the transaction: fn reads
// its own writes, and a rollback undoes them.
func testSyncStatesInTx(t *testing.T, x fixture) {
	batcher(t, x)
	tx, ok := x.s.(hubsync.Transactor)
	if !ok {
		t.Skip("the store does not implement hubsync.Transactor")
	}
	errBoom := errors.New("boom")
	err := tx.RunInTx(x.ctx, func(ctx context.Context, s hubsync.Store, _ hubsync.Queue) error {
		b, ok := s.(hubsync.SyncStateBatcher)
		if !ok {
			t.Fatal("the Store RunInTx hands fn is not a hubsync.SyncStateBatcher")
		}
		if err := b.PutSyncStates(ctx, hubsync.SyncState{School: "a", Email: "jane@example.com", LearnerID: "inside"}); err != nil {
			return err
		}
		got, err := b.GetSyncStates(ctx, "a", []string{"jane@example.com"})
		if err != nil {
			return err
		}
		if got["jane@example.com"].LearnerID != "inside" {
			t.Errorf("inside the transaction GetSyncStates = %v, want its own write", got)
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("RunInTx = %v, want fn's error", err)
	}
	got, err := x.s.(hubsync.SyncStateBatcher).GetSyncStates(x.ctx, "a", []string{"jane@example.com"})
	must(t, "GetSyncStates after the rollback", err)
	if len(got) != 0 {
		t.Fatalf("after the rollback GetSyncStates = %v, want nothing", got)
	}
}
