package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/hubsync/hubsync"
)

// barWidth is the progress bar's width in cells.
const barWidth = 30

// progressBar renders one terminal line: a bar for the current phase, counts, rate and ETA.
func progressBar(p hubsync.ManualProgress) string { return bar(p, barWidth) + counts(p) }

// minBarWidth is the narrowest bar fitBar draws before it drops words.
const minBarWidth = 10

// fitBar is progressBar fitted to a terminal of width columns, so the line never wraps (a
// wrapped line is not redrawn in place, and the bar turns into a scrolling log). It keeps the
// most it can, in this order: the whole line with a bar of 30 cells, then 20, then 10; then the
// outcome counts cut down to the failures; then without the phase name; then cut at the edge.
// The last column stays empty: some terminals wrap when it is written.
func fitBar(p hubsync.ManualProgress, width int) string {
	room := width - 1
	forms := []string{counts(p), shortCounts(p, true), shortCounts(p, false)}
	for _, text := range forms {
		for _, w := range []int{barWidth, 20, minBarWidth} {
			if line := bar(p, w) + text; len([]rune(line)) <= room {
				return line
			}
		}
	}
	line := []rune(bar(p, minBarWidth) + forms[len(forms)-1])
	return string(line[:max(0, min(len(line), room))])
}

// shortCounts is counts without the created/updated/unchanged/skipped split (failures kept),
// and without the phase name unless withPhase.
func shortCounts(p hubsync.ManualProgress, withPhase bool) string {
	var b strings.Builder
	if withPhase {
		b.WriteString(phaseName(p.Phase) + " ")
	}
	b.WriteString(phasePosition(p))
	fmt.Fprintf(&b, " | %d failed | %.0f/s", p.Failed, p.Rate)
	if p.ETA > 0 {
		fmt.Fprintf(&b, ", ETA %v", p.ETA.Round(time.Second))
	}
	return b.String()
}

// phasePosition is "1200/5000  24%", or "1200" when the total is unknown.
func phasePosition(p hubsync.ManualProgress) string {
	if p.Total < 0 {
		return fmt.Sprintf("%d", p.PhaseDone)
	}
	pct := 0.0
	if p.Total > 0 {
		pct = 100 * float64(p.PhaseDone) / float64(p.Total)
	}
	return fmt.Sprintf("%d/%d %3.0f%%", p.PhaseDone, p.Total, pct)
}

// bar is "[#####-----] " with width cells, or question marks when the total is unknown.
func bar(p hubsync.ManualProgress, width int) string {
	var b strings.Builder
	frac := -1.0
	if p.Total > 0 {
		frac = min(float64(p.PhaseDone)/float64(p.Total), 1)
	}
	b.WriteByte('[')
	if frac >= 0 {
		n := int(frac * float64(width))
		b.WriteString(strings.Repeat("#", n) + strings.Repeat("-", width-n))
	} else {
		b.WriteString(strings.Repeat("?", width))
	}
	b.WriteString("] ")
	return b.String()
}

// progressLine is the plain periodic line written when stdout is not a terminal.
func progressLine(p hubsync.ManualProgress) string {
	return "progress: " + counts(p)
}

// counts is "phase 1200/5000 24% | created 1000 updated 200 ... | 950/s ETA 4s".
func counts(p hubsync.ManualProgress) string {
	var b strings.Builder
	b.WriteString(phaseName(p.Phase) + " " + phasePosition(p))
	fmt.Fprintf(&b, " | created %d, updated %d, unchanged %d, skipped %d, failed %d | %.0f/s",
		p.Created, p.Updated, p.Unchanged, p.Skipped, p.Failed, p.Rate)
	if p.ETA > 0 {
		fmt.Fprintf(&b, ", ETA %v", p.ETA.Round(time.Second))
	}
	return b.String()
}

func phaseName(phase string) string {
	switch phase {
	case hubsync.PhaseToHubSpot:
		return "LearnWorlds -> HubSpot"
	case hubsync.PhaseToLMS:
		return "HubSpot -> LearnWorlds"
	case hubsync.PhaseCreateLearners:
		return "new learners from HubSpot"
	}
	return phase
}

// summary is the end-of-sync report: outcome counts, duration and the first failure reasons.
func summary(p hubsync.ManualProgress, maxReasons int) string {
	var b strings.Builder
	took := p.FinishedAt.Sub(p.StartedAt)
	if p.FinishedAt.IsZero() {
		took = p.UpdatedAt.Sub(p.StartedAt)
	}
	paused := ""
	if p.Active > 0 {
		// The time worked: a pause (interrupted, then resumed) counts neither here nor in the rate.
		if gap := took - p.Active; gap >= time.Second {
			paused = fmt.Sprintf("; paused %v", gap.Round(time.Second))
		}
		took = p.Active
	}
	fmt.Fprintf(&b, "Manual sync run %d %s: %d records in %v (%.0f/s%s)\n", p.Run, p.State, p.Done, took.Round(100*time.Millisecond), p.Rate, paused)
	fmt.Fprintf(&b, "  created   %d\n  updated   %d\n  unchanged %d\n  skipped   %d\n  failed    %d\n",
		p.Created, p.Updated, p.Unchanged, p.Skipped, p.Failed)
	if p.Partial > 0 {
		fmt.Fprintf(&b, "  (%d created or updated with some fields refused)\n", p.Partial)
	}
	if len(p.Failures) > 0 {
		fmt.Fprintf(&b, "First failures:\n")
		for i, f := range p.Failures {
			if i == maxReasons {
				fmt.Fprintf(&b, "  ... and %d more (see \"hubsync status\")\n", p.Failed+p.Partial-maxReasons)
				break
			}
			fmt.Fprintf(&b, "  - %s\n", termSafe(f))
		}
	}
	if p.Error != "" {
		fmt.Fprintf(&b, "Error: %s\n", termSafe(p.Error))
	}
	return b.String()
}
