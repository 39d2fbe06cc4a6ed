package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hubsync/hubsync"
)

// The cases of the retention methods, Store.ForgetWebhooksBefore and Store.ForgetSyncLogBefore
// (testWebhookDedupe in store_cases.go checks the first on a few records).

// backlog is how many old rows the backlog cases prune at once: more than any delete chunk a
// store is likely to use (the SQL stores of this module delete 5,000 rows per statement).
const backlog = 12_001

// logAt is an entry of school at epoch+d, its email naming both.
func logAt(school hubsync.SchoolID, d time.Duration) hubsync.SyncLogEntry {
	return hubsync.SyncLogEntry{School: school, At: epoch.Add(d), Direction: hubsync.DirectionToHubSpot,
		Email: fmt.Sprintf("%s-%v@example.com", school, d), Outcome: hubsync.OutcomeUpdated}
}

// wantLog fails t unless school's whole log is want (newest first), IDs ignored.
func wantLog(t *testing.T, x fixture, school hubsync.SchoolID, want ...hubsync.SyncLogEntry) {
	t.Helper()
	got, err := x.s.ListSyncLog(x.ctx, school, hubsync.LogFilter{Limit: 1000})
	must(t, "ListSyncLog of "+string(school), err)
	if d := cmp.Diff(want, got, equateEmpty, cmpopts.IgnoreFields(hubsync.SyncLogEntry{}, "ID")); d != "" {
		t.Fatalf("log of %s mismatch (-want +got):\n%s", school, d)
	}
}

// testSyncLogRetention: ForgetSyncLogBefore deletes the entries of every school before t and
// keeps the one at t and all after, and a second call finds nothing.
func testSyncLogRetention(t *testing.T, x fixture) {
	n, err := x.s.ForgetSyncLogBefore(x.ctx, epoch)
	must(t, "ForgetSyncLogBefore of an empty log", err)
	mustEqual(t, "forgotten from an empty log", n, 0)

	a0, a1, a2 := logAt("a", 0), logAt("a", time.Hour), logAt("a", 2*time.Hour)
	b0, b2 := logAt("b", 0), logAt("b", 2*time.Hour)
	must(t, "AppendSyncLog", x.s.AppendSyncLog(x.ctx, a0, b0, a1, a2, b2))
	// Appended now with a zero At: stamped with the clock's time, epoch, so before epoch+1h too.
	x.clk.Advance(time.Millisecond)
	must(t, "AppendSyncLog with zero At", x.s.AppendSyncLog(x.ctx, hubsync.SyncLogEntry{School: "a", Direction: hubsync.DirectionToLMS, Email: "z@example.com", Outcome: hubsync.OutcomeFailed}))

	n, err = x.s.ForgetSyncLogBefore(x.ctx, epoch.Add(time.Hour))
	must(t, "ForgetSyncLogBefore", err)
	mustEqual(t, "forgotten count", n, 3) // a0, b0 and the zero-At one; a1 is at t, not before
	wantLog(t, x, "a", a2, a1)
	wantLog(t, x, "b", b2)
	failed, err := x.s.ListSyncLog(x.ctx, "a", hubsync.LogFilter{Outcome: hubsync.OutcomeFailed})
	must(t, "ListSyncLog of failures", err)
	mustEqual(t, "failures left", len(failed), 0)

	n, err = x.s.ForgetSyncLogBefore(x.ctx, epoch.Add(time.Hour))
	must(t, "ForgetSyncLogBefore again", err)
	mustEqual(t, "forgotten the second time", n, 0)

	// The log goes on after a prune: new entries get distinct, non-zero IDs.
	a3 := logAt("a", 3*time.Hour)
	must(t, "AppendSyncLog after the prune", x.s.AppendSyncLog(x.ctx, a3))
	got, err := x.s.ListSyncLog(x.ctx, "a", hubsync.LogFilter{})
	must(t, "ListSyncLog after the prune", err)
	if len(got) != 3 || got[0].ID == 0 || got[0].ID == got[1].ID || got[0].ID == got[2].ID {
		t.Fatalf("log after a prune and an append = %+v, want a3, a2, a1 with distinct non-zero IDs", got)
	}
	wantLog(t, x, "a", a3, a2, a1)
}

