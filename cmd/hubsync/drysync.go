package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/hubsync/hubsync"
)

// dryShown is how many planned changes a dry run prints.
const dryShown = 10

// runDryRun plans a manual sync without writing anything (hubsync.Engine.DryRun): it prints the
// totals and the first planned changes, emails masked, and writes the whole plan to planFile as
// JSON lines when one is named. The file is created 0600: like the sync log, it holds full
// emails.
func runDryRun(ctx context.Context, a *app, e *env, dir hubsync.Direction, planFile string) (err error) {
	school := hubsync.SchoolID(a.cfg.school)
	var enc *json.Encoder
	var w *bufio.Writer
	if planFile != "" {
		f, err := os.OpenFile(planFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("create the plan file: %w", err)
		}
		defer func() {
			if ferr := w.Flush(); err == nil && ferr != nil {
				err = fmt.Errorf("write the plan file: %w", ferr)
			}
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("write the plan file: %w", cerr)
			}
		}()
		w = bufio.NewWriterSize(f, 64<<10)
		enc = json.NewEncoder(w)
	}
	fmt.Fprintf(a.stdout, "Dry run of school %q: reading both sides, writing nothing.\n", school)
	shown := 0
	tot, err := e.eng.DryRun(ctx, school, dir, func(r hubsync.PlanRecord) error {
		if enc != nil {
			if err := enc.Encode(r); err != nil {
				return fmt.Errorf("write the plan file: %w", err)
			}
		}
		if shown < dryShown && (r.Action == hubsync.PlanCreate || r.Action == hubsync.PlanUpdate) {
			shown++
			fmt.Fprintf(a.stdout, "  %s %s%s\n", r.Action, termSafe(hubsync.MaskEmail(r.Email)), termSafe(changesLine(r.Changes)))
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Plan (%s): %d records: %d create, %d update, %d unchanged, %d skip, %d fail.\n",
		tot.Direction, tot.Records, tot.Create, tot.Update, tot.Unchanged, tot.Skip, tot.Fail)
	if planFile != "" {
		fmt.Fprintf(a.stdout, "Wrote the plan to %s (one JSON object a record; it holds full email addresses).\n", planFile)
	}
	return nil
}

// changesLine is ": field old -> new, ..." with emails masked, at most 4 fields.
func changesLine(ch []hubsync.FieldChange) string {
	if len(ch) == 0 {
		return ""
	}
	var parts []string
	for i, c := range ch {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("and %d more", len(ch)-4))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %q -> %q", c.Field, clip(hubsync.MaskEmails(c.Old), 40), clip(hubsync.MaskEmails(c.New), 40)))
	}
	return ": " + strings.Join(parts, ", ")
}
