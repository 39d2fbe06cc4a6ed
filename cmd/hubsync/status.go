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

// listed is one school of the list: its status, or the error reading it (a token sealed with a
// key not given, for one) in "error" with the status's other fields empty but "school".
type listed struct {
	hubsync.SchoolStatus
	Error string `json:"error,omitempty"`
}

// statuses returns the status of every school of the store, sorted by id. A school whose status
// cannot be read is listed with its error; the others are listed all the same.
func (a *app) statuses(ctx context.Context, eng *hubsync.Engine, st hubsync.Store) ([]listed, error) {
	ids, err := st.ListSchools(ctx)
	if err != nil {
		return nil, err
	}
	return a.statusesOf(ctx, eng, ids)
}

// statusesOf is statuses of the schools ids.
func (a *app) statusesOf(ctx context.Context, eng *hubsync.Engine, ids []hubsync.SchoolID) ([]listed, error) {
	out := make([]listed, 0, len(ids))
	for _, id := range ids {
		s, err := a.schoolStatus(ctx, eng, id)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			out = append(out, listed{SchoolStatus: hubsync.SchoolStatus{School: id}, Error: explain(err)})
			continue
		}
		out = append(out, listed{SchoolStatus: s})
	}
	return out, nil
}

// listStatus prints every school's status: one line each (a table), or (--json) a JSON array of
// the per-school documents, the one serve answers on /status. It exits 1 when a school's status
// could not be read, else 4 when a school is degraded, naming each.
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
	return listExit(all)
}

// printStatusList prints one row per school: id, health, HubSpot portal, mode, queue.
func printStatusList(w io.Writer, all []listed) {
	if len(all) == 0 {
		fmt.Fprintln(w, "No school in the store yet: run \"hubsync connect --school ID\".")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHOOL\tHEALTH\tHUBSPOT\tMODE\tQUEUE")
	for _, l := range all {
		if l.Error != "" {
			fmt.Fprintf(tw, "%s\tERROR: %s\t\t\t\n", termSafe(string(l.School)), termSafe(l.Error))
			continue
		}
		st := l.SchoolStatus
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

// listExit is the list's outcome once printed: exit 1 naming every school whose status could not
// be read, else exit 4 naming every degraded school (degradedExit's line for each), else nil.
func listExit(all []listed) error {
	var failed, degraded []string
	for _, l := range all {
		if l.Error != "" {
			failed = append(failed, "school "+string(l.School)+": "+l.Error)
		} else if err := degradedExit(l.SchoolStatus); err != nil {
			degraded = append(degraded, err.Error())
		}
	}
	if len(failed) > 0 {
		return &exitError{code: exitFailure, msg: "could not read the status of " + strings.Join(failed, "\n")}
	}
	if len(degraded) > 0 {
		return &exitError{code: exitDegraded, msg: strings.Join(degraded, "\n")}
	}
	return nil
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
