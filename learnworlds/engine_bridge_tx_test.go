package learnworlds_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestEngineWebhooksRedeliveryAfterFailedEnqueue: a delivery whose work could not be queued is
// answered 500 and not remembered, so LearnWorlds' redelivery lands: the learner's change reaches
// HubSpot and the once-only sign-up is on the timeline exactly once. Over the in-memory store and
// SQLite, each as a Transactor (mark and enqueue in one transaction) and hidden behind a plain
// Store (enqueue, then mark).
func TestEngineWebhooksRedeliveryAfterFailedEnqueue(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		for _, tx := range []bool{true, false} {
			name := be.name + "/plain"
			if tx {
				name = be.name + "/transactor"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				inner := be.open(t)
				f := &flaky{Store: inner, Queue: inner, fails: new(atomic.Int32)}
				var store backend = f
				if tx {
					store = flakyTx{flaky: f, tx: inner.(hubsync.Transactor)}
				}
				b := newBridge(t, bridgeOptions{store: store})

				f.fails.Store(1) // the first enqueue of the webhook's work fails
				const email = "kim@school.example"
				if _, err := b.lw.Register(ctx, learnworldstest.User{Email: email, Username: "kim", Fields: map[string]any{"country": "GR"}}); err == nil {
					t.Fatal("the delivery whose work could not be queued was accepted")
				}
				first := b.lw.Deliveries()[0]
				if first.Status != http.StatusInternalServerError {
					t.Fatalf("delivery answered %d, want 500", first.Status)
				}
				b.run(t)
				hubsynctest.RequireNoContact(t, b.hs, email)

				// LearnWorlds delivers the same body again: this time the work is queued.
				if err := b.lw.Redeliver(ctx, first); err != nil {
					t.Fatalf("redelivery: %v", err)
				}
				b.run(t)
				if c, ok := b.hs.Contact(email); !ok || c.Properties["country"] != "GR" {
					t.Fatalf("after the redelivery the contact is %+v (found %v), want country GR", c.Properties, ok)
				}
				hubsynctest.RequireTimelineEvents(t, b.hs, email, hubsync.EventSignedUp)

				// Once queued, a further redelivery is answered 200 and changes nothing.
				if err := b.lw.Redeliver(ctx, first); err != nil {
					t.Fatalf("second redelivery: %v", err)
				}
				n := b.run(t)
				if tx && n != 0 {
					t.Fatalf("a redelivery of a delivery already queued ran %d jobs, want none", n)
				}
				hubsynctest.RequireTimelineEvents(t, b.hs, email, hubsync.EventSignedUp)
				hubsynctest.RequireQueueDrained(ctx, t, inner, school)
			})
		}
	}
}

// TestEngineTxVariantsCommitWithTheTransaction: the engine's LearnerChangedTx and RecordTx, which
// the bridge uses, queue on the transaction's Queue: a rolled back transaction leaves nothing
// queued, a committed one the contact job and the sign-up's event and stage jobs.
func TestEngineTxVariantsCommitWithTheTransaction(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st := be.open(t)
			eng, err := hubsync.New(hubsync.Config{Store: st, Queue: st, Learners: hubsynctest.NewLearners(0),
				HubSpot: hubsync.HubSpotApp{ClientID: "id", ClientSecret: "secret"}, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			l := hubsync.Learner{ID: "1", Email: "Kim@School.example"}
			a := hubsync.Activity{Kind: hubsync.EventSignedUp, Email: l.Email, At: time.Unix(1700000000, 0)}
			queue := func(rollback error) error {
				return st.(hubsync.Transactor).RunInTx(ctx, func(ctx context.Context, _ hubsync.Store, q hubsync.Queue) error {
					if err := eng.LearnerChangedTx(ctx, q, school, l); err != nil {
						return err
					}
					if err := eng.RecordTx(ctx, q, school, a); err != nil {
						return err
					}
					return rollback
				})
			}
			if err := queue(errQueueDown); !errors.Is(err, errQueueDown) {
				t.Fatalf("RunInTx = %v, want the fn's error", err)
			}
			if s, _ := st.Stats(ctx, school); s != (hubsync.QueueStats{}) {
				t.Fatalf("after a rollback the queue holds %+v, want nothing", s)
			}
			if err := queue(nil); err != nil {
				t.Fatal(err)
			}
			if s, _ := st.Stats(ctx, school); s.Ready != 3 {
				t.Fatalf("after the commit the queue holds %+v, want 3 ready jobs", s)
			}
			if err := eng.LearnerChangedTx(ctx, nil, school, l); !errors.Is(err, hubsync.ErrInvalidValue) {
				t.Fatalf("LearnerChangedTx with no queue: %v", err)
			}
			if err := eng.RecordTx(ctx, nil, school, a); !errors.Is(err, hubsync.ErrInvalidValue) {
				t.Fatalf("RecordTx with no queue: %v", err)
			}
		})
	}
}

// TestEngineWebhooksFullQueueKeepsOnceEvents: with the school's queue at its cap, a purchase
// delivery is still answered 200 and its first purchase (a once-only event) still reaches HubSpot;
// only the repeatable purchase event is refused.
func TestEngineWebhooksFullQueueKeepsOnceEvents(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newBridge(t, bridgeOptions{store: hubsynctest.NewMemStore(), maxQueued: 1})
	if _, err := b.lw.Register(ctx, learnworldstest.User{Email: "kim@school.example", Username: "kim", Fields: map[string]any{"country": "GR"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.lw.Purchase(ctx, "kim@school.example", learnworldstest.Payment{ProductID: "c1", ProductType: "course", ProductName: "Course One", Price: 49}); err != nil {
		t.Fatal(err)
	}
	for _, d := range b.lw.Deliveries() {
		if d.Status != http.StatusOK {
			t.Fatalf("delivery %s answered %d with the queue full", d.Type, d.Status)
		}
	}
	b.run(t)
	kinds := map[string]int{}
	for _, ev := range b.hs.TimelineEvents() {
		kinds[ev.Properties["kind"]]++
	}
	if kinds["first_purchase"] != 1 || kinds["signed_up"] != 1 || kinds["purchase_made"] != 0 {
		t.Fatalf("timeline kinds with the queue full = %v, want the once-only events and no purchase_made", kinds)
	}
}
