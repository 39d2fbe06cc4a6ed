package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
)

// The optional hubsync.SyncStateSwapper, checked for a store that implements it.
func init() {
	storeCases = append(storeCases,
		testCase{"SyncStatesSwap", testSyncStatesSwap},
		testCase{"SyncStatesSwapFrozenClock", testSyncStatesSwapFrozenClock},
		testCase{"SyncStatesSwapInvalid", testSyncStatesSwapInvalid},
		testCase{"SyncStatesSwapLarge", testSyncStatesSwapLarge},
		testCase{"SyncStatesSwapInsertsOnly", testSyncStatesSwapInsertsOnly},
		testCase{"SyncStatesSwapInTx", testSyncStatesSwapInTx},
	)
	concurrencyCases = append(concurrencyCases, testCase{"SyncStatesSwapRace", testSyncStatesSwapRace})
}

func swapper(t *testing.T, x fixture) hubsync.SyncStateSwapper {
	t.Helper()
	sw, ok := x.s.(hubsync.SyncStateSwapper)
	if !ok {
		t.Skip("the store does not implement hubsync.SyncStateSwapper")
	}
	return sw
}

// readState is GetSyncState of a state that must exist.
func readState(t *testing.T, x fixture, school hubsync.SchoolID, email string) hubsync.SyncState {
	t.Helper()
	st, err := x.s.GetSyncState(x.ctx, school, email)
	must(t, "GetSyncState "+email, err)
	return st
}

// swapOf is the swap of st by a writer that read read (nil: none existed).
func swapOf(st hubsync.SyncState, read *hubsync.SyncState) hubsync.SyncStateSwap {
	if read == nil {
		return hubsync.SyncStateSwap{State: st}
	}
	return hubsync.SyncStateSwap{State: st, Existed: true, UpdatedAt: read.UpdatedAt}
}

