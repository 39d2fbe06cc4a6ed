package main

import (
	"strings"
	"syscall"
	"testing"

	"github.com/hubsync/hubsync/store/sqlitestore"
)

// TestSyncKilledResumesAtOnce: "hubsync sync" ended with kill -9 mid-run leaves its page job
// leased; the rerun on the same machine sees that the holder's process is gone, takes the job back
// at once (it says so in its log) instead of waiting out the lease, and finishes with every
// learner in HubSpot once.
func TestSyncKilledResumesAtOnce(t *testing.T) {
	t.Parallel()
	const n = 1500
	f := newFixture(t)
	seedSchool(t, f.lw, n)
	f.connect(t)
	path := f.writeFile(t, "settings.json", `{"mappings": [{"lms_field": "country", "hubspot_property": "country"}]}`)
	if r := f.run(t, "settings", "apply", "-f", path); r.code != 0 {
		t.Fatalf("settings apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	s := f.start(t, "sync", "--progress-interval", "50ms")
	s.waitLine(t, func(l string) bool { return strings.HasPrefix(l, "progress:") && !strings.Contains(l, " 0/") })
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.wait(t)

	// What the killed process held, read from the store as the rerun will find it.
	st, err := sqlitestore.Open(t.Context(), f.db)
	if err != nil {
		t.Fatal(err)
	}
	held, err := st.Holders(t.Context())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("holders after the kill: %v", held)

	r := f.run(t, "sync", "--progress-interval", "1s", "--log-level", "info")
	if r.code != 0 {
		t.Fatalf("rerun: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if len(held) > 0 && !strings.Contains(r.stderr, "took back the jobs of a process of this machine that is gone") {
		t.Errorf("the killed sync held %v, but the rerun did not take its jobs back:\n%s", held, r.stderr)
	}
	if len(held) == 0 {
		t.Log("the kill came between two leases: nothing was held, so there was nothing to take back")
	}
	if !strings.Contains(r.stdout, "Resuming manual sync run 1") {
		t.Errorf("the rerun did not resume the killed run:\n%s", r.stdout)
	}
	contacts := f.hs.Contacts()
	emails := map[string]bool{}
	for _, c := range contacts {
		emails[c.Properties["email"]] = true
	}
	if len(contacts) != n || len(emails) != n {
		t.Fatalf("HubSpot has %d contacts with %d distinct emails, want %d", len(contacts), len(emails), n)
	}
	for i := range n {
		if c, _ := f.hs.Contact(learnerEmail(i)); c.Properties["country"] != countries[i%len(countries)] {
			t.Fatalf("learner %d: country %q, want %q", i, c.Properties["country"], countries[i%len(countries)])
		}
	}
}
