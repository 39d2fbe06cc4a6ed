package hubsync

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testCatalog(t *testing.T) []LearnerField {
	t.Helper()
	c, err := LearnWorldsCatalog(CatalogOptions{
		Custom: []CustomField{{Name: "cf_age", Type: TypeNumber}, {Name: "graduation", Type: TypeDate}, {Name: "cf_team", Type: TypeString}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testProperties() []Property {
	return []Property{
		{Name: "email", Type: "string", FieldType: "text", HubSpotDefined: true},
		{Name: "firstname", Type: "string", FieldType: "text", HubSpotDefined: true},
		{Name: "phone", Type: "string", FieldType: "phonenumber", HubSpotDefined: true},
		{Name: "mobilephone", Type: "phone_number", FieldType: "phonenumber"},
		{Name: "country", Type: "string", FieldType: "text"},
		{Name: "lw_age", Type: "number", FieldType: "number"},
		{Name: "lw_graduation", Type: "date", FieldType: "date"},
		{Name: "lw_last_purchase", Type: "datetime", FieldType: "date"},
		{Name: "lifecyclestage", Type: "enumeration", FieldType: "radio"},
		{Name: "hs_is_student", Type: "bool", FieldType: "booleancheckbox"},
		{Name: "num_visits", Type: "number", FieldType: "number", ReadOnlyValue: true},
		{Name: "days_to_close", Type: "number", FieldType: "calculation_equation", Calculated: true},
		{Name: "old_team", Type: "string", FieldType: "text", Archived: true},
	}
}

func codes(r RowReport) []ProblemCode {
	var out []ProblemCode
	for _, p := range r.Problems {
		out = append(out, p.Code)
	}
	return out
}

func TestValidateMappings(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	props := testProperties()
	tests := []struct {
		name string
		mode SyncMode
		row  Mapping
		want []ProblemCode // nil = valid
	}{
		{"string to string", ModeToHubSpot, Mapping{LMSField: "country", HubSpotProperty: "country"}, nil},
		{"phone_number property syncs as string", ModeToHubSpot, Mapping{LMSField: "phone", HubSpotProperty: "mobilephone"}, nil},
		{"number", ModeToHubSpot, Mapping{LMSField: "cf_age", HubSpotProperty: "lw_age"}, nil},
		{"date, custom name without prefix", ModeToHubSpot, Mapping{LMSField: "cf_graduation", HubSpotProperty: "lw_graduation"}, nil},
		{"usage datetime to HubSpot", ModeToHubSpot, Mapping{LMSField: "last_purchase_date", HubSpotProperty: "lw_last_purchase"}, nil},
		{"email to email", ModeTwoWay, Mapping{LMSField: "email", HubSpotProperty: "email"}, nil},
		{"type mismatch", ModeToHubSpot, Mapping{LMSField: "cf_age", HubSpotProperty: "country"}, []ProblemCode{ProblemTypeMismatch}},
		{"date vs datetime mismatch", ModeToHubSpot, Mapping{LMSField: "cf_graduation", HubSpotProperty: "lw_last_purchase"}, []ProblemCode{ProblemTypeMismatch}},
		{"missing LMS field", ModeToHubSpot, Mapping{LMSField: "cf_gone", HubSpotProperty: "country"}, []ProblemCode{ProblemLMSFieldMissing}},
		{"billing field while billing is off", ModeToHubSpot, Mapping{LMSField: "bf_city", HubSpotProperty: "country"}, []ProblemCode{ProblemLMSFieldMissing}},
		{"missing property", ModeToHubSpot, Mapping{LMSField: "country", HubSpotProperty: "deleted_prop"}, []ProblemCode{ProblemPropertyMissing}},
		{"archived property", ModeToHubSpot, Mapping{LMSField: "cf_team", HubSpotProperty: "old_team"}, []ProblemCode{ProblemPropertyArchived}},
		{"enumeration unsupported", ModeToHubSpot, Mapping{LMSField: "country", HubSpotProperty: "lifecyclestage"}, []ProblemCode{ProblemUnsupportedType}},
		{"bool unsupported", ModeToHubSpot, Mapping{LMSField: "country", HubSpotProperty: "hs_is_student"}, []ProblemCode{ProblemUnsupportedType}},
		{"read-only property, outbound", ModeToHubSpot, Mapping{LMSField: "cf_age", HubSpotProperty: "num_visits"}, []ProblemCode{ProblemPropertyReadOnly}},
		{"read-only property, inbound only is fine", ModeToLMS, Mapping{LMSField: "cf_age", HubSpotProperty: "num_visits"}, nil},
		{"calculated property, outbound", ModeTwoWay, Mapping{LMSField: "cf_age", HubSpotProperty: "days_to_close", Direction: DirectionToHubSpot}, []ProblemCode{ProblemPropertyReadOnly}},
		{"first name cannot be written to the LMS", ModeToLMS, Mapping{LMSField: "first_name", HubSpotProperty: "firstname"}, []ProblemCode{ProblemLMSFieldReadOnly}},
		{"first name to HubSpot is fine", ModeToHubSpot, Mapping{LMSField: "first_name", HubSpotProperty: "firstname"}, nil},
		{"UTM both ways in two-way", ModeTwoWay, Mapping{LMSField: "fc_utm_source", HubSpotProperty: "country", Direction: DirectionBoth}, []ProblemCode{ProblemLMSFieldReadOnly}},
		{"UTM to HubSpot in two-way", ModeTwoWay, Mapping{LMSField: "fc_utm_source", HubSpotProperty: "country", Direction: DirectionToHubSpot}, nil},
		{"usage field inbound", ModeToLMS, Mapping{LMSField: "last_purchase_date", HubSpotProperty: "lw_last_purchase"}, []ProblemCode{ProblemLMSFieldReadOnly}},
		{"email from another field", ModeToHubSpot, Mapping{LMSField: "cf_team", HubSpotProperty: "email"}, []ProblemCode{ProblemMatchKey}},
		{"empty row", ModeToHubSpot, Mapping{}, []ProblemCode{ProblemInvalidRow}},
		{"bad direction", ModeTwoWay, Mapping{LMSField: "country", HubSpotProperty: "country", Direction: "up"}, []ProblemCode{ProblemInvalidRow}},
		{"several problems at once", ModeToHubSpot, Mapping{LMSField: "cf_gone", HubSpotProperty: "deleted_prop"}, []ProblemCode{ProblemLMSFieldMissing, ProblemPropertyMissing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep := ValidateMappings(tt.mode, []Mapping{tt.row}, cat, props)
			if len(rep.Rows) != 1 {
				t.Fatalf("%d rows in report", len(rep.Rows))
			}
			r := rep.Rows[0]
			if diff := cmp.Diff(tt.want, codes(r)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if r.Valid != (tt.want == nil) {
				t.Errorf("Valid = %v", r.Valid)
			}
			if (rep.Warning == "") != (tt.want == nil) {
				t.Errorf("Warning = %q", rep.Warning)
			}
			for _, p := range r.Problems {
				if p.Message == "" {
					t.Errorf("problem %s has no message", p.Code)
				}
			}
		})
	}
}

func TestValidateMappingsDuplicateTargets(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	rows := []Mapping{
		{LMSField: "cf_gone", HubSpotProperty: "country"}, // invalid: claims nothing
		{LMSField: "country", HubSpotProperty: "country"}, // valid, first writer of country
		{LMSField: "cf_team", HubSpotProperty: "country"}, // duplicate HubSpot target
		{LMSField: "phone", HubSpotProperty: "phone", Direction: DirectionToLMS},
		{LMSField: "phone", HubSpotProperty: "mobilephone", Direction: DirectionBoth}, // writes LMS phone twice
		{LMSField: "company", HubSpotProperty: "firstname", Direction: DirectionToHubSpot},
	}
	rep := ValidateMappings(ModeTwoWay, rows, cat, testProperties())
	var got []bool
	for _, r := range rep.Rows {
		got = append(got, r.Valid)
	}
	if diff := cmp.Diff([]bool{false, true, false, true, false, true}, got); diff != "" {
		t.Fatalf("validity (-want +got):\n%s", diff)
	}
	if c := codes(rep.Rows[2]); len(c) != 1 || c[0] != ProblemDuplicateTarget || !strings.Contains(rep.Rows[2].Problems[0].Message, "Row 2") {
		t.Errorf("row 3 problems = %+v", rep.Rows[2].Problems)
	}
	if c := codes(rep.Rows[4]); len(c) != 1 || c[0] != ProblemDuplicateTarget {
		t.Errorf("row 5 problems = %+v", rep.Rows[4].Problems)
	}
	if len(rep.Active()) != 3 || len(rep.Invalid()) != 3 {
		t.Errorf("Active %d, Invalid %d", len(rep.Active()), len(rep.Invalid()))
	}
	if rep.Warning != "3 mapping rows are invalid and will not sync until fixed." {
		t.Errorf("Warning = %q", rep.Warning)
	}
	if rep.Rows[1].Type != TypeString || rep.Rows[2].Type != "" {
		t.Errorf("types %q %q", rep.Rows[1].Type, rep.Rows[2].Type)
	}
}

func TestValidateMappingsOneWayModeIgnoresRowDirection(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	// In LMS -> HubSpot mode a row marked "to LMS" still only writes HubSpot, so a field the LMS
	// cannot write is fine, and a read-only HubSpot property is not.
	rows := []Mapping{
		{LMSField: "first_name", HubSpotProperty: "firstname", Direction: DirectionToLMS},
		{LMSField: "cf_age", HubSpotProperty: "num_visits", Direction: DirectionToLMS},
	}
	rep := ValidateMappings(ModeToHubSpot, rows, cat, testProperties())
	if !rep.Rows[0].Valid || rep.Rows[1].Valid || rep.Rows[0].Direction != DirectionToHubSpot {
		t.Errorf("rows = %+v", rep.Rows)
	}
	if rep.Warning != "1 mapping row is invalid and will not sync until fixed." {
		t.Errorf("Warning = %q", rep.Warning)
	}
}