// testSyncStatesSwap: in one call, a swap with the UpdatedAt its writer read is stored (email
// folded, the clock's UpdatedAt, maps as given), and so is a "none existed" one of a learner
// with no state; a stale one, a "none existed" one of a learner who has a state, and one of a
// state read but gone since are refused, reported by folded email, and leave the stored state
// as it was. The clock stands between microseconds, so a store that keeps times less precisely
// than it reads them must still compare what it returned.
func testSyncStatesSwap(t *testing.T, x fixture) {
	sw := swapper(t, x)
	conflicts, err := sw.SwapSyncStates(x.ctx, "a", nil)
	must(t, "SwapSyncStates of none", err)
	if len(conflicts) != 0 {
		t.Fatalf("SwapSyncStates of none reported conflicts %v", conflicts)
	}
	x.clk.Advance(1234567 * time.Nanosecond)
	for _, st := range []hubsync.SyncState{
		{School: "a", Email: "jane@example.com", LearnerID: "lw-1", SentToHubSpot: map[string]string{"firstname": "Jane"}},
		{School: "a", Email: "stale@example.com", LearnerID: "lw-2"},
		{School: "a", Email: "bob@example.com", LearnerID: "lw-3"},
	} {
		must(t, "PutSyncState", x.s.PutSyncState(x.ctx, st))
	}
	jane := readState(t, x, "a", "jane@example.com")
	staleRead := readState(t, x, "a", "stale@example.com")
	bob := readState(t, x, "a", "bob@example.com")
	x.clk.Advance(time.Second + 1500*time.Nanosecond)
	must(t, "PutSyncState (another writer)", x.s.PutSyncState(x.ctx, hubsync.SyncState{School: "a", Email: "stale@example.com", LearnerID: "other writer"}))
	stale := readState(t, x, "a", "stale@example.com")
	x.clk.Advance(time.Second)
	now := x.clk.Now()
	conflicts, err = sw.SwapSyncStates(x.ctx, "a", []hubsync.SyncStateSwap{
		swapOf(hubsync.SyncState{School: "a", Email: " Jane@Example.COM", LearnerID: "lw-1", ContactID: "101",
			SentToHubSpot: map[string]string{"firstname": "Jane", "country": "GR"}, LifecycleStage: "lead",
			UpdatedAt: epoch.Add(-time.Hour)}, &jane),
		swapOf(hubsync.SyncState{School: "a", Email: "STALE@example.com", LearnerID: "this writer"}, &staleRead),
		swapOf(hubsync.SyncState{Email: "bob@example.com", LearnerID: "as if new"}, nil),
		swapOf(hubsync.SyncState{School: "a", Email: "Cy@example.com", LearnerID: "lw-4", SentToLMS: map[string]string{}}, nil),
		swapOf(hubsync.SyncState{School: "a", Email: "gone@example.com", LearnerID: "lw-5"}, &jane),
	})
	must(t, "SwapSyncStates", err)
	slices.Sort(conflicts)
	mustEqual(t, "conflicts (the stale read, none-existed over a state, a state gone)", conflicts,
		[]string{"bob@example.com", "gone@example.com", "stale@example.com"})
	for _, c := range []struct {
		email string
		want  hubsync.SyncState
	}{
		{"jane@example.com", hubsync.SyncState{School: "a", Email: "jane@example.com", LearnerID: "lw-1", ContactID: "101",
			SentToHubSpot: map[string]string{"firstname": "Jane", "country": "GR"}, LifecycleStage: "lead", UpdatedAt: now}},
		{"cy@example.com", hubsync.SyncState{School: "a", Email: "cy@example.com", LearnerID: "lw-4", SentToLMS: map[string]string{}, UpdatedAt: now}},
		{"stale@example.com", stale},
		{"bob@example.com", bob},
	} {
		got := readState(t, x, "a", c.email)
		if !got.UpdatedAt.Equal(c.want.UpdatedAt) && c.want.UpdatedAt.Equal(now) && got.UpdatedAt.Sub(now).Abs() < time.Microsecond {
			c.want.UpdatedAt = got.UpdatedAt // a store keeping microseconds
		}
		mustEqual(t, "state of "+c.email+" after the swap", got, c.want)
	}
	_, err = x.s.GetSyncState(x.ctx, "a", "gone@example.com")
	mustNotFound(t, "the refused swap of a state gone", err)

	// The state just swapped, read again, swaps again; the read before the swap is stale now.
	jane2 := readState(t, x, "a", "jane@example.com")
	x.clk.Advance(time.Second)
	conflicts, err = sw.SwapSyncStates(x.ctx, "a", []hubsync.SyncStateSwap{swapOf(hubsync.SyncState{School: "a", Email: "jane@example.com", LearnerID: "old read"}, &jane)})
	must(t, "SwapSyncStates with the read before the swap", err)
	mustEqual(t, "conflicts of the read before the swap", conflicts, []string{"jane@example.com"})
	conflicts, err = sw.SwapSyncStates(x.ctx, "a", []hubsync.SyncStateSwap{swapOf(hubsync.SyncState{School: "a", Email: "jane@example.com", LearnerID: "new read"}, &jane2)})
	must(t, "SwapSyncStates with the read after the swap", err)
	if len(conflicts) != 0 {
		t.Fatalf("a swap with the UpdatedAt just read reported conflicts %v", conflicts)
	}
	if got := readState(t, x, "a", "jane@example.com"); got.LearnerID != "new read" {
		t.Fatalf("after the second swap the state is %+v", got)
	}
}

