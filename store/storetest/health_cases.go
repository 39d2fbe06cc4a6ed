package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
)

// healthCases check the sync health records, the sync state walk and Discard.
var healthCases = []testCase{
	{"SyncHealthPutDeleteList", testSyncHealth},
	{"SyncHealthCursorPages", testSyncHealthPages},
	{"SyncHealthRejects", testSyncHealthRejects},
	{"SyncHealthInTxRollsBack", testSyncHealthTx},
	{"ListSyncStatesPages", testListSyncStates},
	{"DiscardDeadJob", testDiscard},
}

func health(email, learner string, dir hubsync.Direction, st hubsync.HealthStatus, ex hubsync.Exclusion, reason string) hubsync.HealthEntry {
	return hubsync.HealthEntry{School: "a", Email: email, LearnerID: learner, Direction: dir, Status: st, Exclusion: ex, Reason: reason, At: epoch}
}

func listHealth(t *testing.T, x fixture, f hubsync.HealthFilter) []hubsync.HealthEntry {
	t.Helper()
	got, err := x.s.ListSyncHealth(x.ctx, "a", f)
	must(t, "ListSyncHealth", err)
	return got
}

func testSyncHealth(t *testing.T, x fixture) {
	mustEqual(t, "health of an empty store", listHealth(t, x, hubsync.HealthFilter{}), nil)
	to, in := hubsync.DirectionToHubSpot, hubsync.DirectionToLMS
	failing := health("zed@example.com", "", to, hubsync.HealthFailing, "", "hubspot: 400 INVALID_EMAIL")
	noConsent := health("Bob@Example.com ", "", to, hubsync.HealthExcluded, hubsync.ExcludedNoConsent, "")
	noEmail := health("", "L7", to, hubsync.HealthExcluded, hubsync.ExcludedNoEmail, "")
	noContact := health("bob@example.com", "", in, hubsync.HealthExcluded, hubsync.ExcludedNoContact, "")
	other := failing
	other.School = "b"
	must(t, "PutSyncHealth", x.s.PutSyncHealth(x.ctx, failing, noConsent, noEmail, noContact, other))
	must(t, "PutSyncHealth of none", x.s.PutSyncHealth(x.ctx))
	noConsent.Email = "bob@example.com" // stored folded
	mustEqual(t, "all of school a, by email, learner, direction", listHealth(t, x, hubsync.HealthFilter{}),
		[]hubsync.HealthEntry{noEmail, noConsent, noContact, failing})
	mustEqual(t, "failing", listHealth(t, x, hubsync.HealthFilter{Status: hubsync.HealthFailing}), []hubsync.HealthEntry{failing})
	mustEqual(t, "to the LMS", listHealth(t, x, hubsync.HealthFilter{Direction: in}), []hubsync.HealthEntry{noContact})

	// A later failure replaces the exclusion; in sync deletes (a missing record included).
	again := health("bob@example.com", "", to, hubsync.HealthFailing, "", "timeout")
	again.At = epoch.Add(time.Minute)
	must(t, "PutSyncHealth replace", x.s.PutSyncHealth(x.ctx, again,
		health("zed@example.com", "", to, hubsync.HealthInSync, "", ""),
		health("nobody@example.com", "", to, hubsync.HealthInSync, "", "")))
	mustEqual(t, "after replace and delete", listHealth(t, x, hubsync.HealthFilter{}),
		[]hubsync.HealthEntry{noEmail, again, noContact})
	// Entries of one key in one call apply in order: the last wins.
	must(t, "PutSyncHealth in order", x.s.PutSyncHealth(x.ctx,
		health("", "L7", to, hubsync.HealthInSync, "", ""),
		health("", "L7", to, hubsync.HealthFailing, "", "second")))
	got := listHealth(t, x, hubsync.HealthFilter{AfterEmail: "", AfterLearner: "", Limit: 1})
	mustEqual(t, "the last put of L7", got[0].Reason, "second")
	mustEqual(t, "school b untouched", len(func() []hubsync.HealthEntry {
		h, err := x.s.ListSyncHealth(x.ctx, "b", hubsync.HealthFilter{})
		must(t, "ListSyncHealth b", err)
		return h
	}()), 1)
}

func testSyncHealthPages(t *testing.T, x fixture) {
	var all []hubsync.HealthEntry
	for i := range 25 {
		for _, dir := range []hubsync.Direction{hubsync.DirectionToHubSpot, hubsync.DirectionToLMS} {
			all = append(all, health(fmt.Sprintf("u%02d@example.com", i), "", dir, hubsync.HealthFailing, "", "boom"))
		}
	}
	must(t, "PutSyncHealth", x.s.PutSyncHealth(x.ctx, all...))
	var got []hubsync.HealthEntry
	f := hubsync.HealthFilter{Limit: 7}
	for range 20 {
		page := listHealth(t, x, f)
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		last := page[len(page)-1]
		f.AfterEmail, f.AfterLearner, f.AfterDirection = last.Email, last.LearnerID, last.Direction
	}
	mustEqual(t, "entries seen walking pages of 7", len(got), 50)
	for i := range got {
		if i > 0 && !(got[i-1].Email < got[i].Email || (got[i-1].Email == got[i].Email && got[i-1].Direction < got[i].Direction)) {
			t.Fatalf("page walk out of order at %d: %+v then %+v", i, got[i-1], got[i])
		}
	}
	mustEqual(t, "default limit", len(listHealth(t, x, hubsync.HealthFilter{})), 50)
}

