package main

import (
	"strings"
	"testing"

	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// TestCatchUpCommand: "hubsync catch-up" brings a HubSpot edit that no webhook delivered to the
// learner, by CRM search by default and from the Webhooks Journal with --hubspot-journal true;
// a bad --hubspot-journal value is a usage error naming it.
func TestCatchUpCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedSchool(t, f.lw, 3)
	f.connect(t)
	path := f.writeFile(t, "settings.json", `{"mode": "hubspot_to_lms", "mappings": [{"lms_field": "country", "hubspot_property": "country"}]}`)
	if r := f.run(t, "settings", "apply", "-f", path); r.code != 0 {
		t.Fatalf("settings apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	email := learnerEmail(1)
	if _, err := f.hs.AdminUpsertContact(email, map[string]string{"country": "MT"}, hubspottest.SourceCRMUI); err != nil {
		t.Fatal(err)
	}
	r := f.run(t, "catch-up", "--since", "1h")
	if r.code != 0 || !strings.Contains(r.stdout, "search") {
		t.Fatalf("catch-up: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if u, _ := f.lw.User(email); u.Fields["country"] != "MT" {
		t.Fatalf("after the catch-up the learner has country %v, want MT", u.Fields["country"])
	}

	if _, err := f.hs.AdminUpsertContact(email, map[string]string{"country": "CY"}, hubspottest.SourceCRMUI); err != nil {
		t.Fatal(err)
	}
	r = f.run(t, "catch-up", "--since", "1h", "--hubspot-journal", "true")
	if r.code != 0 {
		t.Fatalf("catch-up --hubspot-journal true: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("journal catch-up:\n%s", r.stdout)
	if u, _ := f.lw.User(email); u.Fields["country"] != "CY" {
		t.Fatalf("after the journal catch-up the learner has country %v, want CY", u.Fields["country"])
	}
	journal := 0
	for route, n := range f.hs.Stats().ByRoute {
		if strings.Contains(route, "journal") {
			journal += n
		}
	}
	if journal == 0 {
		t.Errorf("--hubspot-journal true made no journal request: %v", f.hs.Stats().ByRoute)
	}

	if r := f.run(t, "catch-up", "--since", "1h", "--hubspot-journal", "maybe"); r.code != exitUsage || !strings.Contains(r.stderr, "--hubspot-journal") {
		t.Fatalf("a bad --hubspot-journal: exit %d, stderr %q", r.code, r.stderr)
	}
}
