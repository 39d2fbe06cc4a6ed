package hubsync

import (
	"fmt"
	"strings"
)

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

// Property is a HubSpot contact property as the mapping screen needs it, built from the property
// schema (GET /crm/v3/properties/contacts). It carries no I/O: the engine fills it from the hubspot
// client.
type Property struct {
	// Name is the internal name written in property maps ("firstname", "lifecyclestage").
	Name  string
	Label string
	// Type is HubSpot's data type: string, number, date, datetime, enumeration, bool,
	// phone_number, object_coordinates, json.
	Type string
	// FieldType is HubSpot's form control: text, textarea, number, date, select,
	// calculation_equation...
	FieldType string
	// ReadOnlyValue is modificationMetadata.readOnlyValue: the value cannot be written.
	ReadOnlyValue bool
	// Calculated marks a calculated property (also read-only).
	Calculated bool
	Archived   bool
	// HubSpotDefined marks a property HubSpot created (as opposed to a school-created one).
	HubSpotDefined bool
	// Options are an enumeration's allowed values (lifecycle stages come from here).
	Options []PropertyOption
}

// PropertyOption is one option of an enumeration property.
type PropertyOption struct {
	Label        string
	Value        string
	DisplayOrder int
	Hidden       bool
}

// SyncType returns the FieldType a property syncs as, and false for HubSpot types hubsync does not
// sync (enumeration, bool, object_coordinates, json...). phone_number syncs as a string.
func (p Property) SyncType() (FieldType, bool) {
	switch p.Type {
	case "string", "phone_number":
		return TypeString, true
	case "number":
		return TypeNumber, true
	case "date":
		return TypeDate, true
	case "datetime":
		return TypeDateTime, true
	}
	return "", false
}

// Writable reports whether the property's value can be written through the API.
func (p Property) Writable() bool {
	return !p.ReadOnlyValue && !p.Calculated && p.FieldType != "calculation_equation" && !p.Archived
}

// ProblemCode is the machine-readable reason a mapping row is invalid.
type ProblemCode string

// The reasons a row can be invalid.
const (
	// ProblemTypeMismatch: the two sides' types differ.
	ProblemTypeMismatch ProblemCode = "type_mismatch"
	// ProblemLMSFieldMissing: the LMS field does not exist (deleted, misspelt, or billing disabled).
	ProblemLMSFieldMissing ProblemCode = "lms_field_missing"
	// ProblemPropertyMissing: the HubSpot property does not exist (deleted or misspelt).
	ProblemPropertyMissing ProblemCode = "hubspot_property_missing"
	// ProblemPropertyArchived: the HubSpot property was archived.
	ProblemPropertyArchived ProblemCode = "hubspot_property_archived"
	// ProblemUnsupportedType: the HubSpot property's type is not string, number, date or datetime.
	ProblemUnsupportedType ProblemCode = "unsupported_hubspot_type"
	// ProblemPropertyReadOnly: the row writes to HubSpot but the property is read-only or
	// calculated.
	ProblemPropertyReadOnly ProblemCode = "hubspot_property_read_only"
	// ProblemLMSFieldReadOnly: the row writes to the LMS but the field cannot be written there.
	ProblemLMSFieldReadOnly ProblemCode = "lms_field_read_only"
	// ProblemLMSFieldUnreadable: the row reads from the LMS but the field cannot be read.
	ProblemLMSFieldUnreadable ProblemCode = "lms_field_unreadable"
	// ProblemDuplicateTarget: an earlier row already writes the same target.
	ProblemDuplicateTarget ProblemCode = "duplicate_target"
	// ProblemMatchKey: the row would write one side's email from something other than the other
	// side's email. Email is the match key and always syncs by itself.
	ProblemMatchKey ProblemCode = "match_key"
	// ProblemInvalidRow: the row itself is malformed (no field, no property, unknown direction).
	ProblemInvalidRow ProblemCode = "invalid_row"
)

// Problem is one reason a row is invalid.
type Problem struct {
	Code ProblemCode `json:"code"`
	// Message is a sentence for a person, naming the field and property.
	Message string `json:"message"`
}

