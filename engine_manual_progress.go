package hubsync

import (
	"encoding/json"
	"math"
	"sync"
	"time"
)

// Manual sync progress: the rate and ETA, the time worked, and the JSON form.

// withRate fills Rate and ETA: records per second of the time worked (Active), and the time left
// in the current phase at that rate. A checkpoint written before Active was kept has none: its
// rate is over the time since the start, as it was then.
func (p ManualProgress) withRate(now time.Time) ManualProgress {
	p.Rate, p.ETA = 0, 0
	secs := p.Active.Seconds()
	if p.Active <= 0 {
		end := now
		if !p.FinishedAt.IsZero() {
			end = p.FinishedAt
		}
		secs = end.Sub(p.StartedAt).Seconds()
	}
	if secs > 0 && p.Done > 0 {
		p.Rate = float64(p.Done) / secs
		if p.State == ManualRunning && p.Total > p.PhaseDone {
			p.ETA = time.Duration(float64(p.Total-p.PhaseDone) / p.Rate * float64(time.Second))
		}
	}
	return p
}

// pageClock remembers, per school, when this engine finished the last page of a manual sync
// (or started it), so that the next page can tell a pause from work. The zero value is ready.
type pageClock struct {
	mu   sync.Mutex
	last map[SchoolID]pageMark
}

type pageMark struct {
	run int
	at  time.Time
}

// mark records that this engine started run, or finished a page of it, at at.
func (c *pageClock) mark(school SchoolID, run int, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[SchoolID]pageMark{}
	}
	c.last[school] = pageMark{run: run, at: at}
}

// active is the time a page of run that started at start and ended at end adds to the time
// worked. When this engine did the previous page (or started the run), ending at prevEnd, the
// time since prevEnd counts whole: the engine was on the sync all along, waits for a rate limit
// or an outage included. Otherwise the sync was resumed here after a pause (the process that ran
// it stopped) and only the page's own time counts.
func (c *pageClock) active(school SchoolID, run int, prevEnd, start, end time.Time) time.Duration {
	c.mu.Lock()
	m, ok := c.last[school]
	c.mu.Unlock()
	from := start
	if ok && m.run == run && m.at.Equal(prevEnd) {
		from = prevEnd
	}
	c.mark(school, run, end)
	return max(end.Sub(from), 0)
}

// manualProgressJSON is ManualProgress without its methods: the default encoding of its fields.
type manualProgressJSON ManualProgress

// MarshalJSON writes the progress in snake_case, durations in seconds: "active_seconds" (to the
// millisecond), "eta_seconds" (whole seconds; 0 when unknown) and "rate" (records per second,
// to a tenth).
func (p ManualProgress) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		manualProgressJSON
		Rate          float64 `json:"rate"`
		ETASeconds    int64   `json:"eta_seconds"`
		ActiveSeconds float64 `json:"active_seconds"`
	}{
		manualProgressJSON: manualProgressJSON(p),
		Rate:               math.Round(p.Rate*10) / 10,
		ETASeconds:         int64(p.ETA.Round(time.Second) / time.Second),
		ActiveSeconds:      math.Round(p.Active.Seconds()*1000) / 1000,
	})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *ManualProgress) UnmarshalJSON(b []byte) error {
	var v struct {
		manualProgressJSON
		ETASeconds    int64   `json:"eta_seconds"`
		ActiveSeconds float64 `json:"active_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = ManualProgress(v.manualProgressJSON)
	p.ETA = time.Duration(v.ETASeconds) * time.Second
	p.Active = time.Duration(math.Round(v.ActiveSeconds * float64(time.Second)))
	return nil
}
