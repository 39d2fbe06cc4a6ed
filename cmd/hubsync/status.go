package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hubsync/hubsync"
)

// runStatus prints the school's status, as a table or (--json) as the /status/{school}
// document; without --school, every school of the store (listStatus).
func runStatus(ctx context.Context, a *app, args []string) error {
	fs := a.flags("[--school ID] [--json]")
	asJSON := fs.Bool("json", false, "print the status as JSON (the document serve answers on /status/{school}; without --school the list it answers on /status)")
	if err := a.parse(fs, args, quiet); err != nil {
		return err
	}
	e, err := a.open(ctx, engineOptions{storeOnly: true})
	if err != nil {
		return err
	}
	defer e.close()
	if !a.schoolGiven {
		return a.listStatus(ctx, e, *asJSON)
	}
	st, err := a.schoolStatus(ctx, e.eng, hubsync.SchoolID(a.cfg.school))
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return err
		}
		return degradedExit(st)
	}
	printStatus(a.stdout, st)
	return degradedExit(st)
}

// schoolStatus is the engine's status of school, its mapping error said plainly when the
// HubSpot app's credentials were not given.
func (a *app) schoolStatus(ctx context.Context, eng *hubsync.Engine, school hubsync.SchoolID) (hubsync.SchoolStatus, error) {
	st, err := eng.Status(ctx, school)
	if err != nil {
		return st, err
	}
	if st.MappingError != "" && (a.cfg.hsID == "" || a.cfg.hsSecret == "") {
		st.MappingError = errStoreOnly.Error()
	}
	return st, nil
}

// statuses returns the status of every school of the store, sorted by id.
func (a *app) statuses(ctx context.Context, eng *hubsync.Engine, st hubsync.Store) ([]hubsync.SchoolStatus, error) {
	ids, err := st.ListSchools(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]hubsync.SchoolStatus, 0, len(ids))
	for _, id := range ids {
		s, err := a.schoolStatus(ctx, eng, id)
		if err != nil {
			return nil, fmt.Errorf("school %q: %w", id, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// listStatus prints every school's status: one line each (a table), or (--json) a JSON array of
// the per-school documents, the one serve answers on /status. It exits 4 when a school is
// degraded, naming each.
func (a *app) listStatus(ctx context.Context, e *env, asJSON bool) error {
	all, err := a.statuses(ctx, e.eng, e.store)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(all); err != nil {
			return err
		}
	} else {
		printStatusList(a.stdout, all)
	}
	return degradedListExit(all)
}

// printStatusList prints one row per school: id, health, HubSpot portal, mode, queue.
func printStatusList(w io.Writer, all []hubsync.SchoolStatus) {
	if len(all) == 0 {
		fmt.Fprintln(w, "No school in the store yet: run \"hubsync connect --school ID\".")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHOOL\tHEALTH\tHUBSPOT\tMODE\tQUEUE")
	for _, st := range all {
		hs := "not connected"
		switch {
		case st.Connected:
			hs = fmt.Sprintf("portal %d", st.PortalID)
		case st.Deactivated:
			hs = "CONNECTION LOST"
		}
		q := st.Queue
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d ready, %d scheduled, %d in progress, %d dead\n",
			termSafe(string(st.School)), termSafe(healthLine(st)), hs, termSafe(string(st.Mode)), q.Ready, q.Scheduled, q.Leased, q.Dead)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "Run \"hubsync status --school ID\" for one school's details.")
}

// degradedListExit is degradedExit for a list: exit 4 naming every degraded school.
func degradedListExit(all []hubsync.SchoolStatus) error {
	var msgs []string
	for _, st := range all {
		if err := degradedExit(st); err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return &exitError{code: exitDegraded, msg: strings.Join(msgs, "\n")}
}

// printStatus prints a SchoolStatus as a two-column table.
func printStatus(w io.Writer, st hubsync.SchoolStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%s\n", k, termSafe(fmt.Sprint(v))) } // values hold HubSpot's words
	row("school", st.School)
	row("health", healthLine(st))
	switch {
	case st.Connected:
		row("HubSpot", fmt.Sprintf("connected to portal %d (%s)", st.PortalID, st.Domain))
	case st.Deactivated:
		row("HubSpot", fmt.Sprintf("CONNECTION LOST %s: %s; run \"hubsync connect\"", st.DeactivatedAt.UTC().Format(time.RFC3339), st.DeactivatedReason))
	default:
		row("HubSpot", "not connected; run \"hubsync connect\"")
	}
	row("mode", st.Mode)
	if st.MappingWarning != "" {
		row("mapping", "WARNING: "+st.MappingWarning)
	}
	if st.MappingError != "" {
		row("mapping", "could not be checked: "+st.MappingError)
	}
	q := st.Queue
	row("queue", fmt.Sprintf("%d ready, %d scheduled, %d in progress, %d dead", q.Ready, q.Scheduled, q.Leased, q.Dead))
	if m := st.ManualSync; m != nil {
		state := string(m.State)
		if m.State == hubsync.ManualRunning {
			state = "in progress (paused unless a hubsync sync or serve is running)"
		}
		row("manual sync", fmt.Sprintf("run %d %s", m.Run, state))
		row("", counts(*m))
	} else {
		row("manual sync", "never run")
	}
	for _, c := range st.CatchUps {
		row("catch-up", catchUpLine(c))
	}
	for i, e := range st.LastErrors {
		k := ""
		if i == 0 {
			k = "last errors"
		}
		row(k, e)
	}
	_ = tw.Flush()
}
