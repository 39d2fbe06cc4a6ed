package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Real HubSpot limit per portal, for scaling the latency.
const (
	realRequests = 110
	realWindow   = 10 * time.Second
)

// report is what a run found. Pass is false when a change was lost, a backfill did not finish,
// or the killed process's schools took longer than 15 s to move on; the ratios and the latency
// have their own goals, reported beside them.
type report struct {
	K          int    `json:"k"`
	Schools    int    `json:"schools"`
	Learners   int    `json:"learners_per_school"`
	HSRequests int    `json:"hubspot_requests_per_window"`
	HSWindow   string `json:"hubspot_window"`
	LWRequests int    `json:"lms_requests_per_window"`
	Seed       int64  `json:"seed"`

	Elapsed         time.Duration `json:"elapsed_ns"`
	SteadyWindow    time.Duration `json:"steady_ns"`        // backfills' start until the first one ended
	Windows         float64       `json:"windows"`          // the steady span in limit windows
	HubSpotRequests int           `json:"hubspot_requests"` // every API request, 429s included
	CeilingRatio    float64       `json:"ceiling_ratio"`    // goal >= 0.95
	SlowestRatio    float64       `json:"slowest_to_mean"`  // goal >= 0.9
	LiveChanges     int           `json:"live_changes"`
	LiveP50         time.Duration `json:"live_p50_ns"`
	LiveP99         time.Duration `json:"live_p99_ns"`
	LiveP99Real     time.Duration `json:"live_p99_real_ns"` // goal < 5 s
	LiveScale       float64       `json:"live_scale"`       // real / measured
	Takeover        time.Duration `json:"takeover_ns"`      // until another child sent the school's portal a request
	TakeoverP50     time.Duration `json:"takeover_p50_ns"`
	// TakenOver: until none of the school's jobs was leased by the killed child any more (another
	// child leased them, or they were done).
	TakenOver    time.Duration `json:"taken_over_ns"`
	TakenOverP50 time.Duration `json:"taken_over_p50_ns"`
	// TakeoverReal is Takeover at HubSpot's real limit: TakenOver as measured, then the wait for
	// the portal's next request scaled by LiveScale, as the live latency is. Goal <= 15 s.
	TakeoverReal    time.Duration `json:"takeover_real_ns"`
	TakeoverRealP50 time.Duration `json:"takeover_real_p50_ns"`
	Reclaimed       time.Duration `json:"reclaimed_ns"`   // until no lease of the killed child was unexpired
	KilledSchools   int           `json:"killed_schools"` // schools the killed child was serving
	NeverMovedOn    int           `json:"never_moved_on"`
	Lost            int           `json:"lost"`       // goal 0
	Unfinished      int           `json:"unfinished"` // learners of backfills not done, never written
	// QueuedAtEnd: learners whose last change is not in their portal but still in the queue (a
	// job not dead) when the run ended: late, not lost (printed, not a failure).
	QueuedAtEnd   int           `json:"queued_at_end"`
	LostExamples  []string      `json:"lost_examples,omitempty"`
	Duplicates    int           `json:"duplicates"` // contact writes that changed nothing
	ContactWrites int           `json:"contact_writes"`
	Got429        int           `json:"hubspot_429"`
	ChildCPU      time.Duration `json:"children_cpu_ns"`
	CPUPerContact time.Duration `json:"cpu_per_contact_ns"`
	PostgresCPU   time.Duration `json:"postgres_cpu_ns"` // -1: not measurable
	PGPerContact  time.Duration `json:"postgres_cpu_per_contact_ns"`
	LoadStart     string        `json:"loadavg_start"`
	LoadEnd       string        `json:"loadavg_end"`
	Failures      []string      `json:"failures,omitempty"`
	Pass          bool          `json:"pass"`
}

