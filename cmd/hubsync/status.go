package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/hubsync/hubsync"
)

// runStatus prints the school's status, as a table or (--json) as the /status document.
func runStatus(ctx context.Context, a *app, args []string) error {
	fs := a.flags("[--json]")
	asJSON := fs.Bool("json", false, "print the status as JSON (the document serve answers on /status)")
	if err := a.parse(fs, args, quiet); err != nil {
		return err
	}
	e, err := a.open(ctx, engineOptions{storeOnly: true})
	if err != nil {
		return err
	}
	defer e.close()
	st, err := e.eng.Status(ctx, hubsync.SchoolID(a.cfg.school))
	if err != nil {
		return err
	}
	if st.MappingError != "" && (a.cfg.hsID == "" || a.cfg.hsSecret == "") {
		st.MappingError = errStoreOnly.Error()
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
