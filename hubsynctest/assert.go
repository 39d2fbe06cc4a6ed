package hubsynctest

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// This file holds the Require helpers: assertions for a host that tests its own embedding of
// hubsync against the fakes. Each one stops the test with a single Fatalf naming every mismatch,
// and never prints an email address unmasked.

// TB is the part of testing.TB the Require helpers use; *testing.T and *testing.B satisfy it, and
// so does a recorder in a test of the helpers themselves. The helpers call Helper, then Fatalf once
// on failure, and return right after it (a recorder's Fatalf need not stop the goroutine).
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// RequireContact checks that the fake HubSpot holds a live contact for email (its primary or an
// additional email) whose properties have the values in want; a want of "" means the property is
// unset or empty. Properties not in want are not checked. It returns the contact.
func RequireContact(t TB, hs *hubspottest.Server, email string, want map[string]string) hubspottest.Contact {
	t.Helper()
	c, ok := hs.Contact(email)
	if !ok {
		t.Fatalf("hubsynctest: HubSpot holds no contact for %s", hubsync.MaskEmail(email))
		return hubspottest.Contact{}
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		got, set := c.Properties[k]
		if got == want[k] {
			continue
		}
		g := "unset"
		if set {
			g = fmt.Sprintf("%q", maskValue(got))
		}
		diffs = append(diffs, fmt.Sprintf("%s: want %q, got %s", k, maskValue(want[k]), g))
	}
	if len(diffs) > 0 {
		t.Fatalf("hubsynctest: HubSpot contact %s (id %s): %d of %d properties differ:\n\t%s",
			hubsync.MaskEmail(email), c.ID, len(diffs), len(want), strings.Join(diffs, "\n\t"))
	}
	return c
}

// RequireNoContact checks that the fake HubSpot holds no live contact for email (its primary or
// an additional email): the learner never reached HubSpot, or its contact was deleted.
func RequireNoContact(t TB, hs *hubspottest.Server, email string) {
	t.Helper()
	if c, ok := hs.Contact(email); ok {
		t.Fatalf("hubsynctest: HubSpot holds contact %s for %s, want none", c.ID, hubsync.MaskEmail(email))
	}
}

// RequireTimelineEvents checks that the timeline events the fake HubSpot accepted for the contact
// of email are exactly these kinds: order does not matter, counts do (enrolments in two courses
// are two EventEnrolled). No kinds means no events, and then a missing contact passes too. An
// event's kind is the "kind" property the engine sends with every event; an event without one (not
// sent by hubsync) counts as its template id or type name. It returns the contact's events in
// arrival order.
func RequireTimelineEvents(t TB, hs *hubspottest.Server, email string, kinds ...hubsync.EventKind) []hubspottest.TimelineEvent {
	t.Helper()
	c, ok := hs.Contact(email)
	if !ok {
		if len(kinds) > 0 {
			t.Fatalf("hubsynctest: HubSpot holds no contact for %s, want timeline events %s",
				hubsync.MaskEmail(email), countKinds(kinds))
		}
		return nil
	}
	var events []hubspottest.TimelineEvent
	var got []hubsync.EventKind
	for _, ev := range hs.TimelineEvents() {
		if ev.ObjectID != c.ID {
			continue
		}
		events = append(events, ev)
		k := hubsync.EventKind(ev.Properties["kind"])
		if k == "" {
			k = hubsync.EventKind(ev.Type)
		}
		got = append(got, k)
	}
	want, have := countKinds(kinds), countKinds(got)
	if want != have {
		t.Fatalf("hubsynctest: timeline events of HubSpot contact %s (id %s): want %s, got %s",
			hubsync.MaskEmail(email), c.ID, want, have)
	}
	return events
}

