package hubsync

// Mapping is one field mapping row: an LMS field to a HubSpot contact property, with a direction
// that counts only in two-way mode.
type Mapping struct {
	// LMSField is the LMS field's catalog key (LearnerField.Key).
	LMSField string `json:"lms_field"`
	// HubSpotProperty is the HubSpot contact property's internal name.
	HubSpotProperty string `json:"hubspot_property"`
	// Direction is the row's own direction in ModeTwoWay ("" = both ways).
	Direction Direction `json:"direction,omitempty"`
}
