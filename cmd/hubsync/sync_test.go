package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

const learnerCount = 5000

var countries = []string{"GR", "FR", "DE", "IT", "ES", "NL", "PT", "SE"}

func learnerEmail(i int) string { return fmt.Sprintf("learner%05d@school.example", i) }

// seedSchool fills the fake school with n learners, each with distinct mapped values.
func seedSchool(t testing.TB, lw *learnworldstest.Server, n int) {
	t.Helper()
	if err := lw.Seed(n, func(i int, u *learnworldstest.User) {
		u.Email = learnerEmail(i)
		u.Username = fmt.Sprintf("learner%05d", i)
		u.Fields = map[string]any{
			"country": countries[i%len(countries)],
			"company": fmt.Sprintf("Company %d", i%97),
			"phone":   fmt.Sprintf("+30 210 %07d", i),
		}
	}); err != nil {
		t.Fatal(err)
	}
}

// settingsFile maps four fields and one invalid row (a number into a string property).
const settingsFile = `{
  "mode": "lms_to_hubspot",
  "mappings": [
    {"lms_field": "username", "hubspot_property": "firstname"},
    {"lms_field": "country", "hubspot_property": "country"},
    {"lms_field": "company", "hubspot_property": "company"},
    {"lms_field": "phone", "hubspot_property": "phone"},
    {"lms_field": "graduation_year", "hubspot_property": "city"}
  ],
  "update_lifecycle_stage": true,
  "notify_email": "admin@school.example"
}
`

// TestSyncRealSchool is the "done when": connect with an imported token, apply settings,
// sync 5,000 learners, interrupt the sync with SIGINT, resume it, and check every mapped value in
// the fake HubSpot.
func TestSyncRealSchool(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedSchool(t, f.lw, learnerCount)
	f.connect(t)

	path := f.writeFile(t, "settings.json", settingsFile)
	r := f.run(t, "settings", "apply", "-f", path)
	if r.code != 0 {
		t.Fatalf("settings apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"ROW", "username", "firstname", "INVALID", "graduation_year", "WARNING:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("settings apply output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("colour codes written to a pipe:\n%q", r.stdout)
	}
	show := f.run(t, "settings", "show")
	if show.code != 0 || !strings.Contains(show.stdout, `"hubspot_property": "firstname"`) || !strings.Contains(show.stdout, "INVALID") {
		t.Fatalf("settings show: exit %d\n%s\n%s", show.code, show.stdout, show.stderr)
	}

	// First run: interrupted as soon as it reports progress.
	s := f.start(t, "sync", "--progress-interval", "50ms")
	s.waitLine(t, func(l string) bool { return strings.HasPrefix(l, "progress:") && !strings.Contains(l, " 0/") })
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(t); code != exitInterrupted {
		t.Fatalf("interrupted sync: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitInterrupted, s.all.String(), s.stderr.String())
	}
	if !strings.Contains(s.all.String(), "run \"hubsync sync\" to resume") {
		t.Errorf("the interrupted sync does not say how to resume:\n%s", s.all.String())
	}
	got := len(f.hs.Contacts())
	if got == 0 || got >= learnerCount {
		t.Fatalf("after the interruption HubSpot has %d contacts; want some but not all %d", got, learnerCount)
	}
	st := f.statusJSON(t)
	ms, _ := st["manual_sync"].(map[string]any)
	if ms["state"] != "in_progress" || st["sync_in_progress"] != true {
		t.Fatalf("status after the interruption: %v", st)
	}
	t.Logf("interrupted with %d of %d contacts in HubSpot", got, learnerCount)

	// Second run: resumes from the checkpoint and finishes.
	r = f.run(t, "sync", "--progress-interval", "1s")
	if r.code != 0 {
		t.Fatalf("resumed sync: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"Resuming manual sync run 1", "Manual sync run 1 done: 5000 records", "failed    0"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("resumed sync output lacks %q:\n%s", want, r.stdout)
		}
	}
	t.Logf("resumed sync:\n%s", r.stdout)

	// Every mapped value of every learner is in HubSpot; the invalid row wrote nothing.
	contacts := f.hs.Contacts()
	if len(contacts) != learnerCount {
		t.Fatalf("HubSpot has %d contacts, want %d", len(contacts), learnerCount)
	}
	bad := 0
	for i := range learnerCount {
		c, ok := f.hs.Contact(learnerEmail(i))
		want := map[string]string{
			"firstname": fmt.Sprintf("learner%05d", i),
			"country":   countries[i%len(countries)],
			"company":   fmt.Sprintf("Company %d", i%97),
			"phone":     fmt.Sprintf("+30 210 %07d", i),
			"city":      "",
		}
		if !ok {
			t.Errorf("learner %d: no contact", i)
			bad++
		}
		for k, v := range want {
			if c.Properties[k] != v {
				t.Errorf("learner %d: %s = %q, want %q", i, k, c.Properties[k], v)
				bad++
			}
		}
		if bad > 10 {
			t.Fatal("too many wrong values")
		}
	}
	st = f.statusJSON(t)
	ms, _ = st["manual_sync"].(map[string]any)
	if ms["state"] != "done" || ms["done"] != float64(learnerCount) || ms["failed"] != float64(0) {
		t.Fatalf("status after the sync: %v", ms)
	}
	txt := f.run(t, "status", "--school", "default") // the settings' invalid row makes the school degraded: exit 4
	if txt.code != exitDegraded || !strings.Contains(txt.stdout, "DEGRADED: invalid_mapping") || !strings.Contains(txt.stdout, "run 1 done") || !strings.Contains(txt.stdout, "connected to portal") {
		t.Fatalf("status: exit %d\n%s\n%s", txt.code, txt.stdout, txt.stderr)
	}

	// A third sync is a new run that changes nothing.
	r = f.run(t, "sync")
	if r.code != 0 || !strings.Contains(r.stdout, "Started manual sync run 2") || !strings.Contains(r.stdout, "unchanged 5000") {
		t.Fatalf("third sync: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
