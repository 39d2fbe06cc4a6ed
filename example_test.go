package hubsync_test

import (
	"fmt"

	"github.com/hubsync/hubsync"
)

// Validating a school's mapping rows against the LearnWorlds catalog and the portal's contact
// properties: invalid rows are reported with a reason and skipped, valid rows sync.
func Example_mappingValidation() {
	catalog, err := hubsync.LearnWorldsCatalog(hubsync.CatalogOptions{
		Custom: []hubsync.CustomField{{Name: "cf_age", Type: hubsync.TypeNumber}},
	})
	if err != nil {
		panic(err)
	}
	props := []hubsync.Property{
		{Name: "email", Type: "string", FieldType: "text"},
		{Name: "country", Type: "string", FieldType: "text"},
		{Name: "lw_age", Type: "number", FieldType: "number"},
		{Name: "num_visits", Type: "number", FieldType: "number", ReadOnlyValue: true},
	}
	rows := []hubsync.Mapping{
		{LMSField: "country", HubSpotProperty: "country"},
		{LMSField: "cf_age", HubSpotProperty: "lw_age"},
		{LMSField: "cf_age", HubSpotProperty: "country"},      // number into a string
		{LMSField: "cf_age", HubSpotProperty: "num_visits"},   // read-only in HubSpot
		{LMSField: "cf_shoe_size", HubSpotProperty: "lw_age"}, // no such field
	}
	report := hubsync.ValidateMappings(hubsync.ModeToHubSpot, rows, catalog, props)
	for _, r := range report.Rows {
		if r.Valid {
			fmt.Printf("row %d: ok (%s, %s)\n", r.Index+1, r.Type, r.Direction)
			continue
		}
		fmt.Printf("row %d: %s\n", r.Index+1, r.Problems[0].Code)
	}
	fmt.Println(report.Warning)
	// Output:
	// row 1: ok (string, to_hubspot)
	// row 2: ok (number, to_hubspot)
	// row 3: type_mismatch
	// row 4: hubspot_property_read_only
	// row 5: lms_field_missing
	// 3 mapping rows are invalid and will not sync until fixed.
}

// The lifecycle rule of the seed: Lead on registration, Customer on enrolment or purchase when
// the school lets hubsync update the stage, and never a step backwards.
func Example_lifecycle() {
	rule := hubsync.LifecycleRule{UpdateStage: true}
	show := func(trigger hubsync.LifecycleTrigger, current string) {
		stage, ok := rule.Next(trigger, current)
		if !ok {
			fmt.Printf("%-24s from %-12q: keep\n", trigger, current)
			return
		}
		fmt.Printf("%-24s from %-12q: %s\n", trigger, current, stage)
	}
	show(hubsync.TriggerRegistered, "")
	show(hubsync.TriggerEnrolled, hubsync.StageLead)
	show(hubsync.TriggerRegisteredAndPurchased, "")
	show(hubsync.TriggerPurchased, hubsync.StageEvangelist)
	// Output:
	// registered               from ""          : lead
	// enrolled                 from "lead"      : customer
	// registered_and_purchased from ""          : customer
	// purchased                from "evangelist": keep
}

// Converting values between LearnWorlds and HubSpot: LearnWorlds timestamps are float Unix
// seconds, HubSpot dates are YYYY-MM-DD and datetimes ISO 8601 in UTC, numbers carry no float noise.
func Example_conversion() {
	show := func(t hubsync.FieldType, v any) {
		s, err := hubsync.ToHubSpot("field", t, v)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-8s %q\n", t, s)
	}
	show(hubsync.TypeDateTime, 1587639230.083278)
	show(hubsync.TypeDate, 1587639230.083278)
	show(hubsync.TypeNumber, 0.1+0.2)
	show(hubsync.TypeNumber, true)

	back, _ := hubsync.FromHubSpot("field", hubsync.TypeDate, "1430438400000")
	fmt.Println(back)
	// Output:
	// datetime "2020-04-23T10:53:50.083Z"
	// date     "2020-04-23"
	// number   "0.3"
	// hubsync: field "field": cannot convert bool to number: not a number
	// 2015-05-01 00:00:00 +0000 UTC
}
