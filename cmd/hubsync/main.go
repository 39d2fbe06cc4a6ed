// Command hubsync syncs LearnWorlds schools' learners with HubSpot contacts from a terminal.
//
//	hubsync connect              connect the school to a HubSpot portal (OAuth, or --refresh-token)
//	                             and store its LearnWorlds connection (--learnworlds-only: just that)
//	hubsync settings apply -f F  save the school's settings from a JSON file; prints the mapping report
//	hubsync settings show        print the saved settings (JSON) and the mapping report
//	hubsync sync                 run a manual sync in the foreground, with progress; Ctrl-C pauses it
//	hubsync serve                run the workers, the webhook endpoints and /healthz, /status for
//	                             every school of the store (or --schools), or the --school one
//	hubsync status               print every school's status, or the --school one's (--json for
//	                             the /status and /status/{school} documents)
//	hubsync reseal               seal every school's stored tokens with the current --token-key
//	hubsync disconnect           revoke the school's HubSpot tokens and forget them
//	hubsync version              print the version (module version, VCS revision, Go version)
//
// Every subcommand reads its configuration from flags or from HUBSYNC_* environment variables
// (run "hubsync <command> -h" for the list). A school's LearnWorlds flags are needed once, by
// "connect": it stores them with the school, and the other commands use the stored connection
// when no --learnworlds-* flag is given. State (tokens, settings, queue, checkpoints) lives in
// the store: a SQLite file by default (--db), or PostgreSQL when --db is a postgres:// URL. The
// HubSpot tokens and LearnWorlds secrets in it are sealed with --token-key (or
// HUBSYNC_TOKEN_KEY, or --token-key-file); without a key each command warns once and stores them
// unencrypted.
//
// Exit codes: 0 success; 1 failure; 2 bad usage or a malformed settings file; 3 a sync finished
// with failed records; 4 status found a school degraded; 130 interrupted (a sync interrupted
// with Ctrl-C resumes on the next "hubsync sync").
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitFailedRecs  = 3
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// command is one subcommand.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, a *app, args []string) error
}

var commands = []command{
	{"connect", "[--refresh-token T]", "connect the school to HubSpot (OAuth in a browser, or an existing refresh token) and store its LearnWorlds connection", runConnect},
	{"settings", "apply -f FILE | show", "save the school's settings from a JSON file, or show them, with the mapping report", runSettings},
	{"sync", "[--direction D] [--restart]", "run a manual sync in the foreground; Ctrl-C pauses it, a rerun resumes", runSync},
	{"serve", "[--listen ADDR] [--schools A,B]", "run the workers and the webhook endpoints, /healthz and /status, for every school of the store", runServe},
	{"status", "[--school ID] [--json]", "list every school's health, or print one school's connection, queue, manual sync and last errors", runStatus},
	{"reseal", "--token-key K", "seal every school's tokens with the current key (plain ones and old keys' alike)", runReseal},
	{"health", "[--status S] [--all]", "the school's sync health: learners in sync, excluded (and why) and failing (and why)", runHealth},
	{"dead", "list | show ID | replay ID|--all|--reason R | discard ...", "list, show, replay or discard the school's dead-lettered jobs", runDead},
	{"catch-up", "--since T [--side S]", "read what changed since T (HubSpot or LMS side) and sync it, without a full resync", runCatchUp},
	{"disconnect", "[--yes]", "revoke the school's HubSpot tokens and forget them (pending work is kept for a reconnect)", runDisconnect},
	{"version", "", "print hubsync's version, VCS revision and Go version", runVersion},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "hubsync keeps a LearnWorlds school's learners and HubSpot contacts in sync.")
	fmt.Fprintln(w, "\nUsage: hubsync <command> [flags]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %-28s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"hubsync <command> -h\" for its flags and environment variables.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 failure, 2 bad usage or malformed settings file, 3 sync finished with failed records, 130 interrupted.")
}

// run runs the command line args and returns the exit code. getenv reads the environment.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		usage(stdout)
		return exitOK
	case "--version", "-version":
		name, args = "version", []string{"version"}
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		a := &app{stdout: stdout, stderr: stderr, getenv: getenv, name: name, summary: c.summary}
		err := c.run(ctx, a, args[1:])
		return a.exit(err)
	}
	fmt.Fprintf(stderr, "hubsync: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

// usageError is a bad command line; it exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitError carries a specific exit code and an optional message already printed.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// exit prints err as one actionable line and returns the exit code for it.
func (a *app) exit(err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintln(a.stderr, "hubsync:", termSafe(ee.msg))
		}
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "hubsync %s: %s (see \"hubsync %s -h\")\n", a.name, termSafe(ue.msg), a.name)
		return exitUsage
	case errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(a.stderr, "hubsync: interrupted")
		return exitInterrupted
	}
	fmt.Fprintln(a.stderr, "hubsync:", explain(err))
	return exitFailure
}