// judge fills rep from what the fleet recorded: start is when the backfills started, backfillEnd
// when the last one ended, end when the children were stopped, done each school's end.
func (f *fleet) judge(rep *report, start, backfillEnd, end time.Time, done []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rep.Elapsed = end.Sub(start)
	first := backfillEnd
	for _, d := range done {
		if !d.IsZero() && d.Before(first) {
			first = d
		}
	}
	steady := first.Sub(start)
	rep.SteadyWindow, rep.Windows = steady, steady.Seconds()/f.o.hsWindow.Seconds()
	per := make([]float64, len(f.reqs))
	total := 0
	for i, rs := range f.reqs {
		rep.HubSpotRequests += len(rs)
		for _, r := range rs {
			if !r.at.Before(start) && r.at.Before(first) && r.status != http.StatusTooManyRequests {
				per[i]++
				total++
			}
		}
	}
	if steady > 0 {
		ceiling := float64(f.o.schools) * float64(f.o.hsRequests) * steady.Seconds() / f.o.hsWindow.Seconds()
		rep.CeilingRatio = float64(total) / ceiling
		mean := float64(total) / float64(len(per))
		if mean > 0 {
			rep.SlowestRatio = slices.Min(per) / mean
		}
	}
	// Live changes: measured, and scaled to HubSpot's real limit (a fake limit faster than the
	// real one shortens every pacing wait by the same factor).
	rep.LiveChanges = len(f.lats) + len(f.pending)
	rep.LiveScale = (float64(f.o.hsRequests) / f.o.hsWindow.Seconds()) / (realRequests / realWindow.Seconds())
	if len(f.lats) > 0 {
		l := slices.Clone(f.lats)
		slices.Sort(l)
		rep.LiveP50, rep.LiveP99 = l[len(l)/2], l[min(len(l)-1, len(l)*99/100)]
		rep.LiveP99Real = time.Duration(float64(rep.LiveP99) * rep.LiveScale)
	}
	// Takeover: the schools whose jobs the killed child held when it died; each moved on when
	// none of its jobs was leased by the dead child any more and another child sent its portal a
	// request.
	if !f.killedAt.IsZero() {
		if f.heldErr != nil {
			rep.Failures = append(rep.Failures, "watching the killed child's leases: "+f.heldErr.Error())
		}
		index := map[string]int{}
		for i, id := range f.ids {
			index[string(id)] = i
		}
		if !f.reclaimed.IsZero() {
			rep.Reclaimed = f.reclaimed.Sub(f.killedAt)
		}
		var takes, overs, reals []time.Duration
		defer func() {
			if len(takes) > 0 {
				for _, xs := range [][]time.Duration{takes, overs, reals} {
					slices.Sort(xs)
				}
				rep.TakeoverP50, rep.TakenOverP50, rep.TakeoverRealP50 = takes[len(takes)/2], overs[len(overs)/2], reals[len(reals)/2]
				rep.Takeover, rep.TakenOver, rep.TakeoverReal = takes[len(takes)-1], overs[len(overs)-1], reals[len(reals)-1]
			}
		}()
		for sc, back := range f.held {
			rep.KilledSchools++
			i, ok := index[sc]
			if back.IsZero() || !ok {
				rep.NeverMovedOn++
				continue
			}
			next := time.Time{}
			for _, r := range f.reqs[i] {
				if !r.at.Before(back) && r.child != "0" {
					next = r.at
					break
				}
			}
			if next.IsZero() {
				next = back // its jobs were taken back, and nothing more was left to send
			}
			takes = append(takes, next.Sub(f.killedAt))
			overs = append(overs, back.Sub(f.killedAt))
			reals = append(reals, back.Sub(f.killedAt)+time.Duration(float64(next.Sub(back))*rep.LiveScale))
		}
	}
	// Every learner's final state in its portal.
	for i, exp := range f.expected {
		for e, want := range exp {
			c, ok := f.portals[i].Contact(e)
			if !ok && want == "GR" && done[i].IsZero() {
				rep.Unfinished++ // its school's backfill had not reached it
				continue
			}
			if got := c.Properties["country"]; !ok || got != want {
				if f.queued[string(f.ids[i])+"|"+strings.ToLower(e)] {
					rep.QueuedAtEnd++
					continue
				}
				rep.Lost++
				if len(rep.LostExamples) < 5 {
					how := "it never landed"
					if at, ok := f.landed[fmt.Sprintf("%d|%s|%s", i, strings.ToLower(e), want)]; ok {
						how = fmt.Sprintf("it landed %s after the backfills started, then was overwritten", at.Sub(start).Round(time.Millisecond))
					}
					rep.LostExamples = append(rep.LostExamples, fmt.Sprintf("%s %s: country %q, want %q (%s)", f.ids[i], e, got, want, how))
				}
			}
		}
		rep.Got429 += f.portals[i].Stats().RateLimited
	}
	rep.Duplicates, rep.ContactWrites = f.noops, f.writes
	contacts := f.o.schools*f.o.learners + len(f.lats)
	rep.CPUPerContact = rep.ChildCPU / time.Duration(contacts)
	if rep.PostgresCPU >= 0 {
		rep.PGPerContact = rep.PostgresCPU / time.Duration(contacts)
	}
	if rep.Lost > 0 {
		rep.Failures = append(rep.Failures, fmt.Sprintf("%d learners do not hold their last change in HubSpot", rep.Lost))
	}
	if rep.NeverMovedOn > 0 {
		rep.Failures = append(rep.Failures, fmt.Sprintf("%d of the killed process's schools never moved on", rep.NeverMovedOn))
	}
	if rep.TakeoverReal > 15*time.Second {
		rep.Failures = append(rep.Failures, fmt.Sprintf("the killed process's schools took %v to move on at real limits (goal 15 s)", rep.TakeoverReal.Round(time.Millisecond)))
	}
	rep.Pass = len(rep.Failures) == 0
}

