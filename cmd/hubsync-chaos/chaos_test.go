package main

import (
	"bytes"
	"testing"
	"time"
)

// TestChaosShort runs the chaos command briefly on SQLite (three kills, a revoked connection and
// a HubSpot outage), so it cannot rot; the full run is on demand (see the README). It fails on anything lost or sent twice, or a recovery of 30 s or more.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos run takes about 30 s")
	}
	t.Parallel()
	var logs bytes.Buffer
	o := options{store: "sqlite", kills: 3, rounds: 1, faults: []faultKind{faultRevoke, faultHSDown},
		duration: 3 * time.Second, maxHold: 1500 * time.Millisecond, seed: 13, learners: 40, lwRate: 8, hsRate: 2,
		drain: time.Minute, goal: 30 * time.Second, verbose: testing.Verbose(), out: &logs, logw: &logs}
	rep, err := run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.print(&out)
	if !rep.Pass || rep.Kills < 3 || len(rep.Faults) != 5 || rep.Verdict.OutFields == 0 || rep.Verdict.InFields == 0 {
		t.Fatalf("chaos run:\n%s\n%s", out.String(), logs.String())
	}
	t.Logf("\n%s", out.String())
}
