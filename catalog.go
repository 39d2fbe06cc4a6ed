package hubsync

import (
	"fmt"
	"sort"
	"strings"
)

// FieldCategory groups LMS fields as the seed's mapping screen does.
type FieldCategory string

// The LMS field categories of the seed.
const (
	CategoryGeneral FieldCategory = "general" // name, email, username
	CategoryUser    FieldCategory = "user"    // phone, address, country, company, website...
	CategoryCustom  FieldCategory = "custom"  // school-defined cf_ fields
	CategoryBilling FieldCategory = "billing" // billing details, only when billing is enabled
	CategoryUTM     FieldCategory = "utm"     // UTM parameters of first and last contact
	CategoryUsage   FieldCategory = "usage"   // usage overview: last purchase date, last login...
)

// FieldCategories lists the categories in the order a settings screen shows them.
func FieldCategories() []FieldCategory {
	return []FieldCategory{CategoryGeneral, CategoryUser, CategoryCustom, CategoryBilling, CategoryUTM, CategoryUsage}
}

// LearnerField describes one mappable LMS field.
type LearnerField struct {
	// Key is the field's key in Learner.Values and in mapping rows: "email", "first_name",
	// "phone", "cf_<name>", "bf_city", "fc_utm_source", "last_purchase_date"...
	Key      string
	Label    string
	Type     FieldType
	Category FieldCategory
	// Readable: the value can be read from the LMS (and so sent to HubSpot).
	Readable bool
	// Writable: the value can be written to the LMS (and so come from HubSpot).
	Writable bool
	// Validation holds the LMS's own rules for the field, applied when data validation is on.
	Validation FieldRules
}

// FieldRules are an LMS field's validation rules. Zero values do not constrain.
type FieldRules struct {
	Required bool `json:"required,omitempty"`
	// MaxLength limits a string's length in characters.
	MaxLength int `json:"max_length,omitempty"`
	// Pattern is a regular expression (RE2) a string value must match in full.
	Pattern string `json:"pattern,omitempty"`
	// Options, when not empty, lists the only allowed string values.
	Options []string `json:"options,omitempty"`
	// Min and Max bound a number, when HasMin / HasMax.
	Min    float64 `json:"min,omitempty"`
	Max    float64 `json:"max,omitempty"`
	HasMin bool    `json:"has_min,omitempty"`
	HasMax bool    `json:"has_max,omitempty"`
}

// CustomField declares one of a school's custom cf_ fields, which no API lists: the host (or the
// learnworlds adapter's configuration) names them with their types.
type CustomField struct {
	// Name is the field's name with or without its "cf_" prefix.
	Name       string     `json:"name"`
	Label      string     `json:"label,omitempty"`
	Type       FieldType  `json:"type"`
	Validation FieldRules `json:"validation,omitzero"`
}

// CatalogOptions says what a school's LMS catalog holds beyond the built-in fields.
type CatalogOptions struct {
	Custom []CustomField
	// BillingEnabled adds the billing detail fields (the seed: "if billing info is enabled").
	BillingEnabled bool
}

