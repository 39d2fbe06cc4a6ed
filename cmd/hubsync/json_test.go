package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSyncAndConnectJSON: connect --json prints the connection as one document; sync --json
// writes only JSON lines on stdout, started first and done last with the counts, and the
// messages for people on stderr.
func TestSyncAndConnectJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedSchool(t, f.lw, 300)
	_, refresh := f.hs.MintToken()
	r := f.run(t, "connect", "--refresh-token", refresh, "--json")
	var conn map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &conn); r.code != 0 || err != nil {
		t.Fatalf("connect --json: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	if conn["school"] != "default" || conn["portal_id"] != float64(f.hs.PortalID()) || conn["connected"] != true {
		t.Errorf("connect --json: %v", conn)
	}

	r = f.run(t, "sync", "--json", "--progress-interval", "50ms")
	if r.code != 0 {
		t.Fatalf("sync --json: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var events []string
	var last map[string]any
	for _, l := range lines {
		var ev struct {
			Event    string         `json:"event"`
			Progress map[string]any `json:"progress"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("a stdout line is not JSON: %q (%v)", l, err)
		}
		events = append(events, ev.Event)
		last = ev.Progress
	}
	if events[0] != "started" || events[len(events)-1] != "done" {
		t.Errorf("events %v: want started first and done last", events)
	}
	if last["done"] != float64(300) || last["created"] != float64(300) || last["state"] != "done" {
		t.Errorf("last event's progress: %v", last)
	}
	if _, ok := last["active_seconds"].(float64); !ok {
		t.Errorf("the progress has no active_seconds: %v", last)
	}
	if !strings.Contains(r.stderr, "Started manual sync run 1") || strings.Contains(r.stdout, "Started manual") {
		t.Errorf("messages not on stderr:\nstdout %s\nstderr %s", r.stdout, r.stderr)
	}
}
