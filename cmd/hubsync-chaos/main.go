// Command hubsync-chaos drives "hubsync serve" through faults and checks that nothing was lost
// and nothing was sent twice.
//
// It builds the hubsync command, hosts a fake HubSpot and a fake LearnWorlds in its own process,
// connects a school and applies two-way settings, then runs "hubsync serve" on SQLite or
// PostgreSQL while it makes a steady stream of learner changes, activities and HubSpot edits.
// Meanwhile it kills the server with SIGKILL at random moments (and restarts it after a short
// random delay), takes HubSpot and LearnWorlds down and back, injects 429 bursts and 5xx
// answers, and revokes and restores the HubSpot connection, one fault at a time. After each fault
// it makes one LMS change and one HubSpot edit and times how long each takes to land: that is the
// fault's recovery time. At the end it stops the stream, lets the server drain and compares both
// fakes with its record of every change it made.
//
//	go run ./cmd/hubsync-chaos -store sqlite -kills 20
//	go run ./cmd/hubsync-chaos -store postgres -db "$TEST_DATABASE_URL" -kills 20 -json
//
// Goal: 0 lost, 0 twice, every recovery under 30 s; the exit code is 1 when it is not met, 2 when
// the run could not be set up.
//
// Webhook deliveries go through a relay in this process that answers the fakes at once and
// delivers to the server in order, retrying until accepted: HubSpot retries a failed delivery for
// up to a day and LearnWorlds retries too (undocumented), while the fake HubSpot retries only on
// its next change and drops an event after 10 attempts, and the fake LearnWorlds does not retry
// on its own. HubSpot's API is reached through a proxy in this process that injects the HubSpot
// faults and counts the timeline events HubSpot accepted, resends included.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

// options are the command's flags.
type options struct {
	store     string        // sqlite or postgres
	db        string        // the PostgreSQL URL
	kills     int           // SIGKILLs of the server, at least
	rounds    int           // rounds of each other fault
	duration  time.Duration // the least time the stream runs
	seed      int64
	learners  int           // seeded learners
	lwRate    float64       // LearnWorlds changes and activities per second
	hsRate    float64       // HubSpot edits per second
	faults    []faultKind   // the other faults, each injected rounds times
	maxHold   time.Duration // the longest a fault lasts
	drain     time.Duration // the longest wait for the server to drain at the end
	goal      time.Duration // the recovery goal
	binary    string        // a prebuilt hubsync binary ("" builds one)
	keep      bool          // keep the work directory
	jsonOut   bool
	verbose   bool
	out, logw io.Writer
}

func main() {
	o := options{out: os.Stdout, logw: os.Stderr}
	fs := flag.NewFlagSet("hubsync-chaos", flag.ContinueOnError)
	fs.StringVar(&o.store, "store", "sqlite", "the store: sqlite or postgres")
	fs.StringVar(&o.db, "db", os.Getenv("TEST_DATABASE_URL"), "PostgreSQL URL for -store postgres (default $TEST_DATABASE_URL)")
	fs.IntVar(&o.kills, "kills", 20, "how many times to kill -9 the server")
	fs.IntVar(&o.rounds, "rounds", 2, "how many times to inject each other fault (outages, 429s, 5xx, revocation)")
	faults := fs.String("faults", "hs503,hsdrop,hs429,hs5xx,lw503,lw429,lw500,revoke", "the other faults: HubSpot 503, unreachable, 429, 5xx; LearnWorlds 503, 429, 500; a revoked connection")
	fs.DurationVar(&o.maxHold, "max-fault", 8*time.Second, "the longest a fault lasts (each lasts a quarter of it to all of it)")
	fs.DurationVar(&o.duration, "duration", 3*time.Minute, "the least time the stream of changes runs")
	fs.Int64Var(&o.seed, "seed", 0, "random seed (0: from the clock; printed in the report)")
	fs.IntVar(&o.learners, "learners", 300, "learners seeded in the fake school")
	fs.Float64Var(&o.lwRate, "lms-rate", 8, "LearnWorlds changes and activities per second")
	fs.Float64Var(&o.hsRate, "hubspot-rate", 2, "HubSpot contact edits per second")
	fs.DurationVar(&o.drain, "drain", 3*time.Minute, "the longest wait for everything to land at the end")
	fs.DurationVar(&o.goal, "goal", 30*time.Second, "every recovery must be shorter than this")
	fs.StringVar(&o.binary, "binary", "", "a built hubsync command to run (default: build ./cmd/hubsync)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (the store file and the server's logs)")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	fs.BoolVar(&o.verbose, "v", false, "log each fault as it happens")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	for _, name := range strings.Split(*faults, ",") {
		k, ok := faultNames[strings.TrimSpace(name)]
		if !ok && strings.TrimSpace(name) != "" {
			fmt.Fprintf(os.Stderr, "hubsync-chaos: -faults: unknown fault %q\n", name)
			os.Exit(2)
		}
		if ok {
			o.faults = append(o.faults, k)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hubsync-chaos:", err)
		os.Exit(2)
	}
	if o.jsonOut {
		enc := json.NewEncoder(o.out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		rep.print(o.out)
	}
	if !rep.Pass {
		os.Exit(1)
	}
}

// validate checks the flags.
func (o *options) validate() error {
	switch o.store {
	case "sqlite":
	case "postgres":
		if o.db == "" {
			return errors.New("-store postgres needs -db or TEST_DATABASE_URL")
		}
	default:
		return fmt.Errorf("-store %q: want sqlite or postgres", o.store)
	}
	if o.kills < 0 || o.rounds < 0 || o.learners < 20 || o.lwRate <= 0 || o.hsRate <= 0 || o.maxHold < 100*time.Millisecond {
		return errors.New("-kills and -rounds must be >= 0, -learners >= 20, the rates > 0, -max-fault >= 100ms")
	}
	return nil
}
