package hubsync

import (
	"errors"
	"testing"
)

func TestLearnWorldsCatalog(t *testing.T) {
	t.Parallel()
	plain, err := LearnWorldsCatalog(CatalogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	full, err := LearnWorldsCatalog(CatalogOptions{BillingEnabled: true, Custom: []CustomField{{Name: "score", Type: TypeNumber}}})
	if err != nil {
		t.Fatal(err)
	}
	pi, fi := IndexFields(plain), IndexFields(full)
	if _, ok := pi["bf_city"]; ok {
		t.Error("billing fields present with billing disabled")
	}
	want := []struct {
		key      string
		cat      FieldCategory
		typ      FieldType
		writable bool
	}{
		{"email", CategoryGeneral, TypeString, true},
		{"username", CategoryGeneral, TypeString, true},
		{"first_name", CategoryGeneral, TypeString, false},
		{"last_name", CategoryGeneral, TypeString, false},
		{"phone", CategoryUser, TypeString, true},
		{"address", CategoryUser, TypeString, true},
		{"country", CategoryUser, TypeString, true},
		{"company", CategoryUser, TypeString, true},
		{"url", CategoryUser, TypeString, true},
		{"birthday", CategoryUser, TypeDate, true},
		{"cf_score", CategoryCustom, TypeNumber, true},
		{"bf_city", CategoryBilling, TypeString, false},
		{"fc_utm_source", CategoryUTM, TypeString, false},
		{"lc_referrer", CategoryUTM, TypeString, false},
		{"last_purchase_date", CategoryUsage, TypeDateTime, false},
		{"last_login", CategoryUsage, TypeDateTime, false},
	}
	for _, w := range want {
		f, ok := fi[w.key]
		if !ok {
			t.Errorf("%s missing", w.key)
			continue
		}
		if f.Category != w.cat || f.Type != w.typ || f.Writable != w.writable || !f.Readable {
			t.Errorf("%s = %+v, want category %s type %s writable %v readable", w.key, f, w.cat, w.typ, w.writable)
		}
	}
	seen := map[string]bool{}
	for _, f := range full {
		if seen[f.Key] {
			t.Errorf("duplicate key %s", f.Key)
		}
		seen[f.Key] = true
		if f.Type.Validate() != nil || f.Label == "" {
			t.Errorf("field %+v", f)
		}
	}
}

func TestLearnWorldsCatalogRejectsBadCustomFields(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cf   []CustomField
	}{
		{"no name", []CustomField{{Name: " ", Type: TypeString}}},
		{"prefix only", []CustomField{{Name: "cf_", Type: TypeString}}},
		{"bad type", []CustomField{{Name: "x", Type: "bool"}}},
		{"twice", []CustomField{{Name: "x", Type: TypeString}, {Name: "cf_x", Type: TypeNumber}}},
	} {
		if _, err := LearnWorldsCatalog(CatalogOptions{Custom: tc.cf}); !errors.Is(err, ErrInvalidSettings) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}
