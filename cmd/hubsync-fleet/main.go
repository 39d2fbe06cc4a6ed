// Command hubsync-fleet measures a fleet: K processes running engines on one PostgreSQL store,
// S schools each connected to its own portal, a backfill of every school with live changes made
// while the backfills run, and one process killed with SIGKILL in the middle.
//
//	go run ./cmd/hubsync-fleet -db "$TEST_DATABASE_URL"          # K=3, S=200 x 600, 1 request / 10 s a portal
//	go run ./cmd/hubsync-fleet -db "$TEST_DATABASE_URL" -seed 42 -json
//
// This process hosts the fakes: one fake HubSpot portal per school (hubspottest servers made
// WithTokenPrefix, behind one front that routes each request by its token's prefix, as HubSpot's
// one API host serves every portal) and one fake LearnWorlds per school. It connects the schools
// and saves their settings in a fresh PostgreSQL schema, then starts K children (this program
// again, with -child), each running one engine (Run: the "hubsync serve" workers) on that schema.
// It starts every school's manual sync and, while they run, makes live changes (a learner's
// country changed in LearnWorlds and announced with LearnerChanged, as a webhook would). After
// -kill-after it kills child 0 with SIGKILL and does not restart it. When every backfill is done
// and every live change has landed (or -duration passes) it stops the children and checks every
// learner's final state in its portal.
//
// Each portal's HubSpot limit is -hs-requests per -hs-window (scaled from HubSpot's 110 per 10 s as
// the report states); LearnWorlds' is -lw-requests per -hs-window, set high so HubSpot binds.
// It reports aggregate HubSpot throughput over the sum of the portals' ceilings, the slowest
// school's throughput over the mean, live-change latency (p50, p99, and scaled to real limits),
// the time until the killed process's schools move on, changes lost, writes that changed
// nothing (duplicates), 429s, CPU per contact of the children (rusage user+sys), PostgreSQL's CPU
// (from /proc, every postgres process of the machine) and /proc/loadavg at start and end.
// The exit code is 1 when a goal is missed, 2 when the run could not be set up.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	db          string
	k           int
	schools     int
	learners    int
	hsRequests  int
	hsWindow    time.Duration
	lwRequests  int
	liveEvery   time.Duration
	killAfter   time.Duration
	duration    time.Duration
	seed        int64
	workers     int
	backfill    int
	jsonOut     bool
	keep        bool
	child       string // internal: the child's config file
	childIndex  int
	verboseLogs bool
}

func main() {
	var o options
	fs := flag.NewFlagSet("hubsync-fleet", flag.ContinueOnError)
	fs.StringVar(&o.db, "db", os.Getenv("TEST_DATABASE_URL"), "PostgreSQL URL (default $TEST_DATABASE_URL); the run uses a fresh schema and drops it")
	fs.IntVar(&o.k, "k", 3, "child processes, each running one engine on the shared store")
	fs.IntVar(&o.schools, "schools", 200, "schools, each with its own portal and its own LearnWorlds")
	fs.IntVar(&o.learners, "learners", 600, "learners per school, all backfilled")
	fs.IntVar(&o.hsRequests, "hs-requests", 1, "each portal's HubSpot limit: requests per -hs-window (HubSpot's is 110; see docs/fleet-benchmark.md for why the default is 1)")
	fs.DurationVar(&o.hsWindow, "hs-window", 10*time.Second, "each portal's HubSpot limit window (HubSpot's is 10 s)")
	fs.IntVar(&o.lwRequests, "lw-requests", 1000, "each school's LearnWorlds limit per -hs-window (high, so HubSpot binds)")
	fs.DurationVar(&o.liveEvery, "live-every", 20*time.Millisecond, "one live change this often during the backfills, on a random school")
	fs.DurationVar(&o.killAfter, "kill-after", 30*time.Second, "SIGKILL child 0 this long after the backfills start (0: never)")
	fs.DurationVar(&o.duration, "duration", 5*time.Minute, "the longest the run lasts before it is judged")
	fs.Int64Var(&o.seed, "seed", 0, "random seed (0: from the clock; printed in the report)")
	fs.IntVar(&o.workers, "workers", 16, "each child's live LMS -> HubSpot workers (Config.Workers)")
	fs.IntVar(&o.backfill, "backfill-workers", 110, "each child's backfill workers (Config.BackfillWorkers)")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (children's logs) and the schema")
	fs.StringVar(&o.child, "child", "", "internal: run as a child with this config file")
	fs.IntVar(&o.childIndex, "child-index", 0, "internal: the child's number")
	fs.BoolVar(&o.verboseLogs, "v", false, "children log at INFO")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if o.child != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := runChild(ctx, o); err != nil {
			fmt.Fprintln(os.Stderr, "hubsync-fleet child:", err)
			os.Exit(2)
		}
		return
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "hubsync-fleet:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, o, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hubsync-fleet:", err)
		os.Exit(2)
	}
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		rep.print(os.Stderr)
	} else {
		rep.print(os.Stdout)
	}
	if !rep.Pass {
		os.Exit(1)
	}
}

func (o options) validate() error {
	switch {
	case o.db == "":
		return fmt.Errorf("-db or TEST_DATABASE_URL is needed: the fleet shares one PostgreSQL store")
	case o.k < 1 || o.schools < 1 || o.learners < 1:
		return fmt.Errorf("-k, -schools and -learners must be >= 1")
	case o.hsRequests < 1 || o.hsWindow <= 0 || o.lwRequests < 1:
		return fmt.Errorf("-hs-requests, -hs-window and -lw-requests must be > 0")
	case o.liveEvery <= 0 || o.duration <= 0:
		return fmt.Errorf("-live-every and -duration must be > 0")
	}
	return nil
}
