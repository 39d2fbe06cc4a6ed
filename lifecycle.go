package hubsync

import "fmt"

// HubSpot's default lifecycle stages, by internal value, in their forward order. Always write the
// internal value, never the label.
const (
	StageSubscriber  = "subscriber"
	StageLead        = "lead"
	StageMQL         = "marketingqualifiedlead"
	StageSQL         = "salesqualifiedlead"
	StageOpportunity = "opportunity"
	StageCustomer    = "customer"
	StageEvangelist  = "evangelist"
	// StageOther is HubSpot's catch-all default stage, last in its order: hubsync never moves a
	// contact out of it.
	StageOther = "other"
)

// LifecycleProperty is the HubSpot contact property holding the stage.
const LifecycleProperty = "lifecyclestage"

var stageRank = map[string]int{
	StageSubscriber: 1, StageLead: 2, StageMQL: 3, StageSQL: 4, StageOpportunity: 5, StageCustomer: 6, StageEvangelist: 7, StageOther: 8,
}

// LifecycleStages lists the default stages in order.
func LifecycleStages() []string {
	return []string{StageSubscriber, StageLead, StageMQL, StageSQL, StageOpportunity, StageCustomer, StageEvangelist, StageOther}
}

// LifecycleTrigger is what happened to a learner, as far as the lifecycle stage cares.
type LifecycleTrigger string

// The triggers of the seed's lifecycle cases.
const (
	// TriggerRegistered: the learner signed up (or was first synced) without purchasing.
	TriggerRegistered LifecycleTrigger = "registered"
	// TriggerEnrolled: the learner enrolled in a course.
	TriggerEnrolled LifecycleTrigger = "enrolled"
	// TriggerPurchased: the learner made a purchase.
	TriggerPurchased LifecycleTrigger = "purchased"
	// TriggerRegisteredAndPurchased: the learner signed up and purchased at once.
	TriggerRegisteredAndPurchased LifecycleTrigger = "registered_and_purchased"
)

// Validate reports an unknown trigger.
func (t LifecycleTrigger) Validate() error {
	switch t {
	case TriggerRegistered, TriggerEnrolled, TriggerPurchased, TriggerRegisteredAndPurchased:
		return nil
	}
	return fmt.Errorf("%w: unknown lifecycle trigger %q", ErrInvalidValue, string(t))
}

// LifecycleRule decides the lifecycle stage to write. LearnWorlds only ever sets Lead and
// Customer; other stages are the school's to set by hand in HubSpot.
type LifecycleRule struct {
	// UpdateStage is the school's "Update Lifecycle Stage" setting.
	UpdateStage bool
}

// Next returns the stage to write for a contact whose current stage is current ("" when the
// contact is new or has none) after trigger, and false when nothing should be written.
//
// The seed's cases:
//   - Case 1, setting off: registering (alone, or with an enrolment at the same time) syncs the
//     contact as Lead; later enrolments and purchases leave the stage alone.
//   - Case 2a, setting on: registering without purchasing gives Lead; a later enrolment or purchase
//     moves Lead to Customer.
//   - Case 2b, setting on: registering and purchasing at once gives Customer.
//
// Stages only move forward (subscriber < lead < MQL < SQL < opportunity < customer < evangelist <
// other, HubSpot's default order):
// a stage at or past the target is kept, and a stage that is not one of HubSpot's defaults (a
// school's custom stage, whose place in the order hubsync cannot know) is never overwritten. An
// unknown trigger writes nothing.
func (r LifecycleRule) Next(trigger LifecycleTrigger, current string) (string, bool) {
	var target string
	switch trigger {
	case TriggerRegistered:
		target = StageLead
	case TriggerRegisteredAndPurchased:
		target = StageLead
		if r.UpdateStage {
			target = StageCustomer
		}
	case TriggerEnrolled, TriggerPurchased:
		if !r.UpdateStage {
			// With the setting off the stage is only set when the contact has none yet.
			if current != "" {
				return "", false
			}
			target = StageLead
		} else {
			target = StageCustomer
		}
	default:
		return "", false
	}
	if current == "" {
		return target, true
	}
	rank, known := stageRank[current]
	if !known || rank >= stageRank[target] {
		return "", false
	}
	return target, true
}

// StageBefore reports whether stage a comes before stage b in the default order; false when either
// is not a default stage.
func StageBefore(a, b string) bool {
	ra, oka := stageRank[a]
	rb, okb := stageRank[b]
	return oka && okb && ra < rb
}
