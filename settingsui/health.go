package settingsui

import (
	"context"
	"maps"
	"slices"

	"github.com/hubsync/hubsync"
)

// healthView is the sync health section: learners excluded (by reason) and failing, dead jobs,
// and the first failing learners (emails masked).
type healthView struct {
	Failing  int
	Excluded []exclusionCount
	Capped   bool
	DeadJobs int
	First    []failingView
}

type exclusionCount struct {
	Label string
	N     int
}

type failingView struct{ Email, Reason string }

var exclusionLabels = map[hubsync.Exclusion]string{
	hubsync.ExcludedNoConsent:    "no marketing consent (GDPR toolkit)",
	hubsync.ExcludedNoEmail:      "no email",
	hubsync.ExcludedInvalidEmail: "invalid email",
	hubsync.ExcludedNoContact:    "no HubSpot contact with the email",
	hubsync.ExcludedOther:        "other reasons",
}

// healthSection reads the school's sync health summary (hubsync.Engine.SyncHealthSummary).
func (h *Handler) healthSection(ctx context.Context, school hubsync.SchoolID) (*healthView, error) {
	sum, err := h.eng.SyncHealthSummary(ctx, school)
	if err != nil {
		return nil, err
	}
	v := &healthView{Failing: sum.Failing, Capped: sum.Capped, DeadJobs: sum.DeadJobs}
	for _, k := range slices.Sorted(maps.Keys(sum.Excluded)) {
		v.Excluded = append(v.Excluded, exclusionCount{Label: exclusionLabels[k], N: sum.Excluded[k]})
	}
	for _, f := range sum.FirstFailing {
		em := "a learner without an email"
		if f.Email != "" {
			em = hubsync.MaskEmail(f.Email)
		}
		v.First = append(v.First, failingView{Email: em, Reason: hubsync.MaskEmails(f.Describe())})
	}
	return v, nil
}
