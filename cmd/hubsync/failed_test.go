package main

import (
	"strings"
	"testing"

	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestSyncFailedRecords: a learner whose value cannot be converted is written without it, once
// (created, not also failed); the sync ends with the reasons in its summary (email masked) and
// exit code 3.
func TestSyncFailedRecords(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedSchool(t, f.lw, 3)
	if _, err := f.lw.Update(t.Context(), learnerEmail(1), func(u *learnworldstest.User) { u.Fields["birthday"] = "someday" }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.lw.Update(t.Context(), learnerEmail(2), func(u *learnworldstest.User) { u.Fields["birthday"] = "1999-04-01" }); err != nil {
		t.Fatal(err)
	}
	f.connect(t)
	path := f.writeFile(t, "settings.json", `{"mappings": [
  {"lms_field": "country", "hubspot_property": "country"},
  {"lms_field": "birthday", "hubspot_property": "date_of_birth"}
]}`)
	if r := f.run(t, "settings", "apply", "-f", path); r.code != 0 {
		t.Fatalf("settings apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r := f.run(t, "sync")
	if r.code != exitFailedRecs {
		t.Fatalf("sync: exit %d, want %d\n%s\n%s", r.code, exitFailedRecs, r.stdout, r.stderr)
	}
	for _, want := range []string{"created   3", "failed    0", "1 created or updated with some fields refused", "First failures:", "l***@school.example"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, learnerEmail(1)) {
		t.Errorf("a full email address was printed:\n%s\n%s", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "1 record written with some fields refused; fix the cause") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if c, ok := f.hs.Contact(learnerEmail(2)); !ok || c.Properties["date_of_birth"] == "" || c.Properties["country"] != countries[2] {
		t.Errorf("the good learner's values: %v %v", ok, c.Properties)
	}
}