// testForgetBacklog: a backlog of many old records goes in one call, and the new ones stay.
func testForgetBacklog(t *testing.T, x fixture) {
	entries := make([]hubsync.SyncLogEntry, 0, backlog+1)
	for i := range backlog {
		school := hubsync.SchoolID("a")
		if i%3 == 0 {
			school = "b"
		}
		entries = append(entries, logAt(school, time.Duration(i)*time.Millisecond))
	}
	keep := logAt("a", time.Hour)
	entries = append(entries, keep)
	must(t, "AppendSyncLog of the backlog", x.s.AppendSyncLog(x.ctx, entries...))
	n, err := x.s.ForgetSyncLogBefore(x.ctx, epoch.Add(time.Minute))
	must(t, "ForgetSyncLogBefore of the backlog", err)
	mustEqual(t, "sync log entries forgotten", n, backlog)
	wantLog(t, x, "a", keep)
	wantLog(t, x, "b")

	mark := func(s hubsync.Store) error {
		for i := range backlog {
			if _, err := s.MarkWebhookSeen(x.ctx, "hubspot", fmt.Sprintf("old-%d", i), epoch.Add(time.Duration(i)*time.Millisecond)); err != nil {
				return err
			}
		}
		_, err := s.MarkWebhookSeen(x.ctx, "learnworlds", "new", epoch.Add(time.Hour))
		return err
	}
	if tx, ok := x.s.(hubsync.Transactor); ok { // one transaction: quicker
		must(t, "MarkWebhookSeen of the backlog", tx.RunInTx(x.ctx, func(_ context.Context, s hubsync.Store, _ hubsync.Queue) error { return mark(s) }))
	} else {
		must(t, "MarkWebhookSeen of the backlog", mark(x.s))
	}
	n, err = x.s.ForgetWebhooksBefore(x.ctx, epoch.Add(time.Minute))
	must(t, "ForgetWebhooksBefore of the backlog", err)
	mustEqual(t, "webhook records forgotten", n, backlog)
	first, err := x.s.MarkWebhookSeen(x.ctx, "hubspot", "old-0", epoch.Add(2*time.Hour))
	must(t, "MarkWebhookSeen of a forgotten id", err)
	mustEqual(t, "a forgotten id is new again", first, true)
	first, err = x.s.MarkWebhookSeen(x.ctx, "learnworlds", "new", epoch.Add(2*time.Hour))
	must(t, "MarkWebhookSeen of a kept id", err)
	mustEqual(t, "a kept id is still seen", first, false)
}

// testForgetInTx: inside RunInTx both deletes see the transaction's own writes, and a rollback
// brings back what they deleted.
func testForgetInTx(t *testing.T, x fixture) {
	tr := transactor(t, x)
	old := logAt("a", 0)
	must(t, "AppendSyncLog", x.s.AppendSyncLog(x.ctx, old))
	_, err := x.s.MarkWebhookSeen(x.ctx, "hubspot", "e1", epoch)
	must(t, "MarkWebhookSeen", err)
	err = tr.RunInTx(x.ctx, func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error {
		if err := s.AppendSyncLog(ctx, logAt("a", time.Second)); err != nil {
			return err
		}
		if _, err := s.MarkWebhookSeen(ctx, "hubspot", "e2", epoch.Add(time.Second)); err != nil {
			return err
		}
		logs, err := s.ForgetSyncLogBefore(ctx, epoch.Add(time.Minute))
		if err != nil {
			return err
		}
		hooks, err := s.ForgetWebhooksBefore(ctx, epoch.Add(time.Minute))
		if err != nil {
			return err
		}
		if logs != 2 || hooks != 2 {
			t.Errorf("inside the transaction the deletes counted %d entries and %d records, want 2 and 2 (their own writes included)", logs, hooks)
		}
		return errTxTest
	})
	if !errors.Is(err, errTxTest) {
		t.Fatalf("RunInTx: err = %v, want fn's error", err)
	}
	wantLog(t, x, "a", old)
	first, err := x.s.MarkWebhookSeen(x.ctx, "hubspot", "e1", epoch.Add(time.Hour))
	must(t, "MarkWebhookSeen after the rollback", err)
	mustEqual(t, "a record deleted in a rolled-back transaction is still seen", first, false)
}

// testForgetRace: racing ForgetSyncLogBefore and ForgetWebhooksBefore callers delete each row
// once: their counts add up to the rows that were there.
func testForgetRace(t *testing.T, x fixture) {
	const rows = 2_000
	entries := make([]hubsync.SyncLogEntry, rows)
	for i := range entries {
		entries[i] = logAt("a", time.Duration(i)*time.Millisecond)
	}
	must(t, "AppendSyncLog", x.s.AppendSyncLog(x.ctx, entries...))
	for i := range rows / 10 {
		_, err := x.s.MarkWebhookSeen(x.ctx, "hubspot", fmt.Sprintf("e%d", i), epoch)
		must(t, "MarkWebhookSeen", err)
	}
	logs, hooks := make([]int, racers), make([]int, racers)
	errs := make([]error, racers)
	raceN(racers, func(i int) {
		var err error
		logs[i], err = x.s.ForgetSyncLogBefore(x.ctx, epoch.Add(time.Hour))
		hooks[i], errs[i] = x.s.ForgetWebhooksBefore(x.ctx, epoch.Add(time.Hour))
		errs[i] = errors.Join(err, errs[i])
	})
	sumLogs, sumHooks := 0, 0
	for i := range racers {
		must(t, "racing Forget", errs[i])
		sumLogs += logs[i]
		sumHooks += hooks[i]
	}
	mustEqual(t, "sync log entries forgotten by all racers", sumLogs, rows)
	mustEqual(t, "webhook records forgotten by all racers", sumHooks, rows/10)
	wantLog(t, x, "a")
}