// testSyncStatesSwapFrozenClock: with the clock standing still, a swap over a state written at
// the clock's time still moves its UpdatedAt, so a second writer that read the same state is
// refused, and so is the first writer's read once another swap landed.
func testSyncStatesSwapFrozenClock(t *testing.T, x fixture) {
	sw := swapper(t, x)
	must(t, "PutSyncState", x.s.PutSyncState(x.ctx, hubsync.SyncState{School: "a", Email: "jane@example.com", LearnerID: "put"}))
	read := readState(t, x, "a", "jane@example.com")
	for i, id := range []string{"first", "second"} {
		conflicts, err := sw.SwapSyncStates(x.ctx, "a", []hubsync.SyncStateSwap{swapOf(hubsync.SyncState{School: "a", Email: "jane@example.com", LearnerID: id}, &read)})
		must(t, "SwapSyncStates "+id, err)
		if want := i; len(conflicts) != want {
			t.Fatalf("writer %s of the same read: conflicts %v, want %d", id, conflicts, want)
		}
	}
	got := readState(t, x, "a", "jane@example.com")
	if got.LearnerID != "first" || !got.UpdatedAt.After(read.UpdatedAt) {
		t.Fatalf("after two swaps of one read with the clock standing: %+v (read at %v), want the first's, updated after the read", got, read.UpdatedAt)
	}
	conflicts, err := sw.SwapSyncStates(x.ctx, "a", []hubsync.SyncStateSwap{swapOf(hubsync.SyncState{School: "a", Email: "jane@example.com", LearnerID: "third"}, &got)})
	must(t, "SwapSyncStates third", err)
	if len(conflicts) != 0 {
		t.Fatalf("a swap of the latest read reported %v", conflicts)
	}
	if now := readState(t, x, "a", "jane@example.com"); now.LearnerID != "third" || !now.UpdatedAt.After(got.UpdatedAt) {
		t.Fatalf("third swap: %+v, want it, updated after %v", now, got.UpdatedAt)
	}
}

// testSyncStatesSwapInvalid: an empty school, a state without an email or of another school,
// and two swaps of one folded email fail the call with hubsync.ErrInvalidValue, writing none of
// the others.
func testSyncStatesSwapInvalid(t *testing.T, x fixture) {
	sw := swapper(t, x)
	good := swapOf(hubsync.SyncState{School: "a", Email: "good@example.com", LearnerID: "g"}, nil)
	for _, c := range []struct {
		name   string
		school hubsync.SchoolID
		bad    hubsync.SyncStateSwap
	}{
		{"empty school", "", swapOf(hubsync.SyncState{Email: "x@example.com"}, nil)},
		{"empty email", "a", swapOf(hubsync.SyncState{School: "a", Email: "  "}, nil)},
		{"another school", "a", swapOf(hubsync.SyncState{School: "b", Email: "x@example.com"}, nil)},
		{"one email twice", "a", swapOf(hubsync.SyncState{School: "a", Email: "GOOD@example.com"}, nil)},
	} {
		_, err := sw.SwapSyncStates(x.ctx, c.school, []hubsync.SyncStateSwap{good, c.bad})
		if !errors.Is(err, hubsync.ErrInvalidValue) {
			t.Fatalf("%s: err = %v, want one wrapping hubsync.ErrInvalidValue", c.name, err)
		}
		_, err = x.s.GetSyncState(x.ctx, "a", "good@example.com")
		mustNotFound(t, c.name+": the good state of a refused call", err)
	}
}

