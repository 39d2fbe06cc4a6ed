package hubsync

import (
	"slices"
	"testing"
)

func TestSchoolHealth(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		st   SchoolStatus
		want []string
	}{
		{"healthy", SchoolStatus{Connected: true}, nil},
		{"never connected", SchoolStatus{}, nil},
		{"lost", SchoolStatus{Deactivated: true, DeactivatedReason: "revoked"}, []string{ProblemConnectionLost}},
		{"invalid rows", SchoolStatus{Connected: true, MappingWarning: "1 row is invalid"}, []string{ProblemInvalidMapping}},
		{"dead jobs", SchoolStatus{Connected: true, Queue: QueueStats{Dead: 2, Ready: 5}}, []string{ProblemDeadJobs}},
		{"only ready jobs", SchoolStatus{Connected: true, Queue: QueueStats{Ready: 5, Scheduled: 1}}, nil},
		{"all three", SchoolStatus{Deactivated: true, MappingWarning: "w", Queue: QueueStats{Dead: 1}},
			[]string{ProblemConnectionLost, ProblemInvalidMapping, ProblemDeadJobs}},
	} {
		st := c.st
		st.health()
		var got []string
		for _, p := range st.Problems {
			got = append(got, p.Code)
			if p.Message == "" {
				t.Errorf("%s: problem %s has no message", c.name, p.Code)
			}
		}
		if !slices.Equal(got, c.want) || st.Degraded != (len(c.want) > 0) {
			t.Errorf("%s: degraded %v problems %v, want %v", c.name, st.Degraded, got, c.want)
		}
	}
}
