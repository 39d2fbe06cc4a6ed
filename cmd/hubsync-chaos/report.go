package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hubsync/hubsync"
)

// report is what a run found.
type report struct {
	Store        string                    `json:"store"`
	Seed         int64                     `json:"seed"`
	StreamS      float64                   `json:"stream_s"`
	Made         map[string]int            `json:"changes_made"`
	Verdict      verdict                   `json:"verdict"`
	Drained      bool                      `json:"drained"`
	DrainS       float64                   `json:"drain_s"`
	Dead         int                       `json:"dead_jobs"`
	Kills        int                       `json:"kills"`
	Starts       int                       `json:"server_starts"`
	Faults       []episode                 `json:"faults"`
	RecoveryMaxS float64                   `json:"recovery_max_s"`
	RecoveryP50S float64                   `json:"recovery_p50_s"`
	ByKind       map[faultKind]kindSummary `json:"by_kind"`
	Relays       map[string]relayStats     `json:"relays"`
	LoadStart    float64                   `json:"load_start"`
	LoadEnd      float64                   `json:"load_end"`
	GoalS        float64                   `json:"goal_s"`
	StreamErrors []string                  `json:"stream_errors,omitempty"`
	Pass         bool                      `json:"pass"`
	Failures     []string                  `json:"failures,omitempty"`
}

type kindSummary struct {
	N    int     `json:"n"`
	MaxS float64 `json:"max_s"`
	P50S float64 `json:"p50_s"`
}

func newReport(o options, c *chaos, v verdict, idle bool, drained, streamed time.Duration, load0, load1 float64) *report {
	r := &report{Store: o.store, Seed: o.seed, StreamS: streamed.Seconds(), Verdict: v, Drained: idle, DrainS: drained.Seconds(),
		Kills: c.killed, Faults: c.eps, LoadStart: load0, LoadEnd: load1, GoalS: o.goal.Seconds(), ByKind: map[faultKind]kindSummary{}}
	var all []float64
	per := map[faultKind][]float64{}
	for _, e := range c.eps {
		all = append(all, e.RecoveryS)
		per[e.Kind] = append(per[e.Kind], e.RecoveryS)
	}
	r.RecoveryMaxS, r.RecoveryP50S = maxP50(all)
	for k, xs := range per {
		m, p := maxP50(xs)
		r.ByKind[k] = kindSummary{N: len(xs), MaxS: m, P50S: p}
	}
	return r
}

func maxP50(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	return s[len(s)-1], s[(len(s)-1)/2]
}

// judge sets Pass and Failures: 0 lost, 0 twice, every fault recovered within the goal.
func (r *report) judge() {
	v := r.Verdict
	fail := func(format string, args ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, args...)) }
	if v.Lost > 0 {
		fail("%d lost (LMS -> HubSpot %d, LMS fields sent back older %d, HubSpot -> LMS %d, sign-ups %d, timeline events %d)", v.Lost,
			v.OutFields-v.OutLanded, v.OutFields-v.OutKept, v.InFields-v.InLanded, v.SignupsMade-v.SignupsFound, v.EventsLost)
	}
	if v.OnceTwice > 0 {
		fail("%d once-only events twice (or without their cause) on the timeline", v.OnceTwice)
	}
	if v.RepeatTwice > 0 {
		fail("%d repeatable events more often than they happened", v.RepeatTwice)
	}
	if r.Dead > 0 {
		fail("%d dead jobs", r.Dead)
	}
	for i, e := range r.Faults {
		if !e.Landed || e.RecoveryS >= r.GoalS {
			fail("fault %d (%s): recovery %.1f s (landed: %v)", i+1, e.Kind, e.RecoveryS, e.Landed)
		}
	}
	if len(r.StreamErrors) > 0 {
		fail("%d errors making changes (first: %s)", len(r.StreamErrors), r.StreamErrors[0])
	}
	r.Pass = len(r.Failures) == 0
}

// print writes the report as text tables.
func (r *report) print(w io.Writer) {
	v := r.Verdict
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...))
	}
	row("store", "%s (seed %d)", r.Store, r.Seed)
	row("load (1 min)", "%.2f at the start, %.2f at the end", r.LoadStart, r.LoadEnd)
	row("stream", "%.0f s; drained in %.1f s (queue empty: %v)", r.StreamS, r.DrainS, r.Drained)
	var made []string
	for _, k := range sortedKeys(r.Made) {
		made = append(made, fmt.Sprintf("%d %s", r.Made[k], k))
	}
	row("changes made", "%s", strings.Join(made, ", "))
	row("LMS -> HubSpot", "%d of %d changed fields hold their latest value in HubSpot", v.OutLanded, v.OutFields)
	row("LMS kept", "%d of %d changed fields still hold it in LearnWorlds (none sent back older)", v.OutKept, v.OutFields)
	row("HubSpot -> LMS", "%d of %d inbound edits' fields hold their latest value in LearnWorlds", v.InLanded, v.InFields)
	row("sign-ups", "%d of %d have a contact", v.SignupsFound, v.SignupsMade)
	for _, k := range hubsync.EventKinds() {
		if ec := v.Events[k]; ec != nil {
			row("  "+string(k), "expected %d, on the timeline %d, missing %d, extra %d", ec.Expected, ec.Found, ec.Missing, ec.Extra)
		}
	}
	row("lost", "%d", v.Lost)
	row("once-events twice", "%d on the timeline (%d resent with the same id, kept once by HubSpot)", v.OnceTwice, v.OnceResent)
	row("repeatable extra", "%d on the timeline (%d resent with the same id)", v.RepeatTwice, v.RepeatResent)
	row("dead jobs", "%d", r.Dead)
	row("kills", "%d (server started %d times)", r.Kills, r.Starts)
	row("recovery", "max %.2f s, p50 %.2f s over %d faults (goal: each under %.0f s)", r.RecoveryMaxS, r.RecoveryP50S, len(r.Faults), r.GoalS)
	for _, rs := range []string{"hubspot", "learnworlds"} {
		s := r.Relays[rs]
		row("  "+rs+" webhooks", "%d delivered, %d needed a retry, %d attempts, longest wait %.1f s", s.Delivered, s.Retried, s.Attempts, s.MaxDelayS)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "fault\tn\trecovery max\tp50")
	for _, k := range append([]faultKind{faultKill}, otherFaults...) {
		if s, ok := r.ByKind[k]; ok {
			fmt.Fprintf(tw, "%s\t%d\t%.2f s\t%.2f s\n", k, s.N, s.MaxS, s.P50S)
		}
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	if r.Pass {
		fmt.Fprintln(w, "PASS: 0 lost, 0 twice, every recovery under the goal")
	} else {
		fmt.Fprintln(w, "FAIL:")
		for _, f := range r.Failures {
			fmt.Fprintln(w, "  "+f)
		}
	}
}

func sortedKeys(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
