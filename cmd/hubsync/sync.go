package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/learnworlds"
)

// runSync runs a manual sync in the foreground. A sync left in progress (interrupted with Ctrl-C,
// or by a crash) is resumed from its checkpoint; --restart cancels it and starts a new one.
//
// Ctrl-C stops the workers but does not cancel the manual sync: its checkpoint stays
// "in_progress", the page in flight goes back to the queue, and the next "hubsync sync" (or a
// running "hubsync serve") carries on from there.
func runSync(ctx context.Context, a *app, args []string) error {
	fs := a.flags("[--direction to_hubspot|to_lms|both] [--restart] [--dry-run [--plan FILE]]")
	dir := fs.String("direction", "", "sync only this way: to_hubspot, to_lms or both (default: the school's mode)")
	restart := fs.Bool("restart", false, "cancel a paused or running manual sync and start a new one")
	interval := fs.Duration("progress-interval", 5*time.Second, "how often a progress line is printed when stdout is not a terminal")
	workers := fs.Int("workers", hubsync.WorkersDefault, "engine workers")
	asJSON := fs.Bool("json", false, "write JSON lines on stdout instead of the bar and summary: an event (started, resumed, progress every --progress-interval, then done, failed, cancelled or interrupted) with the progress; messages go to stderr")
	dry := fs.Bool("dry-run", false, "read both sides and write nothing: print what a sync would do (see --plan)")
	planFile := fs.String("plan", "", "with --dry-run: write the plan to FILE, one JSON object a record (full emails, as the sync log)")
	if err := a.parse(fs, args, quiet); err != nil {
		return err
	}
	if *planFile != "" && !*dry {
		return &usageError{msg: "--plan needs --dry-run"}
	}
	d := hubsync.Direction(*dir)
	if err := d.Validate(); err != nil {
		return &usageError{msg: fmt.Sprintf("--direction %q: want to_hubspot, to_lms or both", *dir)}
	}
	if *interval <= 0 || *workers < 1 {
		return &usageError{msg: "--progress-interval and --workers must be positive"}
	}
	updates := make(chan struct{}, 1)
	e, err := a.open(ctx, engineOptions{needLW: true, workers: *workers, onProgress: func(hubsync.SchoolID, hubsync.ManualProgress) {
		sendOnce(updates, struct{}{})
	}})
	if err != nil {
		return err
	}
	defer e.close()
	eng, school := e.eng, hubsync.SchoolID(a.cfg.school)
	out := newSyncOutput(a, *asJSON)

	if err := preflight(ctx, out.msgs, e, school); err != nil {
		return err
	}
	if *dry {
		return runDryRun(ctx, a, e, d, *planFile)
	}
	prog, err := eng.ManualSync(ctx, school)
	if err != nil && !errors.Is(err, hubsync.ErrNotFound) {
		return err
	}
	resume := err == nil && prog.State == hubsync.ManualRunning
	if resume && *restart {
		if err := eng.CancelManualSync(ctx, school); err != nil {
			return err
		}
		fmt.Fprintf(out.msgs, "Cancelled manual sync run %d.\n", prog.Run)
		resume = false
	}
	if resume {
		fmt.Fprintf(out.msgs, "Resuming manual sync run %d (%s) from its checkpoint: %d records done.\n", prog.Run, prog.Direction, prog.Done)
		out.event("resumed", prog)
		if d != "" && d != prog.Direction {
			fmt.Fprintf(out.msgs, "Note: --direction %s ignored; the paused run syncs %s (use --restart to start over).\n", d, prog.Direction)
		}
	} else {
		if prog, err = eng.StartManualSync(ctx, school, d); err != nil {
			return err
		}
		fmt.Fprintf(out.msgs, "Started manual sync run %d (%s) of school %q.\n", prog.Run, prog.Direction, school)
		out.event("started", prog)
	}
	run := prog.Run

	workCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()
	engineDone := make(chan error, 1)
	go func() { engineDone <- eng.Run(workCtx) }()
	stop := func() { stopWorkers(); <-engineDone }

	tty := out.tty
	tick := *interval
	if tty {
		tick = 250 * time.Millisecond
	}
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	bg := context.WithoutCancel(ctx)
	for {
		fromTick := false
		select {
		case <-ctx.Done():
			stop()
			p, _ := eng.ManualSync(bg, school)
			if tty {
				fmt.Fprintln(a.stdout)
			}
			out.event("interrupted", p)
			fmt.Fprintf(out.msgs, "Interrupted: manual sync run %d paused at %d records (%d failed); run \"hubsync sync\" to resume.\n", run, p.Done, p.Failed)
			return &exitError{code: exitInterrupted}
		case <-updates:
		case <-ticker.C:
			fromTick = true
		}
		p, err := eng.ManualSync(bg, school)
		if err != nil {
			stop()
			return err
		}
		if p.Run != run {
			stop()
			return fmt.Errorf("manual sync run %d was replaced by run %d (another hubsync process?)", run, p.Run)
		}
		if p.State == hubsync.ManualRunning {
			out.progress(p, fromTick)
			continue
		}
		stop()
		out.finished(p)
		switch {
		case p.State == hubsync.ManualFailed:
			return fmt.Errorf("the manual sync failed: %s; fix the cause and run \"hubsync sync --restart\"", p.Error)
		case p.State == hubsync.ManualCancelled:
			return &exitError{code: exitFailure, msg: "the manual sync was cancelled (by \"hubsync sync --restart\" elsewhere?)"}
		case p.Failed > 0:
			return &exitError{code: exitFailedRecs, msg: fmt.Sprintf("%d %s failed; fix the cause (see the reasons above) and run \"hubsync sync\" again", p.Failed, plural(p.Failed, "record", "records"))}
		case p.Partial > 0:
			return &exitError{code: exitFailedRecs, msg: fmt.Sprintf("%d %s written with some fields refused; fix the cause (see the reasons above) and run \"hubsync sync\" again", p.Partial, plural(p.Partial, "record", "records"))}
		}
		return nil
	}
}

// preflight checks both connections with one cheap call each, so wrong credentials, a revoked
// connection or an unreachable host end the command at once with one line, instead of failing
// the sync's pages one retry after another. It prints the mapping warning, if any.
func preflight(ctx context.Context, w io.Writer, e *env, school hubsync.SchoolID) error {
	rep, err := e.eng.MappingReport(ctx, school)
	if err != nil {
		return err
	}
	if rep.Warning != "" {
		fmt.Fprintf(w, "WARNING: %s (\"hubsync settings show\" lists them; invalid rows are skipped)\n", termSafe(rep.Warning))
	}
	if e.lwClient != nil {
		if _, err := e.lwClient.ListUsersPage(ctx, 1, learnworlds.ListUsersOptions{PerPage: 1}); err != nil {
			return err
		}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
