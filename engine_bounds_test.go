package hubsync_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
)

// TestQueueCapRefusesRepeatableEventsOnly: with the school's queue at Retention.MaxQueuedEvents,
// Record refuses a repeatable event with ErrQueueFull (keeping its lifecycle trigger) and still
// queues once-kinds and learner changes; the refusals are counted in the sync log, and events
// are taken again once the queue has room.
func TestQueueCapRefusesRepeatableEventsOnly(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(time.Time{})
			s := retentionStore(t, kind, clk)
			eng := bareEngine(t, s, clk, hubsync.Retention{MaxQueuedEvents: 3}, nil)
			ctx := t.Context()
			const email = "ann@school.example"
			completed := func(course string) hubsync.Activity {
				return hubsync.Activity{Kind: hubsync.EventCourseCompleted, Email: email, At: clk.Now(), SubjectID: course, Subject: "Course " + course}
			}
			for _, c := range []string{"c1", "c2", "c3"} {
				if err := eng.Record(ctx, school, completed(c)); err != nil {
					t.Fatalf("Record below the cap: %v", err)
				}
			}
			err := eng.Record(ctx, school, completed("c4"))
			if !errors.Is(err, hubsync.ErrQueueFull) {
				t.Fatalf("Record at the cap: err = %v, want one wrapping ErrQueueFull", err)
			}
			if msg := err.Error(); !strings.Contains(msg, string(school)) || !strings.Contains(msg, "MaxQueuedEvents (3)") || strings.Contains(msg, email) {
				t.Fatalf("refusal %q should name the school and the cap, and mask the email", msg)
			}
			// Once-kinds are always queued; a refused purchase still queues its lifecycle trigger.
			if err := eng.Record(ctx, school, hubsync.Activity{Kind: hubsync.EventSignedUp, Email: email, At: clk.Now()}); err != nil {
				t.Fatalf("sign-up at the cap: %v", err)
			}
			if err := eng.Record(ctx, school, hubsync.Activity{Kind: hubsync.EventPurchaseMade, Email: email, At: clk.Now(), SubjectID: "p1"}); !errors.Is(err, hubsync.ErrQueueFull) {
				t.Fatalf("purchase at the cap: err = %v, want ErrQueueFull", err)
			}
			if err := eng.Record(ctx, school, hubsync.Activity{Kind: hubsync.EventDeleted, Email: "bob@school.example", At: clk.Now()}); err != nil {
				t.Fatalf("deletion at the cap: %v", err)
			}
			if err := eng.LearnerChanged(ctx, school, hubsync.Learner{Email: email}); err != nil {
				t.Fatalf("learner change at the cap: %v", err)
			}

			// Drain the queue, noting what it held.
			got := map[hubsync.JobKind]int{}
			stages := map[string]bool{}
			for {
				jobs, err := s.Dequeue(ctx, hubsync.DequeueOptions{Worker: "test", Max: 100})
				if err != nil {
					t.Fatal(err)
				}
				if len(jobs) == 0 {
					break
				}
				for _, j := range jobs {
					got[j.Kind]++
					if j.Kind == hubsync.JobStage {
						stages[j.Key] = true
					}
					if err := s.Ack(ctx, j); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Events: three completions, the sign-up and the deletion. Stages: registered (the
			// sign-up) and purchased (the refused purchase). One contact job.
			if got[hubsync.JobEvent] != 5 || got[hubsync.JobStage] != 2 || got[hubsync.JobContact] != 1 || len(got) != 3 {
				t.Fatalf("queued jobs by kind = %v, want 5 events, 2 stages, 1 contact", got)
			}
			if !stages["stage|"+email+"|"+string(hubsync.TriggerPurchased)] {
				t.Fatalf("the refused purchase's lifecycle trigger was not queued; stage keys: %v", stages)
			}

			failed := func() []hubsync.SyncLogEntry {
				t.Helper()
				l, err := s.ListSyncLog(ctx, school, hubsync.LogFilter{Outcome: hubsync.OutcomeFailed})
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			// The first refusal is reported at once; the second waits for the next report.
			if l := failed(); len(l) != 1 || !strings.HasPrefix(l[0].Reason, "1 repeatable timeline events not queued") {
				t.Fatalf("sync log failures after two refusals = %+v, want one reporting 1 refusal", l)
			}
			// Once the count is read again (the queue is empty now), events are taken, and the
			// refusal not yet reported is.
			clk.Advance(time.Minute)
			if err := eng.Record(ctx, school, completed("c5")); err != nil {
				t.Fatalf("Record after the queue drained: %v", err)
			}
			if l := failed(); len(l) != 2 || !strings.HasPrefix(l[0].Reason, "1 repeatable timeline events not queued") {
				t.Fatalf("sync log failures after the queue drained = %+v, want a second report of 1 refusal", l)
			}
		})
	}
}

func TestQueueCapOff(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	s := retentionStore(t, "memory", clk)
	eng := bareEngine(t, s, clk, hubsync.Retention{MaxQueuedEvents: -1}, nil)
	for i := range 20 {
		a := hubsync.Activity{Kind: hubsync.EventTagAdded, Email: "ann@school.example", At: clk.Now(), Subject: "tag-" + itoa(i)}
		if err := eng.Record(t.Context(), school, a); err != nil {
			t.Fatalf("Record %d with no cap: %v", i, err)
		}
	}
}
