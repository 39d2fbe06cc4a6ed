package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// hubsync health after a sync: the summary, the in-sync list paged with the printed cursor,
// emails masked everywhere.
func TestHealthCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedSchool(t, f.lw, 5)
	f.connect(t)
	if r := f.run(t, "settings", "apply", "-f", f.writeFile(t, "settings.json", settingsFile)); r.code != 0 {
		t.Fatalf("settings apply: exit %d\n%s", r.code, r.stderr)
	}
	if r := f.run(t, "sync"); r.code != 0 {
		t.Fatalf("sync: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r := f.run(t, "health")
	if r.code != 0 || !regexp.MustCompile(`failing\s+0`).MatchString(r.stdout) || !regexp.MustCompile(`dead jobs\s+0`).MatchString(r.stdout) {
		t.Fatalf("health: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var seen []string
	args := []string{"health", "--status", "in_sync", "--limit", "2"}
	for range 5 {
		r := f.run(t, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
		if strings.Contains(r.stdout, "learner00000@") {
			t.Fatalf("health prints full emails:\n%s", r.stdout)
		}
		seen = append(seen, regexp.MustCompile(`l\*\*\*@school\.example`).FindAllString(r.stdout, -1)...)
		m := regexp.MustCompile(`--cursor (\S+)`).FindStringSubmatch(r.stdout)
		if m == nil {
			break
		}
		args = []string{"health", "--status", "in_sync", "--limit", "2", "--cursor", m[1]}
	}
	if len(seen) != 5 {
		t.Fatalf("the in-sync pages listed %d learners, want 5", len(seen))
	}
	if r := f.run(t, "health", "--status", "failing", "--all", "--json"); r.code != 0 || strings.TrimSpace(r.stdout) != "" {
		t.Fatalf("health --status failing --all --json: exit %d %q", r.code, r.stdout)
	}
	if r := f.run(t, "health", "--status", "sideways"); r.code != 2 {
		t.Fatalf("health --status sideways: exit %d, want 2", r.code)
	}
}

// hubsync dead: a dead job is listed and shown masked, replayed, then discarded.
func TestDeadCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.connect(t)
	st, err := sqlitestore.Open(t.Context(), f.db)
	if err != nil {
		t.Fatal(err)
	}
	kill := func(key string) int64 {
		t.Helper()
		if err := st.Enqueue(t.Context(), hubsync.JobSpec{School: "default", Kind: "contact", Key: key,
			Payload: []byte(`{"learner":{"email":"ann.lee@school.example"}}`)}); err != nil {
			t.Fatal(err)
		}
		jobs, err := st.Dequeue(t.Context(), hubsync.DequeueOptions{})
		if err != nil || len(jobs) != 1 {
			t.Fatalf("dequeue: %v %d", err, len(jobs))
		}
		if err := st.Kill(t.Context(), jobs[0], "hubspot: 400 for ann.lee@school.example"); err != nil {
			t.Fatal(err)
		}
		return jobs[0].ID
	}
	id := kill("ann.lee@school.example")
	kill("bob@school.example")
	st.Close()

	r := f.run(t, "dead", "list")
	if r.code != 0 || strings.Count(r.stdout, "a***@school.example") < 2 || strings.Contains(r.stdout, "ann.lee@") || !strings.Contains(r.stdout, "2 dead letter(s)") {
		t.Fatalf("dead list: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = f.run(t, "dead", "show", fmt.Sprint(id))
	if r.code != 0 || strings.Contains(r.stdout, "ann.lee@") || !strings.Contains(r.stdout, `"email":"a***@school.example"`) {
		t.Fatalf("dead show: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := f.run(t, "dead", "show", "999"); r.code != 1 {
		t.Fatalf("dead show of an unknown id: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if r := f.run(t, "dead", "replay"); r.code != 2 {
		t.Fatalf("dead replay with nothing picked: exit %d, want 2", r.code)
	}
	if r := f.run(t, "dead", "replay", fmt.Sprint(id)); r.code != 0 || !strings.Contains(r.stdout, "Replayed 1 dead letter(s)") {
		t.Fatalf("dead replay: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := f.run(t, "dead", "discard", "--reason", "HUBSPOT: 400"); r.code != 0 || !strings.Contains(r.stdout, "Discarded 1 dead letter(s)") {
		t.Fatalf("dead discard --reason: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := f.run(t, "dead", "list"); r.code != 0 || !strings.Contains(r.stdout, "No dead letters") {
		t.Fatalf("dead list at the end: exit %d\n%s", r.code, r.stdout)
	}
}