func goal(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func (r *report) print(w io.Writer) {
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	fmt.Fprintf(w, "hubsync-fleet: K=%d processes, S=%d schools x %d learners, HubSpot %d req / %s per portal (x%.3g of 110 / 10 s), LearnWorlds %d / %s, seed %d\n",
		r.K, r.Schools, r.Learners, r.HSRequests, r.HSWindow, r.LiveScale, r.LWRequests, r.HSWindow, r.Seed)
	fmt.Fprintf(w, "  elapsed                 %s (steady span %s = %.1f windows)\n", ms(r.Elapsed), ms(r.SteadyWindow), r.Windows)
	fmt.Fprintf(w, "  HubSpot throughput      %.3f (requests accepted) of the portals' summed ceiling (goal >= 0.95: %s); %d requests\n", r.CeilingRatio, goal(r.CeilingRatio >= 0.95), r.HubSpotRequests)
	fmt.Fprintf(w, "  slowest school / mean   %.3f (goal >= 0.9: %s)\n", r.SlowestRatio, goal(r.SlowestRatio >= 0.9))
	fmt.Fprintf(w, "  live changes            %d: p50 %s, p99 %s; at real limits p99 %s (goal < 5 s: %s)\n", r.LiveChanges, ms(r.LiveP50), ms(r.LiveP99), ms(r.LiveP99Real), goal(r.LiveP99Real < 5*time.Second))
	fmt.Fprintf(w, "  killed process          %d schools (jobs leased when it died), %d never moved on; its leases ended %s after the kill\n",
		r.KilledSchools, r.NeverMovedOn, ms(r.Reclaimed))
	fmt.Fprintf(w, "    jobs taken over       within %s, p50 %s (another child leased them)\n", ms(r.TakenOver), ms(r.TakenOverP50))
	fmt.Fprintf(w, "    portal served again   within %s, p50 %s (another child's request); at real limits %s, p50 %s (goal <= 15 s: %s)\n",
		ms(r.Takeover), ms(r.TakeoverP50), ms(r.TakeoverReal), ms(r.TakeoverRealP50), goal(r.TakeoverReal <= 15*time.Second && r.NeverMovedOn == 0))
	fmt.Fprintf(w, "  changes lost            %d (goal 0: %s); %d learners of unfinished backfills not written yet; %d changes still queued when the run ended (late, not lost)\n", r.Lost, goal(r.Lost == 0), r.Unfinished, r.QueuedAtEnd)
	for _, e := range r.LostExamples {
		fmt.Fprintf(w, "    %s\n", e)
	}
	fmt.Fprintf(w, "  duplicates              %d of %d contact writes changed nothing\n", r.Duplicates, r.ContactWrites)
	fmt.Fprintf(w, "  HubSpot 429s            %d\n", r.Got429)
	fmt.Fprintf(w, "  CPU per contact         %s children (%s in all)", r.CPUPerContact, ms(r.ChildCPU))
	if r.PostgresCPU >= 0 {
		fmt.Fprintf(w, ", %s postgres (%s in all, the backends of the run's database)", r.PGPerContact, ms(r.PostgresCPU))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  loadavg                 %s at start, %s at end\n", r.LoadStart, r.LoadEnd)
	if len(r.Failures) > 0 {
		fmt.Fprintf(w, "  FAILED: %s\n", strings.Join(r.Failures, "; "))
	}
}
