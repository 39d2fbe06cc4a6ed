package hubsync

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOutboundChanges(t *testing.T) {
	t.Parallel()
	row := func(field, prop string, typ FieldType) RowReport {
		return RowReport{Mapping: Mapping{LMSField: field, HubSpotProperty: prop}, Type: typ, Valid: true}
	}
	rows := []RowReport{
		row("email", "email", TypeString),
		row("cf_city", "city", TypeString),
		row("cf_score", "score", TypeNumber),
		row("cf_joined", "joined_on", TypeDate),
	}
	joined := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		learner  Learner
		sent     map[string]string
		want     map[string]string
		failures []string // substrings, one per failure
	}{
		{"new learner: every non-empty value",
			Learner{Email: "A@X.com ", Values: map[string]any{"cf_city": "Oslo", "cf_score": 0.1 + 0.2, "cf_joined": joined}}, nil,
			map[string]string{"email": "a@x.com", "city": "Oslo", "score": "0.3", "joined_on": "2026-03-04"}, nil},
		{"nothing changed since the last write",
			Learner{Email: "a@x.com", Values: map[string]any{"cf_city": "Oslo"}},
			map[string]string{"email": "a@x.com", "city": "Oslo"},
			map[string]string{}, nil},
		{"one value changed",
			Learner{Email: "a@x.com", Values: map[string]any{"cf_city": "Bergen"}},
			map[string]string{"email": "a@x.com", "city": "Oslo"},
			map[string]string{"city": "Bergen"}, nil},
		{"empty clears what the engine wrote",
			Learner{Email: "a@x.com", Values: map[string]any{"cf_city": ""}},
			map[string]string{"email": "a@x.com", "city": "Oslo"},
			map[string]string{"city": ""}, nil},
		{"empty never clears what the engine did not write",
			Learner{Email: "a@x.com", Values: map[string]any{"cf_city": nil, "cf_score": ""}},
			map[string]string{"email": "a@x.com"},
			map[string]string{}, nil},
		{"a value that does not convert fails its row only",
			Learner{Email: "a@x.com", Values: map[string]any{"cf_city": "Oslo", "cf_score": "not a number"}},
			map[string]string{"email": "a@x.com"},
			map[string]string{"city": "Oslo"}, []string{"cf_score"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, failures := outboundChanges(rows, tc.learner, tc.sent)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("props (-want +got):\n%s", d)
			}
			if len(failures) != len(tc.failures) {
				t.Fatalf("failures = %q, want %d", failures, len(tc.failures))
			}
			for i, f := range failures {
				if !strings.Contains(f, tc.failures[i]) {
					t.Errorf("failure %d = %q, want it to name %q", i, f, tc.failures[i])
				}
			}
		})
	}
}

func TestLMSWins(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	sent := map[string]string{"city": "Oslo"}
	for _, tc := range []struct {
		name        string
		sent        map[string]string
		hs, lms     string
		lmsAt, hsAt time.Time
		want        bool
		why         string
	}{
		{"never synced: HubSpot's value goes in", nil, "Bergen", "Oslo", t0, t0, false, "no record of a sync"},
		{"only the LMS changed", sent, "Oslo", "Paris", t0, t0, true, "HubSpot still holds what the engine wrote"},
		{"only HubSpot changed", sent, "Bergen", "Oslo", t0, t0, false, "the LMS still holds what the engine wrote"},
		{"both changed, LMS later", sent, "Bergen", "Paris", t0.Add(time.Minute), t0, true, "most recent wins"},
		{"both changed, HubSpot later", sent, "Bergen", "Paris", t0, t0.Add(time.Minute), false, "most recent wins"},
		{"both changed, LMS time unknown", sent, "Bergen", "Paris", time.Time{}, t0, false, "only HubSpot's time is known"},
	} {
		if got := lmsWins(tc.sent, "city", tc.hs, tc.lms, tc.lmsAt, tc.hsAt); got != tc.want {
			t.Errorf("%s: lmsWins = %v, want %v (%s)", tc.name, got, tc.want, tc.why)
		}
	}
}