// RowReport is the verdict on one mapping row.
type RowReport struct {
	// Index is the row's position in the settings.
	Index   int     `json:"index"`
	Mapping Mapping `json:"mapping"`
	// Direction is the row's effective direction under the school's mode.
	Direction Direction `json:"direction"`
	// Type is the row's sync type when both sides agree.
	Type     FieldType `json:"type,omitempty"`
	Valid    bool      `json:"valid"`
	Problems []Problem `json:"problems,omitempty"`
}

// MappingReport is the validation report of a school's mapping rows: one RowReport per row, in
// order, and a Warning when any row is invalid (the seed's "A warning appears when one or more
// mapping rows are invalid"). Invalid rows are skipped by the sync; valid rows work.
type MappingReport struct {
	Rows []RowReport `json:"rows"`
	// Warning is empty when every row is valid.
	Warning string `json:"warning,omitempty"`
}

// Invalid returns the invalid rows.
func (r MappingReport) Invalid() []RowReport {
	var out []RowReport
	for _, row := range r.Rows {
		if !row.Valid {
			out = append(out, row)
		}
	}
	return out
}

// Active returns the valid rows: the ones the sync uses.
func (r MappingReport) Active() []RowReport {
	var out []RowReport
	for _, row := range r.Rows {
		if row.Valid {
			out = append(out, row)
		}
	}
	return out
}

// ValidateMappings checks every row against the two schemas under the school's mode:
//   - the LMS field must exist in lms and the property in props, not archived;
//   - the property's type must be one of the four syncable types, and equal the field's type;
//   - the row's effective direction (EffectiveDirection) decides what must be writable: a row that
//     writes to HubSpot needs a readable LMS field and a property that is neither read-only nor
//     calculated; a row that writes to the LMS needs a writable LMS field;
//   - no two rows may write the same target (HubSpot property, or LMS field): the first row keeps
//     it and later ones are invalid;
//   - email maps only to email (it is the match key, synced by itself in any case).
//
// A row can have several problems; all are listed.
func ValidateMappings(mode SyncMode, rows []Mapping, lms []LearnerField, props []Property) MappingReport {
	v := mappingValidator{fields: IndexFields(lms), props: make(map[string]Property, len(props)),
		hsTargets: map[string]int{}, lmsTargets: map[string]int{}}
	for _, p := range props {
		v.props[p.Name] = p
	}
	rep := MappingReport{Rows: make([]RowReport, 0, len(rows))}
	for i, m := range rows {
		rep.Rows = append(rep.Rows, v.row(mode, i, m))
	}
	if n := len(rep.Invalid()); n > 0 {
		noun := "rows are"
		if n == 1 {
			noun = "row is"
		}
		rep.Warning = fmt.Sprintf("%d mapping %s invalid and will not sync until fixed.", n, noun)
	}
	return rep
}

// mappingValidator checks rows one by one, remembering which targets earlier valid rows write.
type mappingValidator struct {
	fields     FieldIndex
	props      map[string]Property
	hsTargets  map[string]int // property -> first valid row writing it
	lmsTargets map[string]int // LMS field -> first valid row writing it
}

// mappingRow is one row under check: its report and what the two schemas say of its ends.
type mappingRow struct {
	rr                 RowReport
	fieldKey, propName string
	f                  LearnerField
	haveField          bool
	p                  Property
	haveProp           bool // the property exists and is not archived
}

func (r *mappingRow) problem(c ProblemCode, format string, args ...any) {
	r.rr.Problems = append(r.rr.Problems, Problem{Code: c, Message: fmt.Sprintf(format, args...)})
}

func (v *mappingValidator) row(mode SyncMode, i int, m Mapping) RowReport {
	r := &mappingRow{rr: RowReport{Index: i, Mapping: m, Direction: EffectiveDirection(mode, m.Direction)},
		fieldKey: strings.TrimSpace(m.LMSField), propName: strings.TrimSpace(m.HubSpotProperty)}
	if r.fieldKey == "" || r.propName == "" {
		r.problem(ProblemInvalidRow, "Row %d needs both an LMS field and a HubSpot property.", i+1)
	}
	if err := m.Direction.Validate(); err != nil {
		r.problem(ProblemInvalidRow, "Row %d has an unknown direction %q.", i+1, string(m.Direction))
	}
	v.checkEnds(r)
	r.checkTypes()
	r.checkAccess()
	v.claim(r)
	return r.rr
}

