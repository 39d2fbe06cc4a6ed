package hubsync

import "testing"

func TestLifecycleRuleSeedCases(t *testing.T) {
	t.Parallel()
	off, on := LifecycleRule{UpdateStage: false}, LifecycleRule{UpdateStage: true}
	tests := []struct {
		name    string
		rule    LifecycleRule
		trigger LifecycleTrigger
		current string
		want    string // "" = write nothing
	}{
		// Case 1: the checkbox is off.
		{"1: registers, new contact", off, TriggerRegistered, "", StageLead},
		{"1: registers and enrolls at once", off, TriggerEnrolled, "", StageLead},
		{"1: registers and purchases at once stays Lead", off, TriggerRegisteredAndPurchased, "", StageLead},
		{"1: later enrolment leaves Lead", off, TriggerEnrolled, StageLead, ""},
		{"1: later purchase leaves Lead", off, TriggerPurchased, StageLead, ""},
		// Case 2a: on, registration alone, then enrolment.
		{"2a: registers only", on, TriggerRegistered, "", StageLead},
		{"2a: enrolls later: Lead to Customer", on, TriggerEnrolled, StageLead, StageCustomer},
		{"2a: purchases later: Lead to Customer", on, TriggerPurchased, StageLead, StageCustomer},
		// Case 2b: on, registers and purchases at once.
		{"2b: registers and purchases at once", on, TriggerRegisteredAndPurchased, "", StageCustomer},
		// Forward only.
		{"subscriber moves up to Lead", on, TriggerRegistered, StageSubscriber, StageLead},
		{"MQL moves up to Customer on purchase", on, TriggerPurchased, StageMQL, StageCustomer},
		{"opportunity is not pulled back to Lead", on, TriggerRegistered, StageOpportunity, ""},
		{"evangelist is not pulled back to Customer", on, TriggerPurchased, StageEvangelist, ""},
		{"customer stays customer", on, TriggerEnrolled, StageCustomer, ""},
		{"lead re-registering writes nothing", on, TriggerRegistered, StageLead, ""},
		{"custom stage never overwritten", on, TriggerPurchased, "1234567", ""},
		{"other is never left", on, TriggerPurchased, StageOther, ""},
		{"custom stage never overwritten (off)", off, TriggerRegistered, "partner", ""},
		{"unknown trigger writes nothing", on, LifecycleTrigger("refunded"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.rule.Next(tt.trigger, tt.current)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("Next(%q, %q) = %q, %v; want %q", tt.trigger, tt.current, got, ok, tt.want)
			}
		})
	}
}

func TestLifecycleStagesOrder(t *testing.T) {
	t.Parallel()
	st := LifecycleStages()
	for i := 1; i < len(st); i++ {
		if !StageBefore(st[i-1], st[i]) || StageBefore(st[i], st[i-1]) {
			t.Errorf("order broken between %s and %s", st[i-1], st[i])
		}
	}
	if StageBefore("custom", StageLead) || StageBefore(StageLead, "custom") {
		t.Error("a custom stage compared as ordered")
	}
	for _, tr := range []LifecycleTrigger{TriggerRegistered, TriggerEnrolled, TriggerPurchased, TriggerRegisteredAndPurchased} {
		if err := tr.Validate(); err != nil {
			t.Error(err)
		}
	}
	if LifecycleTrigger("x").Validate() == nil {
		t.Error("unknown trigger validated")
	}
}