// LearnWorldsCatalog returns the LearnWorlds field catalog for a school, with readability and
// writability as the public LearnWorlds API allows them: first/last name, billing details, UTMs
// and usage fields are read-only through the API (its user update model has no first_name,
// last_name or billing_info; UTMs are first-touch attribution and must not be overwritten; usage
// fields are computed). A custom field that is invalid (empty name, bad type, or a duplicate)
// is an error naming it.
func LearnWorldsCatalog(opts CatalogOptions) ([]LearnerField, error) {
	out := make([]LearnerField, 0, 64)
	add := func(key, label string, t FieldType, c FieldCategory, writable bool) {
		out = append(out, LearnerField{Key: key, Label: label, Type: t, Category: c, Readable: true, Writable: writable})
	}
	add("email", "Email", TypeString, CategoryGeneral, true)
	add("username", "Username", TypeString, CategoryGeneral, true)
	add("first_name", "First name", TypeString, CategoryGeneral, false)
	add("last_name", "Last name", TypeString, CategoryGeneral, false)
	add("created", "Sign-up date", TypeDateTime, CategoryGeneral, false)
	for _, f := range []struct{ key, label string }{
		{"bio", "Bio"}, {"location", "Location"}, {"url", "Website"}, {"fb", "Facebook"},
		{"twitter", "Twitter"}, {"instagram", "Instagram"}, {"linkedin", "LinkedIn"}, {"skype", "Skype"},
		{"behance", "Behance"}, {"dribbble", "Dribbble"}, {"github", "GitHub"}, {"phone", "Phone"},
		{"address", "Address"}, {"country", "Country"}, {"company", "Company"},
		{"company_size", "Company size"}, {"university", "University"},
	} {
		add(f.key, f.label, TypeString, CategoryUser, true)
	}
	add("birthday", "Birthday", TypeDate, CategoryUser, true)
	add("graduation_year", "Graduation year", TypeNumber, CategoryUser, true)

	seen := map[string]bool{}
	for _, f := range out {
		seen[f.Key] = true
	}
	custom := make([]LearnerField, 0, len(opts.Custom))
	for i, cf := range opts.Custom {
		name := strings.TrimSpace(cf.Name)
		if name == "" || name == "cf_" {
			return nil, fmt.Errorf("%w: custom field %d has no name", ErrInvalidSettings, i)
		}
		if !strings.HasPrefix(name, "cf_") {
			name = "cf_" + name
		}
		if err := cf.Type.Validate(); err != nil {
			return nil, fmt.Errorf("%w: custom field %q: %v", ErrInvalidSettings, name, err)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: custom field %q declared twice", ErrInvalidSettings, name)
		}
		seen[name] = true
		label := cf.Label
		if label == "" {
			label = name
		}
		custom = append(custom, LearnerField{Key: name, Label: label, Type: cf.Type, Category: CategoryCustom, Readable: true, Writable: true, Validation: cf.Validation})
	}
	sort.Slice(custom, func(i, j int) bool { return custom[i].Key < custom[j].Key })
	out = append(out, custom...)

	if opts.BillingEnabled {
		for _, f := range []struct{ key, label string }{
			{"bf_name", "Billing name"}, {"bf_address", "Billing address"}, {"bf_city", "Billing city"},
			{"bf_postalcode", "Billing postal code"}, {"bf_country", "Billing country"}, {"bf_taxid", "Billing tax id"},
		} {
			add(f.key, f.label, TypeString, CategoryBilling, false)
		}
	}
	for _, touch := range []struct{ prefix, label string }{{"fc_", "First touch"}, {"lc_", "Last touch"}} {
		for _, f := range []struct{ key, label string }{
			{"utm_source", "UTM source"}, {"utm_medium", "UTM medium"}, {"utm_campaign", "UTM campaign"},
			{"utm_term", "UTM term"}, {"utm_content", "UTM content"}, {"landing", "landing page"},
			{"referrer", "referrer"}, {"country", "country"},
		} {
			add(touch.prefix+f.key, touch.label+" "+f.label, TypeString, CategoryUTM, false)
		}
	}
	add("last_login", "Last login", TypeDateTime, CategoryUsage, false)
	add("last_purchase_date", "Last purchase date", TypeDateTime, CategoryUsage, false)
	add("nps_score", "NPS score", TypeNumber, CategoryUsage, false)
	return out, nil
}

// FieldIndex looks fields up by key.
type FieldIndex map[string]LearnerField

// IndexFields indexes a catalog by key.
func IndexFields(fields []LearnerField) FieldIndex {
	idx := make(FieldIndex, len(fields))
	for _, f := range fields {
		idx[f.Key] = f
	}
	return idx
}
