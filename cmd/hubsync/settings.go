package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/hubsync/hubsync"
)

// runSettings runs "settings apply -f FILE" and "settings show".
func runSettings(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 || (args[0] != "apply" && args[0] != "show") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(a.stdout, "Usage: hubsync settings apply -f FILE | hubsync settings show [--json]\n\nRun \"hubsync settings apply -h\" for the flags.")
			return nil
		}
		return &usageError{msg: "want \"settings apply -f FILE\" or \"settings show\""}
	}
	sub := args[0]
	a.name = "settings " + sub
	if sub == "show" {
		return settingsShow(ctx, a, args[1:])
	}
	fs := a.flags("-f FILE")
	file := fs.String("f", "", "the settings JSON file (\"-\" reads stdin); see settings.example.json")
	if err := a.parse(fs, args[1:], quiet); err != nil {
		return err
	}
	if *file == "" {
		return &usageError{msg: "-f FILE is required"}
	}
	var data []byte
	var err error
	if *file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(*file)
	}
	if err != nil {
		return fmt.Errorf("read settings file: %w", err)
	}
	s, err := decodeSettings(data)
	if err != nil {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("%s: %v", *file, err)}
	}
	e, err := a.open(ctx, engineOptions{catalog: &hubsync.CatalogOptions{Custom: s.Custom, BillingEnabled: s.BillingEnabled}})
	if err != nil {
		return err
	}
	defer e.close()
	rep, err := e.eng.SaveSettings(ctx, hubsync.SchoolID(a.cfg.school), s)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Saved the settings of school %q (mode %s).\n\n", a.cfg.school, s.Mode.OrDefault())
	printReport(a.stdout, rep)
	return nil
}

func settingsShow(ctx context.Context, a *app, args []string) error {
	fs := a.flags("[--json]")
	asJSON := fs.Bool("json", false, "print the settings and the mapping report as one JSON document")
	if err := a.parse(fs, args, quiet); err != nil {
		return err
	}
	e, err := a.open(ctx, engineOptions{})
	if err != nil {
		return err
	}
	defer e.close()
	school := hubsync.SchoolID(a.cfg.school)
	s, err := e.eng.Settings(ctx, school)
	if err != nil {
		return err
	}
	rep, repErr := e.eng.MappingReport(ctx, school)
	if *asJSON {
		doc := map[string]any{"school": school, "settings": s}
		if repErr == nil {
			doc["mapping_report"] = rep
		} else {
			doc["mapping_error"] = explain(repErr)
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Settings of school %q:\n%s\n\n", a.cfg.school, b)
	if repErr != nil {
		if errors.Is(repErr, hubsync.ErrNotConnected) {
			fmt.Fprintln(a.stdout, "Mapping report: not available until the school is connected (\"hubsync connect\").")
			return nil
		}
		return repErr
	}
	printReport(a.stdout, rep)
	return nil
}

// ANSI colours, used only on a terminal.
const (
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	green  = "\x1b[32m"
	reset  = "\x1b[0m"
)

// printReport prints the mapping report as a table, invalid rows marked INVALID with their
// reasons, and the warning last (coloured only on a terminal).
func printReport(w io.Writer, rep hubsync.MappingReport) {
	colour := isTerminal(w)
	paint := func(c, s string) string {
		if !colour {
			return s
		}
		return c + s + reset
	}
	if len(rep.Rows) == 0 {
		fmt.Fprintln(w, "Mapping report: no mapping rows (only email, the match key, syncs).")
		return
	}
	fmt.Fprintln(w, "Mapping report:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROW\tLEARNWORLDS FIELD\tHUBSPOT PROPERTY\tDIRECTION\tTYPE\tVERDICT")
	for _, r := range rep.Rows {
		verdict := "ok"
		if !r.Valid {
			var why []string
			for _, p := range r.Problems {
				why = append(why, termSafe(p.Message))
			}
			// The verdict is the last column, so colour codes do not upset the alignment.
			verdict = paint(red, "INVALID: "+strings.Join(why, "; "))
		}
		typ := string(r.Type)
		if typ == "" {
			typ = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.Index+1, termSafe(r.Mapping.LMSField), termSafe(r.Mapping.HubSpotProperty), r.Direction, termSafe(typ), verdict)
	}
	_ = tw.Flush()
	if rep.Warning != "" {
		fmt.Fprintln(w, paint(yellow, "WARNING: "+termSafe(rep.Warning)+" (invalid rows are skipped; the others sync)"))
	} else {
		fmt.Fprintln(w, paint(green, "All mapping rows are valid."))
	}
}