func testSyncHealthRejects(t *testing.T, x fixture) {
	for _, f := range []hubsync.HealthFilter{{Limit: -1}, {Status: "sideways"}, {Direction: "both"}} {
		if _, err := x.s.ListSyncHealth(x.ctx, "a", f); !errors.Is(err, hubsync.ErrInvalidValue) {
			t.Fatalf("ListSyncHealth(%+v): err = %v, want ErrInvalidValue", f, err)
		}
	}
	bad := health("a@example.com", "", hubsync.DirectionToHubSpot, "sideways", "", "")
	ok := health("b@example.com", "", hubsync.DirectionToHubSpot, hubsync.HealthFailing, "", "x")
	if err := x.s.PutSyncHealth(x.ctx, ok, bad); !errors.Is(err, hubsync.ErrInvalidValue) {
		t.Fatalf("PutSyncHealth of a bad status: err = %v, want ErrInvalidValue", err)
	}
	mustEqual(t, "nothing written", listHealth(t, x, hubsync.HealthFilter{}), nil)
}

func testSyncHealthTx(t *testing.T, x fixture) {
	tx, ok := x.s.(hubsync.Transactor)
	if !ok {
		t.Skip("the store is no Transactor")
	}
	err := tx.RunInTx(x.ctx, func(ctx context.Context, s hubsync.Store, _ hubsync.Queue) error {
		if err := s.PutSyncHealth(ctx, health("a@example.com", "", hubsync.DirectionToHubSpot, hubsync.HealthFailing, "", "x")); err != nil {
			return err
		}
		return errTxTest
	})
	if !errors.Is(err, errTxTest) {
		t.Fatalf("RunInTx: err = %v, want fn's error", err)
	}
	mustEqual(t, "rolled back", listHealth(t, x, hubsync.HealthFilter{}), nil)
}

func testListSyncStates(t *testing.T, x fixture) {
	got, err := x.s.ListSyncStates(x.ctx, "a", "", 10)
	must(t, "ListSyncStates of an empty store", err)
	mustEqual(t, "states", len(got), 0)
	for i := range 12 {
		must(t, "PutSyncState", x.s.PutSyncState(x.ctx, hubsync.SyncState{School: "a", Email: fmt.Sprintf("U%02d@Example.com", 11-i),
			ContactID: fmt.Sprint(i), SentToHubSpot: map[string]string{"firstname": "x"}}))
	}
	must(t, "PutSyncState b", x.s.PutSyncState(x.ctx, hubsync.SyncState{School: "b", Email: "u00@example.com"}))
	var emails []string
	after := ""
	for range 5 {
		page, err := x.s.ListSyncStates(x.ctx, "a", after, 5)
		must(t, "ListSyncStates", err)
		if len(page) == 0 {
			break
		}
		for _, st := range page {
			emails = append(emails, st.Email)
		}
		after = page[len(page)-1].Email
	}
	want := make([]string, 12)
	for i := range want {
		want[i] = fmt.Sprintf("u%02d@example.com", i)
	}
	mustEqual(t, "emails walked in pages of 5", emails, want)
	page, err := x.s.ListSyncStates(x.ctx, "a", "", 1)
	must(t, "ListSyncStates 1", err)
	mustEqual(t, "a state's values", page[0].SentToHubSpot, map[string]string{"firstname": "x"})
	mustEqual(t, "its contact", page[0].ContactID, "11")
	page, err = x.s.ListSyncStates(x.ctx, "a", "", 0)
	must(t, "ListSyncStates default limit", err)
	mustEqual(t, "default limit returns all 12", len(page), 12)
}

func testDiscard(t *testing.T, x fixture) {
	if err := x.q.Discard(x.ctx, 424242); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("Discard of an unknown id: err = %v, want ErrNotFound", err)
	}
	enqueue(t, x, live("a", "k", "poison"))
	id := retryUntilDead(t, x)
	enqueue(t, x, live("a", "k2", "waiting"))
	waiting := dequeueOne(t, x)
	if err := x.q.Discard(x.ctx, waiting.ID); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("Discard of a leased job: err = %v, want ErrNotFound", err)
	}
	stats(t, x, "a", hubsync.QueueStats{Leased: 1, Dead: 1})
	must(t, "Discard", x.q.Discard(x.ctx, id))
	if err := x.q.Discard(x.ctx, id); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("second Discard: err = %v, want ErrNotFound", err)
	}
	if err := x.q.Replay(x.ctx, id); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("Replay of a discarded job: err = %v, want ErrNotFound", err)
	}
	dl, err := x.q.DeadLetters(x.ctx, "a")
	must(t, "DeadLetters", err)
	mustEqual(t, "dead letters after Discard", len(dl), 0)
	stats(t, x, "a", hubsync.QueueStats{Leased: 1})
	must(t, "Ack the leased job", x.q.Ack(x.ctx, waiting))
	// The key of the discarded job takes new work.
	enqueue(t, x, live("a", "k", "fresh"))
	j := dequeueOne(t, x)
	mustEqual(t, "fresh payload", string(j.Payload), "fresh")
}
