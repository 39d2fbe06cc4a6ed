package main

import (
	"context"
	"errors"
	"fmt"
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

	if err := preflight(ctx, a, e); err != nil {
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
		fmt.Fprintf(a.stdout, "Cancelled manual sync run %d.\n", prog.Run)
		resume = false
	}
	if resume {
		fmt.Fprintf(a.stdout, "Resuming manual sync run %d (%s) from its checkpoint: %d records done.\n", prog.Run, prog.Direction, prog.Done)
		if d != "" && d != prog.Direction {
			fmt.Fprintf(a.stdout, "Note: --direction %s ignored; the paused run syncs %s (use --restart to start over).\n", d, prog.Direction)
		}
	} else {
		if prog, err = eng.StartManualSync(ctx, school, d); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Started manual sync run %d (%s) of school %q.\n", prog.Run, prog.Direction, school)
	}
	run := prog.Run

	workCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()
	engineDone := make(chan error, 1)
	go func() { engineDone <- eng.Run(workCtx) }()
	stop := func() { stopWorkers(); <-engineDone }

	tty := isTerminal(a.stdout)
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
			fmt.Fprintf(a.stdout, "Interrupted: manual sync run %d paused at %d records (%d failed); run \"hubsync sync\" to resume.\n", run, p.Done, p.Failed)
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
			if tty {
				fmt.Fprint(a.stdout, "\r\x1b[K"+progressBar(p))
			} else if fromTick {
				fmt.Fprintln(a.stdout, progressLine(p))
			}
			continue
		}
		stop()
		if tty {
			fmt.Fprintln(a.stdout, "\r\x1b[K"+progressBar(p))
		}
		fmt.Fprint(a.stdout, summary(p, 5))
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
func preflight(ctx context.Context, a *app, e *env) error {
	rep, err := e.eng.MappingReport(ctx, hubsync.SchoolID(a.cfg.school))
	if err != nil {
		return err
	}
	if rep.Warning != "" {
		fmt.Fprintf(a.stdout, "WARNING: %s (\"hubsync settings show\" lists them; invalid rows are skipped)\n", termSafe(rep.Warning))
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
