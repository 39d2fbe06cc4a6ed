package main

import (
	"bufio"
	"context"
	"database/sql"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the example host end to end against the fake HubSpot: every step of the demo
// checks its own outcome (a contact's property in the fake, the host's rows) and fails the run
// otherwise; then the settings page answers on the host's own server.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs the engine for a few seconds; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	serveCtx, stop := context.WithCancel(ctx)
	defer stop()

	dbPath := t.TempDir() + "/lms.db"
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(serveCtx, []string{"-db", dbPath, "-serve", "-timeout", "60s"}, pw)
		pw.CloseWithError(err)
		done <- err
	}()

	var out strings.Builder
	settingsURL := ""
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if m := regexp.MustCompile(`settings page (\S+)`).FindStringSubmatch(line); m != nil {
			settingsURL = m[1]
			break
		}
	}
	if settingsURL == "" {
		t.Fatalf("the demo stopped before serving (%v):\n%s", <-done, out.String())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	for _, want := range []string{
		"1. school demo-school connected",
		"2. PUT learner u1 (Ada Byron)",
		"3. PUT learner u1 (renamed Lovelace)",
		"4. PUT learner u2 with a bad email: 400",
		"5. POST enrolment",
		"stage: customer, timeline events: 1",
		"6. manual sync: the 2 learners",
		"(3 contacts)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out.String())
		}
	}

	resp, err := http.Get(settingsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "HubSpot") {
		t.Errorf("settings page %s: status %d, body %.200q", settingsURL, resp.StatusCode, body)
	}
	noAdmin := strings.Split(settingsURL, "?")[0]
	resp, err = http.Get(noAdmin)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("settings page without the admin: status %d, want 403", resp.StatusCode)
	}

	stop()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}

	// One file: the host's tables and hubsync's, prefixed, side by side.
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var host, ours int
	if err := db.QueryRow(`SELECT count(*) FILTER (WHERE name IN ('learners', 'enrollments')),
		count(*) FILTER (WHERE name LIKE 'hubsync\_%' ESCAPE '\') FROM sqlite_master WHERE type = 'table'`).Scan(&host, &ours); err != nil {
		t.Fatal(err)
	}
	if host != 2 || ours == 0 {
		t.Errorf("the host's file holds %d host tables and %d hubsync_ tables, want 2 and some", host, ours)
	}
	var unprefixed int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('jobs', 'settings', 'connections')`).Scan(&unprefixed); err != nil {
		t.Fatal(err)
	}
	if unprefixed != 0 {
		t.Errorf("hubsync created %d unprefixed tables in the host's file", unprefixed)
	}
}