// checkEnds finds the row's LMS field and HubSpot property, reporting a missing or archived one.
func (v *mappingValidator) checkEnds(r *mappingRow) {
	r.f, r.haveField = v.fields[r.fieldKey]
	if r.fieldKey != "" && !r.haveField {
		r.problem(ProblemLMSFieldMissing, "The LMS field %q does not exist (deleted, or its category is disabled).", r.fieldKey)
	}
	p, ok := v.props[r.propName]
	switch {
	case r.propName == "":
	case !ok:
		r.problem(ProblemPropertyMissing, "The HubSpot property %q does not exist (it may have been deleted).", r.propName)
	case p.Archived:
		r.problem(ProblemPropertyArchived, "The HubSpot property %q is archived.", r.propName)
	default:
		r.p, r.haveProp = p, true
	}
}

// checkTypes reports a property of a type that does not sync, a type mismatch, and email mapped
// to anything but email; a row whose types agree gets its sync type.
func (r *mappingRow) checkTypes() {
	var pt FieldType
	if r.haveProp {
		var ok bool
		if pt, ok = r.p.SyncType(); !ok {
			r.problem(ProblemUnsupportedType, "The HubSpot property %q is of type %s; only string, number, date and datetime properties sync.", r.propName, r.p.Type)
		}
	}
	if r.haveField && pt != "" {
		if r.f.Type != pt {
			r.problem(ProblemTypeMismatch, "The LMS field %q is a %s but the HubSpot property %q is a %s.", r.fieldKey, r.f.Type, r.propName, pt)
		} else {
			r.rr.Type = pt
		}
	}
	if (r.fieldKey == "email") != (r.propName == "email") && r.fieldKey != "" && r.propName != "" {
		r.problem(ProblemMatchKey, "Email is the match key: %q can only map to %q.", "email", "email")
	}
}

// checkAccess reports an end the row's direction needs to read or write and cannot.
func (r *mappingRow) checkAccess() {
	if r.rr.Direction.ToHubSpot() {
		if r.haveField && !r.f.Readable {
			r.problem(ProblemLMSFieldUnreadable, "The LMS field %q cannot be read, so it cannot be sent to HubSpot.", r.fieldKey)
		}
		if r.haveProp && !r.p.Writable() {
			r.problem(ProblemPropertyReadOnly, "The HubSpot property %q is read-only, so LMS values cannot be written to it.", r.propName)
		}
	}
	if r.rr.Direction.ToLMS() && r.haveField && !r.f.Writable {
		r.problem(ProblemLMSFieldReadOnly, "The LMS field %q cannot be written, so HubSpot values cannot be sent to it.", r.fieldKey)
	}
}

// claim gives an otherwise valid row its targets, unless an earlier valid row writes one of them
// (a duplicate target). Only valid rows claim, so a broken row never blocks a good one.
func (v *mappingValidator) claim(r *mappingRow) {
	dir := r.rr.Direction
	if len(r.rr.Problems) == 0 {
		if first, dup := v.hsTargets[r.propName]; dup && dir.ToHubSpot() {
			r.problem(ProblemDuplicateTarget, "Row %d already writes the HubSpot property %q.", first+1, r.propName)
		}
		if first, dup := v.lmsTargets[r.fieldKey]; dup && dir.ToLMS() {
			r.problem(ProblemDuplicateTarget, "Row %d already writes the LMS field %q.", first+1, r.fieldKey)
		}
	}
	if len(r.rr.Problems) > 0 {
		r.rr.Type = ""
		return
	}
	r.rr.Valid = true
	if dir.ToHubSpot() {
		v.hsTargets[r.propName] = r.rr.Index
	}
	if dir.ToLMS() {
		v.lmsTargets[r.fieldKey] = r.rr.Index
	}
}
