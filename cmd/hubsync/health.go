package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/hubsync/hubsync"
)

// runHealth prints the school's sync health: without --status a summary (learners excluded by
// reason, failing, dead jobs), with it one page of that list (or every page with --all), emails
// masked.
func runHealth(ctx context.Context, a *app, args []string) error {
	fs := a.flags("[--status in_sync|excluded|failing] [--direction D] [--limit N] [--cursor C | --all] [--json]")
	status := fs.String("status", "", "list the learners in_sync, excluded or failing (default: a summary)")
	dir := fs.String("direction", "", "excluded and failing lists: to_hubspot or to_lms only")
	limit := fs.Int("limit", hubsync.LogLimitDefault, "learners per page, 1 to 1000")
	cursor := fs.String("cursor", "", "the next page: the cursor the previous page printed")
	all := fs.Bool("all", false, "every page (one JSON object a line with --json)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := a.parse(fs, args, quiet); err != nil {
		return err
	}
	st := hubsync.HealthStatus(*status)
	if st != "" && st.Validate() != nil {
		return &usageError{msg: fmt.Sprintf("--status %q: want in_sync, excluded or failing", *status)}
	}
	if d := hubsync.Direction(*dir); d != "" && d != hubsync.DirectionToHubSpot && d != hubsync.DirectionToLMS {
		return &usageError{msg: fmt.Sprintf("--direction %q: want to_hubspot or to_lms", *dir)}
	}
	if *limit < 1 || *limit > 1000 {
		return &usageError{msg: "--limit must be 1 to 1000"}
	}
	e, err := a.open(ctx, engineOptions{})
	if err != nil {
		return err
	}
	defer e.close()
	school := hubsync.SchoolID(a.cfg.school)
	if st == "" {
		sum, err := e.eng.SyncHealthSummary(ctx, school)
		if err != nil {
			return err
		}
		for i := range sum.FirstFailing {
			sum.FirstFailing[i] = maskedHealth(sum.FirstFailing[i])
		}
		if *asJSON {
			return printJSON(a, sum)
		}
		printHealthSummary(a, school, sum)
		return nil
	}
	enc := json.NewEncoder(a.stdout)
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "EMAIL\tDIRECTION\tSINCE\tREASON")
	}
	row := func(h hubsync.HealthEntry) error {
		h = maskedHealth(h)
		if *asJSON {
			return enc.Encode(h)
		}
		who := h.Email
		if who == "" {
			who = "(no email) learner " + h.LearnerID
		}
		dir := string(h.Direction)
		if dir == "" {
			dir = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", termSafe(who), dir, h.At.UTC().Format(time.RFC3339), termSafe(clip(h.Describe(), 100)))
		return nil
	}
	if *all {
		n := 0
		for h, err := range e.eng.SyncHealthAll(ctx, school, st, hubsync.Direction(*dir)) {
			if err != nil {
				return err
			}
			if err := row(h); err != nil {
				return err
			}
			n++
		}
		if !*asJSON {
			_ = tw.Flush()
			fmt.Fprintf(a.stdout, "%d learner(s) %s.\n", n, st)
		}
		return nil
	}
	page, err := e.eng.SyncHealth(ctx, school, hubsync.HealthQuery{Status: st, Direction: hubsync.Direction(*dir), Cursor: *cursor, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		for i := range page.Entries {
			page.Entries[i] = maskedHealth(page.Entries[i])
		}
		return printJSON(a, page)
	}
	for _, h := range page.Entries {
		_ = row(h)
	}
	_ = tw.Flush()
	if page.Next != "" {
		fmt.Fprintf(a.stdout, "More: hubsync health --status %s --cursor %s\n", st, page.Next)
	}
	return nil
}

// maskedHealth masks the entry's email and any address its reason holds.
func maskedHealth(h hubsync.HealthEntry) hubsync.HealthEntry {
	if h.Email != "" {
		h.Email = hubsync.MaskEmail(h.Email)
	}
	h.Reason = hubsync.MaskEmails(h.Reason)
	return h
}

func printHealthSummary(a *app, school hubsync.SchoolID, sum hubsync.HealthSummary) {
	more := ""
	if sum.Capped {
		more = "+"
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "school\t%s\n", school)
	fmt.Fprintf(tw, "failing\t%d%s\n", sum.Failing, more)
	excl := 0
	for _, n := range sum.Excluded {
		excl += n
	}
	fmt.Fprintf(tw, "excluded\t%d%s\n", excl, more)
	for _, k := range slices.Sorted(maps.Keys(sum.Excluded)) {
		fmt.Fprintf(tw, "  %s\t%d\n", k, sum.Excluded[k])
	}
	fmt.Fprintf(tw, "dead jobs\t%d\n", sum.DeadJobs)
	for i, h := range sum.FirstFailing {
		k := ""
		if i == 0 {
			k = "first failing"
		}
		fmt.Fprintf(tw, "%s\t%s: %s\n", k, termSafe(h.Email), termSafe(clip(h.Describe(), 100)))
	}
	_ = tw.Flush()
	fmt.Fprintln(a.stdout, "Lists: hubsync health --status in_sync|excluded|failing; dead jobs: hubsync dead list")
}
