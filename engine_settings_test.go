package hubsync_test

import (
	"errors"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// TestCatalogAndPropertiesForSettingsScreens: the two pickers of a settings screen come from the
// engine: the LMS catalog, and the live property schema with types (an archived property is not
// offered), refused before a connect and after the connection is lost.
func TestCatalogAndPropertiesForSettingsScreens(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if _, err := h.eng.Properties(h.ctx, school); !errors.Is(err, hubsync.ErrNotConnected) {
		t.Fatalf("Properties before connect: %v, want ErrNotConnected", err)
	}
	cat, err := h.eng.Catalog(h.ctx, school)
	if err != nil {
		t.Fatal(err)
	}
	if idx := hubsync.IndexFields(cat); idx["first_name"].Category != hubsync.CategoryGeneral {
		t.Fatalf("catalog has no general first_name: %+v", idx["first_name"])
	}

	h.connect()
	if err := h.hs.AddProperty(hubspottest.Property{Name: "old_score", Label: "Old score", Type: "number", FieldType: "number"}); err != nil {
		t.Fatal(err)
	}
	if err := h.hs.ArchiveProperty("old_score"); err != nil {
		t.Fatal(err)
	}
	props, err := h.eng.Properties(h.ctx, school)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]hubsync.Property{}
	for _, p := range props {
		byName[p.Name] = p
	}
	if p := byName["firstname"]; p.Type != "string" || p.Label != "First Name" {
		t.Errorf("firstname: %+v", p)
	}
	if p, ok := byName["old_score"]; ok {
		t.Errorf("archived property offered: %+v", p)
	}
	props[0].Name = "changed by the caller"
	again, err := h.eng.Properties(h.ctx, school)
	if err != nil || again[0].Name == "changed by the caller" {
		t.Fatalf("Properties shares its cache with callers: %v %q", err, again[0].Name)
	}

	h.hs.Uninstall()
	// Saving reads the schema afresh: HubSpot refuses the token and the refresh.
	if _, err := h.eng.SaveSettings(h.ctx, school, hubsync.DefaultSettings()); !errors.Is(err, hubsync.ErrConnectionLost) {
		t.Fatalf("SaveSettings after uninstall: %v, want ErrConnectionLost", err)
	}
	if _, err := h.eng.Properties(h.ctx, school); !errors.Is(err, hubsync.ErrConnectionLost) {
		t.Fatalf("Properties after uninstall: %v, want ErrConnectionLost", err)
	}
}