// testSyncStatesSwapLarge: a batch larger than any one statement's rows is one call, its
// conflicts reported and its other rows written.
// testSyncStatesSwapInsertsOnly: a batch of "none existed" swaps only (a backfill's new
// learners, which a store may write without reading first), one of whose learners has a state
// already, in the batch's last chunk: that one is refused and left as it was, every other is
// stored; and a batch of inserts only whose learners have no state is stored whole.
func testSyncStatesSwapInsertsOnly(t *testing.T, x fixture) {
	sw := swapper(t, x)
	must(t, "PutSyncState", x.s.PutSyncState(x.ctx, hubsync.SyncState{School: "a", Email: "u0099@example.com", LearnerID: "there"}))
	there := readState(t, x, "a", "u0099@example.com")
	x.clk.Advance(time.Second)
	const n = 100
	swaps := make([]hubsync.SyncStateSwap, n)
	for i := range n {
		swaps[i] = swapOf(hubsync.SyncState{School: "a", Email: fmt.Sprintf("U%04d@example.com", i), LearnerID: fmt.Sprint(i)}, nil)
	}
	conflicts, err := sw.SwapSyncStates(x.ctx, "a", swaps)
	must(t, "SwapSyncStates", err)
	mustEqual(t, "conflicts", conflicts, []string{"u0099@example.com"})
	mustEqual(t, "the stored state", readState(t, x, "a", "u0099@example.com"), there)
	for i := range n - 1 {
		if st := readState(t, x, "a", fmt.Sprintf("u%04d@example.com", i)); st.LearnerID != fmt.Sprint(i) {
			t.Fatalf("u%04d: learner id %q, want %d", i, st.LearnerID, i)
		}
	}
	for i := range n {
		swaps[i] = swapOf(hubsync.SyncState{School: "b", Email: fmt.Sprintf("u%04d@example.com", i), LearnerID: fmt.Sprint(i)}, nil)
	}
	conflicts, err = sw.SwapSyncStates(x.ctx, "b", swaps)
	must(t, "SwapSyncStates of new learners", err)
	mustEqual(t, "conflicts of new learners", len(conflicts), 0)
	page, err := x.s.ListSyncStates(x.ctx, "b", "", 2*n)
	must(t, "ListSyncStates", err)
	mustEqual(t, "states of school b", len(page), n)
}

func testSyncStatesSwapLarge(t *testing.T, x fixture) {
	sw := swapper(t, x)
	b := batcher(t, x)
	const n = 1100
	var puts []hubsync.SyncState
	for i := range n / 2 {
		puts = append(puts, hubsync.SyncState{School: "a", Email: fmt.Sprintf("u%05d@example.com", i), LearnerID: "put"})
	}
	must(t, "PutSyncStates", b.PutSyncStates(x.ctx, puts...))
	emails := make([]string, n)
	for i := range n {
		emails[i] = fmt.Sprintf("u%05d@example.com", i)
	}
	read, err := b.GetSyncStates(x.ctx, "a", emails)
	must(t, "GetSyncStates", err)
	x.clk.Advance(time.Second)
	swaps := make([]hubsync.SyncStateSwap, n)
	var want []string
	for i, em := range emails {
		st := hubsync.SyncState{School: "a", Email: em, LearnerID: fmt.Sprint(i)}
		switch r, ok := read[em]; {
		case ok && i%3 == 0: // read as if none existed: refused
			swaps[i] = swapOf(st, nil)
			want = append(want, em)
		case ok:
			swaps[i] = swapOf(st, &r)
		case i%3 == 0: // read as if one existed: refused
			swaps[i] = swapOf(st, &hubsync.SyncState{UpdatedAt: epoch})
			want = append(want, em)
		default:
			swaps[i] = swapOf(st, nil)
		}
	}
	conflicts, err := sw.SwapSyncStates(x.ctx, "a", swaps)
	must(t, fmt.Sprintf("SwapSyncStates of %d", n), err)
	slices.Sort(conflicts)
	mustEqual(t, "conflicts", conflicts, want)
	got, err := b.GetSyncStates(x.ctx, "a", emails)
	must(t, "GetSyncStates after", err)
	refused := map[string]bool{}
	for _, em := range want {
		refused[em] = true
	}
	for i, em := range emails {
		st, ok := got[em]
		switch {
		case refused[em] && i < n/2:
			if st.LearnerID != "put" {
				t.Fatalf("refused swap of %s wrote %+v", em, st)
			}
		case refused[em]:
			if ok {
				t.Fatalf("refused swap of %s wrote %+v", em, st)
			}
		case st.LearnerID != fmt.Sprint(i):
			t.Fatalf("swap of %s not written: %+v", em, st)
		}
	}
}

