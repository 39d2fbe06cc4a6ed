package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hubsync/hubsync"
)

// runDead runs "dead list", "dead show ID", "dead replay ID|--all|--reason R" and
// "dead discard ID|--all|--reason R": the school's dead-lettered jobs, emails masked.
func runDead(ctx context.Context, a *app, args []string) error {
	subs := map[string]bool{"list": true, "show": true, "replay": true, "discard": true}
	if len(args) == 0 || !subs[args[0]] {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(a.stdout, "Usage: hubsync dead list [--json] | show ID [--json] | replay ID|--all|--reason R [--kind K] | discard ID|--all|--reason R [--kind K]\n\nRun \"hubsync dead list -h\" for the flags.")
			return nil
		}
		return &usageError{msg: "want \"dead list\", \"dead show ID\", \"dead replay ID|--all|--reason R\" or \"dead discard ID|--all|--reason R\""}
	}
	sub := args[0]
	a.name = "dead " + sub
	args = args[1:]
	var id int64
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		n, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || n <= 0 {
			return &usageError{msg: fmt.Sprintf("dead letter id %q: want a positive number (see \"hubsync dead list\")", args[0])}
		}
		id, args = n, args[1:]
	}
	var fs = a.flags(map[string]string{"list": "[--json]", "show": "ID [--json]",
		"replay": "ID | --all | --reason TEXT [--kind K]", "discard": "ID | --all | --reason TEXT [--kind K]"}[sub])
	asJSON := fs.Bool("json", false, "print JSON")
	all := fs.Bool("all", false, "every dead letter of the school")
	reason := fs.String("reason", "", "the dead letters whose last error contains TEXT (case-insensitive)")
	kind := fs.String("kind", "", "only dead letters of this job kind (contact, stage, event, inbound, manual, ...)")
	if err := a.parse(fs, args, quiet); err != nil {
		return err
	}
	school := hubsync.SchoolID(a.cfg.school)
	filter := hubsync.DeadFilter{ID: id, All: *all, Reason: *reason, Kind: hubsync.JobKind(*kind)}
	switch sub {
	case "show":
		if id == 0 {
			return &usageError{msg: "dead show needs the id of a dead letter (see \"hubsync dead list\")"}
		}
	case "replay", "discard":
		n := 0
		for _, set := range []bool{id != 0, *all, *reason != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			return &usageError{msg: "dead " + sub + " needs exactly one of ID, --all and --reason TEXT"}
		}
	}
	e, err := a.open(ctx, engineOptions{})
	if err != nil {
		return err
	}
	defer e.close()
	switch sub {
	case "list":
		dead, err := e.eng.DeadLetters(ctx, school)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(a, dead)
		}
		if len(dead) == 0 {
			fmt.Fprintf(a.stdout, "No dead letters in school %q.\n", school)
			return nil
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tATTEMPTS\tQUEUED\tKEY\tLAST ERROR")
		for _, d := range dead {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.Kind, d.Attempts, d.EnqueuedAt.UTC().Format(time.RFC3339),
				termSafe(d.Key), termSafe(clip(d.LastError, 100)))
		}
		_ = tw.Flush()
		fmt.Fprintf(a.stdout, "%d dead letter(s); \"hubsync dead show ID\" shows one, \"hubsync dead replay ID|--all|--reason TEXT\" puts them back.\n", len(dead))
		return nil
	case "show":
		d, err := e.eng.DeadLetter(ctx, school, id)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(a, d)
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%s\n", k, termSafe(fmt.Sprint(v))) }
		row("id", d.ID)
		row("kind", d.Kind)
		row("key", d.Key)
		row("attempts", d.Attempts)
		row("queued", d.EnqueuedAt.UTC().Format(time.RFC3339))
		row("last error", d.LastError)
		row("payload", string(d.Payload))
		_ = tw.Flush()
		return nil
	case "replay":
		n, err := e.eng.ReplayDead(ctx, school, filter)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Replayed %d dead letter(s): they are queued again and a running \"hubsync serve\" (or the next \"hubsync sync\") sends them; once-only timeline events are still sent at most once.\n", n)
		return nil
	default:
		n, err := e.eng.DiscardDead(ctx, school, filter)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Discarded %d dead letter(s).\n", n)
		return nil
	}
}

// printJSON prints v indented on stdout.
func printJSON(a *app, v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// clip shortens s to n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
