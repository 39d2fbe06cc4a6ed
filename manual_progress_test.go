package hubsync_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
)

// TestManualSyncRateLeavesOutPauses: a manual sync interrupted after its first page and resumed
// an hour later by another engine counts only the time worked: the rate read during the pause
// does not fall, and the finished run's Active is far below its wall-clock time.
func TestManualSyncRateLeavesOutPauses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	seedLearners(h, 450, "GR")

	ctx, stop := context.WithCancel(h.ctx)
	var once sync.Once
	cfg := h.config(h.store, h.lms)
	cfg.OnProgress = func(hubsync.SchoolID, hubsync.ManualProgress) { once.Do(stop) }
	first := h.engine(cfg)
	if _, err := first.StartManualSync(ctx, school, ""); err != nil {
		t.Fatal(err)
	}
	_, _ = first.RunOnce(ctx)
	mid, _ := h.eng.ManualSync(h.ctx, school)
	if mid.State != hubsync.ManualRunning || mid.Done != 200 || mid.Active <= 0 || mid.Rate <= 0 {
		t.Fatalf("after the first page: %+v", mid)
	}
	h.freeze()
	h.clk.Advance(time.Hour) // paused: no engine runs the sync
	h.thaw()
	paused, _ := h.eng.ManualSync(h.ctx, school)
	if paused.Rate != mid.Rate || paused.ETA != mid.ETA || paused.Active != mid.Active {
		t.Errorf("the pause changed the rate or ETA: %v/s ETA %v before, %v/s ETA %v after", mid.Rate, mid.ETA, paused.Rate, paused.ETA)
	}

	h.run() // another engine resumes and finishes
	p, _ := h.eng.ManualSync(h.ctx, school)
	wall := p.FinishedAt.Sub(p.StartedAt)
	// Active round-trips the checkpoint in whole milliseconds (active_seconds), so it may exceed
	// the time worked by up to half a millisecond.
	if p.State != hubsync.ManualDone || p.Done != 450 || p.Active <= mid.Active || p.Active > wall-time.Hour+time.Millisecond/2 {
		t.Fatalf("done: active %v of %v wall: %+v", p.Active, wall, p)
	}
	if want := float64(p.Done) / p.Active.Seconds(); p.Rate != want {
		t.Errorf("rate %v, want %v (records per second worked)", p.Rate, want)
	}
}

// TestManualProgressJSON: snake_case keys, durations in seconds, a rounded rate, and a round trip
// (the checkpoint is stored in this form).
func TestManualProgressJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	p := hubsync.ManualProgress{Run: 3, State: hubsync.ManualRunning, Phase: hubsync.PhaseToHubSpot, StartedAt: at, UpdatedAt: at.Add(time.Minute),
		Total: 12000, PhaseDone: 8000, Done: 8000, Active: 13887 * time.Millisecond, Rate: 576.0868, ETA: 6*time.Second + 940*time.Millisecond}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["eta_seconds"] != float64(7) || m["active_seconds"] != 13.887 || m["rate"] != 576.1 || m["phase_done"] != float64(8000) {
		t.Errorf("JSON %s", b)
	}
	for k := range m {
		if k != strings.ToLower(k) || k == "eta" || k == "active" {
			t.Errorf("key %q in %s", k, b)
		}
	}
	var back hubsync.ManualProgress
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Active != p.Active || back.ETA != 7*time.Second || back.Done != p.Done || !back.StartedAt.Equal(at) {
		t.Errorf("round trip: %+v", back)
	}
	q, _ := json.Marshal(hubsync.QueueStats{Ready: 1, Scheduled: 2, Leased: 3, Dead: 4})
	if string(q) != `{"ready":1,"scheduled":2,"leased":3,"dead":4}` {
		t.Errorf("QueueStats JSON %s", q)
	}
}