// countKinds writes kinds as a sorted list with counts, e.g. "[enrolled_in_course x2, signed_up]",
// so two lists compare equal when they hold the same kinds as often.
func countKinds(kinds []hubsync.EventKind) string {
	n := map[hubsync.EventKind]int{}
	for _, k := range kinds {
		n[k]++
	}
	parts := make([]string, 0, len(n))
	for _, k := range slices.Sorted(maps.Keys(n)) {
		if n[k] == 1 {
			parts = append(parts, string(k))
		} else {
			parts = append(parts, fmt.Sprintf("%s x%d", k, n[k]))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// RequireQueueDrained checks that school has no work left in q: no ready, scheduled or leased
// job, and no dead letter. On failure it names the counts and, for each dead letter, its id, kind,
// attempts and last error. A Queue error fails the test too.
func RequireQueueDrained(ctx context.Context, t TB, q hubsync.Queue, school hubsync.SchoolID) {
	t.Helper()
	st, err := q.Stats(ctx, school)
	if err != nil {
		t.Fatalf("hubsynctest: queue stats of school %s: %v", school, err)
		return
	}
	if st == (hubsync.QueueStats{}) {
		return
	}
	msg := fmt.Sprintf("hubsynctest: queue of school %s not drained: %d ready, %d scheduled, %d leased, %d dead",
		school, st.Ready, st.Scheduled, st.Leased, st.Dead)
	if st.Dead > 0 {
		dead, err := q.DeadLetters(ctx, school)
		if err != nil {
			msg += fmt.Sprintf("\n\t(dead letters unreadable: %v)", err)
		}
		for _, j := range dead {
			msg += fmt.Sprintf("\n\tdead job %d (%s, %d attempts): %s", j.ID, j.Kind, j.Attempts, j.LastError)
		}
	}
	t.Fatalf("%s", msg)
}

// RequireLearner checks that the in-memory LMS holds a learner of school with email, whose fields
// have the values in want. Keys are field names as Learners.Update takes them: "email" and
// "username" are the learner's Email and Username, any other key an entry of its Values. Values
// compare with reflect.DeepEqual, so a number must have the type the engine writes (float64 for
// TypeNumber); a want of nil means the value is absent. Fields not in want are not checked. It
// returns the learner.
func RequireLearner(t TB, lms *Learners, school hubsync.SchoolID, email string, want map[string]any) hubsync.Learner {
	t.Helper()
	ln, ok := lms.Get(school, email)
	if !ok {
		t.Fatalf("hubsynctest: school %s has no learner %s", school, hubsync.MaskEmail(email))
		return hubsync.Learner{}
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		var got any
		set := true
		switch k {
		case "email":
			got = ln.Email
		case "username":
			got = ln.Username
		default:
			got, set = ln.Values[k]
		}
		if reflect.DeepEqual(got, want[k]) {
			continue
		}
		g := "unset"
		if set {
			g = describe(got)
		}
		diffs = append(diffs, fmt.Sprintf("%s: want %s, got %s", k, describe(want[k]), g))
	}
	if len(diffs) > 0 {
		t.Fatalf("hubsynctest: learner %s (id %s) of school %s: %d of %d fields differ:\n\t%s",
			hubsync.MaskEmail(email), ln.ID, school, len(diffs), len(want), strings.Join(diffs, "\n\t"))
	}
	return ln
}

// describe shows a value with its type, so 2020 (int) and 2020 (float64) read differently;
// strings holding an email are masked.
func describe(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", maskValue(s))
	}
	if v == nil {
		return "nil"
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

// maskValue masks every email address in a property value (HubSpot keeps several in one, separated
// by ";", in hs_additional_emails); a value without "@" is returned as it is.
func maskValue(v string) string {
	if !strings.Contains(v, "@") {
		return v
	}
	parts := strings.Split(v, ";")
	for i, p := range parts {
		if strings.Contains(p, "@") {
			parts[i] = hubsync.MaskEmail(strings.TrimSpace(p))
		}
	}
	return strings.Join(parts, ";")
}
