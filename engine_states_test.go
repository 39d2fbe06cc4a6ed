package hubsync_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/hubsync/hubsync"
)

// stateCounter is a real store that counts the engine's single-learner sync state calls; it is
// no hubsync.SyncStateBatcher (the engine falls back to those calls).
type stateCounter struct {
	storeQueue
	gets, puts atomic.Int64
}

func (c *stateCounter) GetSyncState(ctx context.Context, s hubsync.SchoolID, email string) (hubsync.SyncState, error) {
	c.gets.Add(1)
	return c.storeQueue.GetSyncState(ctx, s, email)
}

func (c *stateCounter) PutSyncState(ctx context.Context, st hubsync.SyncState) error {
	c.puts.Add(1)
	return c.storeQueue.PutSyncState(ctx, st)
}

// batchCounter is stateCounter with the real store's hubsync.SyncStateBatcher, counted too.
type batchCounter struct {
	*stateCounter
	b                  hubsync.SyncStateBatcher
	getManys, putManys atomic.Int64
}

func (c *batchCounter) GetSyncStates(ctx context.Context, s hubsync.SchoolID, emails []string) (map[string]hubsync.SyncState, error) {
	c.getManys.Add(1)
	return c.b.GetSyncStates(ctx, s, emails)
}

func (c *batchCounter) PutSyncStates(ctx context.Context, states ...hubsync.SyncState) error {
	c.putManys.Add(1)
	return c.b.PutSyncStates(ctx, states...)
}

// swapCounter is batchCounter with the real store's hubsync.SyncStateSwapper, counted too.
type swapCounter struct {
	*batchCounter
	sw    hubsync.SyncStateSwapper
	swaps atomic.Int64
}

func (c *swapCounter) SwapSyncStates(ctx context.Context, s hubsync.SchoolID, swaps []hubsync.SyncStateSwap) ([]string, error) {
	c.swaps.Add(1)
	return c.sw.SwapSyncStates(ctx, s, swaps)
}

// TestEngineBatchesSyncStates: on a SyncStateSwapper store an outbound batch reads its learners'
// states with one GetSyncStates and writes them with one SwapSyncStates; on a SyncStateBatcher
// store without swaps, with two GetSyncStates (the second just before the write) and one
// PutSyncStates; no single-learner call in either. On a store without either the engine makes
// the single calls, and all end the same: the values sent, the states recording them, and a
// learner whose values did not change sent nothing again.
func TestEngineBatchesSyncStates(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"swaps", "batches", "single calls"} {
		h := newHarness(t)
		sc := &stateCounter{storeQueue: h.store}
		var bc *batchCounter
		var swc *swapCounter
		var s storeQueue = sc
		if mode != "single calls" {
			bc = &batchCounter{stateCounter: sc, b: h.store.(hubsync.SyncStateBatcher)}
			s = bc
		}
		if mode == "swaps" {
			swc = &swapCounter{batchCounter: bc, sw: h.store.(hubsync.SyncStateSwapper)}
			s = swc
		}
		batched := mode != "single calls"
		h.eng = h.engine(h.config(s, h.lms))
		h.connect()
		h.settings(hubsync.Settings{Mappings: basicMapping})
		learners := []hubsync.Learner{
			{ID: "lw-1", Email: "Ann@School.example", Values: map[string]any{"first_name": "Ann", "country": "GR"}},
			{ID: "lw-2", Email: "bob@school.example", Values: map[string]any{"first_name": "Bob", "country": "FR"}},
			{ID: "lw-3", Email: "cy@school.example", Values: map[string]any{"first_name": "Cyrano de Bergerac", "country": "FR"}},
		}
		for _, l := range learners {
			h.change(l)
		}
		h.run()
		for _, l := range learners {
			c := h.contact(hubsync.FoldEmail(l.Email))
			if c["firstname"] != l.Values["first_name"] || c["country"] != l.Values["country"] {
				t.Fatalf("%s: contact of %s = %v, want the learner's values", mode, l.ID, c)
			}
			st, err := h.store.GetSyncState(h.ctx, school, l.Email)
			if err != nil {
				t.Fatalf("%s: state of %s: %v", mode, l.ID, err)
			}
			if st.LearnerID != l.ID || st.ContactID == "" || len(st.SentToHubSpot) == 0 {
				t.Fatalf("%s: state of %s = %+v", mode, l.ID, st)
			}
		}
		// Ann changes her country; Bob and Cy are queued again unchanged.
		learners[0].Values = map[string]any{"first_name": "Ann", "country": "IT"}
		for _, l := range learners {
			h.change(l)
		}
		h.run()
		if c := h.contact("ann@school.example"); c["country"] != "IT" {
			t.Fatalf("%s: Ann's country = %q, want IT", mode, c["country"])
		}
		logs, err := h.store.ListSyncLog(h.ctx, school, hubsync.LogFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		outcomes := map[string][]hubsync.LogOutcome{}
		for _, en := range logs {
			outcomes[en.Email] = append(outcomes[en.Email], en.Outcome) // newest first
		}
		for email, want := range map[string]hubsync.LogOutcome{"ann@school.example": hubsync.OutcomeUpdated,
			"bob@school.example": hubsync.OutcomeUnchanged, "cy@school.example": hubsync.OutcomeUnchanged} {
			if got := outcomes[email]; len(got) != 2 || got[0] != want || got[1] != hubsync.OutcomeCreated {
				t.Errorf("%s: outcomes of %s (newest first) = %v, want [%s created]", mode, hubsync.MaskEmail(email), got, want)
			}
		}
		if batched && (sc.gets.Load() != 0 || sc.puts.Load() != 0) {
			t.Errorf("with %s the engine still made %d GetSyncState and %d PutSyncState calls", mode, sc.gets.Load(), sc.puts.Load())
		}
		if mode == "swaps" {
			// Each batch reads its states once, before the upsert, and stores them on the
			// condition that nobody wrote them since (nobody did: no second read).
			if bc.getManys.Load() != 2 || bc.putManys.Load() != 0 || swc.swaps.Load() != 2 {
				t.Errorf("two batches made %d GetSyncStates, %d PutSyncStates and %d SwapSyncStates calls, want 2, 0 and 2",
					bc.getManys.Load(), bc.putManys.Load(), swc.swaps.Load())
			}
		} else if batched {
			// Each batch reads its states twice: before the upsert, and once HubSpot answered, the
			// states it is about to store (settle: written meanwhile by another writer?).
			if bc.getManys.Load() != 4 || bc.putManys.Load() != 2 {
				t.Errorf("two batches made %d GetSyncStates and %d PutSyncStates calls, want 4 and 2", bc.getManys.Load(), bc.putManys.Load())
			}
		} else if sc.gets.Load() != 10 || sc.puts.Load() != 4 {
			t.Errorf("without batches the engine made %d GetSyncState and %d PutSyncState calls, want 10 (6 before the upserts, 4 after) and 4", sc.gets.Load(), sc.puts.Load())
		}
	}
}
