package main

import (
	"bytes"
	"os"
	"slices"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the command's children: the fleet starts them as
// os.Executable() with -child, which here is this binary.
func TestMain(m *testing.M) {
	if slices.Contains(os.Args[1:], "-child") {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestFleetTiny runs a tiny fleet (2 processes, 6 schools of 1,600 learners, live changes during the
// backfills, one process killed with SIGKILL while they run) on PostgreSQL, so the command cannot
// rot; the full run is on demand (docs/fleet-benchmark.md). It fails when a learner's last change
// is missing from its portal, a backfill does not finish, or the killed process's schools do not
// move on within 15 s.
func TestFleetTiny(t *testing.T) {
	db := os.Getenv("TEST_DATABASE_URL")
	if db == "" {
		t.Skip("TEST_DATABASE_URL is not set: the fleet shares one PostgreSQL store (CI's .ci/postgres.sh starts one and sets it)")
	}
	if testing.Short() {
		t.Skip("the tiny fleet takes about 15 s")
	}
	o := options{db: db, k: 2, schools: 6, learners: 1600, hsRequests: 4, hsWindow: time.Second, lwRequests: 1000,
		liveEvery: 20 * time.Millisecond, killAfter: time.Second, duration: 90 * time.Second, seed: 15,
		workers: 4, backfill: 4}
	var logs bytes.Buffer
	rep, err := run(t.Context(), o, &logs)
	if err != nil {
		t.Fatalf("%v\n%s", err, logs.String())
	}
	var out bytes.Buffer
	rep.print(&out)
	if !rep.Pass || rep.LiveChanges == 0 || rep.KilledSchools == 0 {
		t.Fatalf("fleet run (want pass, live changes made, and the killed process serving schools when it died):\n%s\n%s", out.String(), logs.String())
	}
	t.Logf("\n%s", out.String())
}
