package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hubsync/hubsync"
)

// syncOutput is where "hubsync sync" reports: on a terminal a bar redrawn in place and fitted to
// the terminal's width; on a pipe a plain line every --progress-interval; with --json, JSON
// lines on stdout and the messages for people on stderr. Either way the summary ends it.
type syncOutput struct {
	a    *app
	json bool
	tty  bool
	// msgs is where the lines for people go: stdout, or stderr with --json.
	msgs io.Writer
}

func newSyncOutput(a *app, asJSON bool) *syncOutput {
	o := &syncOutput{a: a, json: asJSON, msgs: a.stdout}
	if asJSON {
		o.msgs = a.stderr
	} else {
		o.tty = isTerminal(a.stdout)
	}
	return o
}

// syncEvent is one JSON line of "hubsync sync --json".
type syncEvent struct {
	Event    string                 `json:"event"`
	Progress hubsync.ManualProgress `json:"progress"`
}

// event writes a JSON line (with --json only).
func (o *syncOutput) event(name string, p hubsync.ManualProgress) {
	if !o.json {
		return
	}
	b, err := json.Marshal(syncEvent{Event: name, Progress: p})
	if err != nil {
		return
	}
	fmt.Fprintf(o.a.stdout, "%s\n", b)
}

// progress reports a running sync: at each update on a terminal, at each tick elsewhere.
func (o *syncOutput) progress(p hubsync.ManualProgress, fromTick bool) {
	switch {
	case o.json:
		if fromTick {
			o.event("progress", p)
		}
	case o.tty:
		fmt.Fprint(o.a.stdout, "\r\x1b[K"+fitBar(p, termWidth(o.a.stdout, o.a.getenv)))
	case fromTick:
		fmt.Fprintln(o.a.stdout, progressLine(p))
	}
}

// finished reports the end of the run: the last bar and the summary, or the last JSON line (its
// event is the run's state: done, failed or cancelled).
func (o *syncOutput) finished(p hubsync.ManualProgress) {
	if o.json {
		o.event(string(p.State), p)
		return
	}
	if o.tty {
		fmt.Fprintln(o.a.stdout, "\r\x1b[K"+fitBar(p, termWidth(o.a.stdout, o.a.getenv)))
	}
	fmt.Fprint(o.a.stdout, summary(p, 5))
}
