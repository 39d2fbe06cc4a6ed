package hubsync_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hubsync/hubsync"
)

// killAs queues a once-event job exactly as Record does for a, takes it and dead-letters it.
func killAs(t *testing.T, h *harness, a hubsync.Activity, cause string) int64 {
	t.Helper()
	a.Email = hubsync.FoldEmail(a.Email)
	b, _ := json.Marshal(a)
	spec := hubsync.JobSpec{School: school, Kind: hubsync.JobEvent, Key: "event|" + a.OccurrenceID(school), Payload: b, Priority: hubsync.PriorityLive}
	if err := h.store.Enqueue(h.ctx, spec); err != nil {
		t.Fatal(err)
	}
	jobs, err := h.store.Dequeue(h.ctx, hubsync.DequeueOptions{Kinds: []hubsync.JobKind{hubsync.JobEvent}})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("dequeue: %v, %d jobs", err, len(jobs))
	}
	if err := h.store.Kill(h.ctx, jobs[0], cause); err != nil {
		t.Fatal(err)
	}
	return jobs[0].ID
}

func timelineRequests(h *harness) int {
	n := 0
	for route, c := range h.hs.Stats().ByRoute {
		if strings.Contains(route, "timeline") || strings.Contains(route, "events") {
			n += c
		}
	}
	return n
}

// A replayed dead letter runs under the same once-ledger: a sign-up that was sent before its job
// died is, replayed, still one timeline event in HubSpot; a second report of the sign-up, dead
// and replayed, loses the ledger and sends nothing. Dead letters are listed masked; discard
// deletes them.
func TestReplayDeadOnceEventSendsOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	email := "ann.lee@school.example"
	sign := hubsync.Activity{Kind: hubsync.EventSignedUp, Email: email, SourceID: "wh-1", At: h.clk.Now()}
	h.record(sign)
	h.run()
	if n := len(h.hs.TimelineEvents()); n != 1 {
		t.Fatalf("%d timeline events after the sign-up, want 1", n)
	}

	// The same job, dead after it was sent (its ack lost, say).
	id := killAs(t, h, sign, "hubspot: 503 for ann.lee@school.example")
	dead, err := h.eng.DeadLetters(h.ctx, school)
	if err != nil || len(dead) != 1 || dead[0].ID != id || dead[0].Kind != hubsync.JobEvent {
		t.Fatalf("DeadLetters = %+v, %v", dead, err)
	}
	b, _ := json.Marshal(dead)
	if strings.Contains(string(b), email) || !strings.Contains(string(b), "a***@school.example") {
		t.Fatalf("dead letters are not masked: %s", b)
	}
	if n, err := h.eng.ReplayDead(h.ctx, school, hubsync.DeadFilter{ID: id}); n != 1 || err != nil {
		t.Fatalf("ReplayDead = %d, %v", n, err)
	}
	h.run()
	if n := len(h.hs.TimelineEvents()); n != 1 {
		t.Fatalf("%d timeline events after the replay, want 1", n)
	}

	// A second report of the sign-up loses the ledger: replayed by reason, it sends nothing.
	second := sign
	second.SourceID, second.At = "wh-2", sign.At.Add(1e9)
	killAs(t, h, second, "hubspot: 503 service unavailable")
	h.hs.ResetStats()
	if n, err := h.eng.ReplayDead(h.ctx, school, hubsync.DeadFilter{Reason: "503 SERVICE"}); n != 1 || err != nil {
		t.Fatalf("ReplayDead by reason = %d, %v", n, err)
	}
	h.run()
	if n := len(h.hs.TimelineEvents()); n != 1 {
		t.Fatalf("%d timeline events after replaying a second report, want 1", n)
	}
	if n := timelineRequests(h); n != 0 {
		t.Fatalf("%d timeline requests for a second report the ledger refuses", n)
	}

	// Discard: by id, then all; replay and discard of what is gone are ErrNotFound.
	a := killAs(t, h, second, "x")
	killAs(t, h, sign, "y")
	if n, err := h.eng.DiscardDead(h.ctx, school, hubsync.DeadFilter{ID: a}); n != 1 || err != nil {
		t.Fatalf("DiscardDead(id) = %d, %v", n, err)
	}
	if _, err := h.eng.ReplayDead(h.ctx, school, hubsync.DeadFilter{ID: a}); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("ReplayDead of a discarded job: %v", err)
	}
	if _, err := h.eng.DeadLetter(h.ctx, "other-school", id); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("DeadLetter of another school's id: %v", err)
	}
	if _, err := h.eng.DiscardDead(h.ctx, school, hubsync.DeadFilter{}); !errors.Is(err, hubsync.ErrInvalidValue) {
		t.Fatalf("DiscardDead with no filter: %v", err)
	}
	if n, err := h.eng.DiscardDead(h.ctx, school, hubsync.DeadFilter{All: true}); n != 1 || err != nil {
		t.Fatalf("DiscardDead(all) = %d, %v", n, err)
	}
	if dead, _ := h.eng.DeadLetters(h.ctx, school); len(dead) != 0 {
		t.Fatalf("dead letters after discarding all: %+v", dead)
	}
	h.run()
	if n := len(h.hs.TimelineEvents()); n != 1 {
		t.Fatalf("%d timeline events at the end, want 1", n)
	}
}

func TestMaskEmails(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                                  "",
		"no address here":                   "no address here",
		"ann@x.example and bob.l@y.example": "a***@x.example and b***@y.example",
		`{"email":"Ann+1@X.example"}`:       `{"email":"A***@X.example"}`,
		"contact|ann@x.example|registered":  "contact|a***@x.example|registered",
	} {
		if got := hubsync.MaskEmails(in); got != want {
			t.Errorf("MaskEmails(%q) = %q, want %q", in, got, want)
		}
	}
}