// testSyncStatesSwapInTx: the Store RunInTx hands fn swaps too, inside the transaction: fn
// reads its own writes and swaps against them, and a rollback undoes them.
func testSyncStatesSwapInTx(t *testing.T, x fixture) {
	swapper(t, x)
	tx, ok := x.s.(hubsync.Transactor)
	if !ok {
		t.Skip("the store does not implement hubsync.Transactor")
	}
	errBoom := errors.New("boom")
	err := tx.RunInTx(x.ctx, func(ctx context.Context, s hubsync.Store, _ hubsync.Queue) error {
		sw, ok := s.(hubsync.SyncStateSwapper)
		if !ok {
			t.Fatal("the Store RunInTx hands fn is not a hubsync.SyncStateSwapper")
		}
		conflicts, err := sw.SwapSyncStates(ctx, "a", []hubsync.SyncStateSwap{swapOf(hubsync.SyncState{School: "a", Email: "jane@example.com", LearnerID: "inside"}, nil)})
		if err != nil {
			return err
		}
		if len(conflicts) != 0 {
			t.Errorf("inside the transaction: conflicts %v", conflicts)
		}
		st, err := s.GetSyncState(ctx, "a", "jane@example.com")
		if err != nil {
			return err
		}
		conflicts, err = sw.SwapSyncStates(ctx, "a", []hubsync.SyncStateSwap{swapOf(hubsync.SyncState{School: "a", Email: "jane@example.com", LearnerID: "again"}, &st)})
		if err != nil {
			return err
		}
		if len(conflicts) != 0 {
			t.Errorf("inside the transaction, a swap of its own write: conflicts %v", conflicts)
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("RunInTx = %v, want fn's error", err)
	}
	_, err = x.s.GetSyncState(x.ctx, "a", "jane@example.com")
	mustNotFound(t, "after the rollback", err)
}

// testSyncStatesSwapRace: racing writers that read the same state (or read none) and swap it
// see exactly one winner each round, whose state is stored.
func testSyncStatesSwapRace(t *testing.T, x fixture) {
	sw := swapper(t, x)
	for round := range 6 {
		email := fmt.Sprintf("l%d@example.com", round)
		var read *hubsync.SyncState
		if round%2 == 1 { // odd rounds: a state exists and every writer read it
			must(t, "PutSyncState", x.s.PutSyncState(x.ctx, hubsync.SyncState{School: "a", Email: email, LearnerID: "put"}))
			st := readState(t, x, "a", email)
			read = &st
		}
		var wins atomic.Int32
		winner := make([]bool, racers)
		errs := make([]error, racers)
		raceN(racers, func(i int) {
			conflicts, err := sw.SwapSyncStates(x.ctx, "a", []hubsync.SyncStateSwap{
				swapOf(hubsync.SyncState{School: "a", Email: email, LearnerID: fmt.Sprint("w", i)}, read),
				swapOf(hubsync.SyncState{School: "a", Email: fmt.Sprintf("own%d-%d@example.com", round, i), LearnerID: "own"}, nil),
			})
			errs[i] = err
			if err == nil && len(conflicts) == 0 {
				wins.Add(1)
				winner[i] = true
			} else if err == nil && (len(conflicts) != 1 || conflicts[0] != email) {
				errs[i] = fmt.Errorf("conflicts %v, want only the shared learner's", conflicts)
			}
		})
		for _, err := range errs {
			must(t, "racing SwapSyncStates", err)
		}
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d racing writers of one read won, want exactly 1", round, n)
		}
		got := readState(t, x, "a", email)
		if i := slices.Index(winner, true); got.LearnerID != fmt.Sprint("w", i) {
			t.Fatalf("round %d: stored %q, want the winner's w%d", round, got.LearnerID, i)
		}
		for i := range racers {
			if st := readState(t, x, "a", fmt.Sprintf("own%d-%d@example.com", round, i)); st.LearnerID != "own" {
				t.Fatalf("round %d: a racer's own learner: %+v", round, st)
			}
		}
	}
}
