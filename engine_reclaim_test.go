package hubsync_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/internal/procid"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// TestJobsOfADeadProcessResumeAtOnce: jobs leased (for an hour) by a process of this machine that
// has died are taken back when an engine starts, and sync at once; jobs leased by a process that
// still runs keep their lease. Both processes are real (sleep children), so procid.Dead answers
// from /proc as it would after a kill -9 of "hubsync sync".
func TestJobsOfADeadProcessResumeAtOnce(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("telling a dead process from a live one needs Linux's /proc; elsewhere leases run out as usual")
	}
	if id, _ := procid.Parse(procid.Self()); id.Boot == "-" || id.Start == "-" {
		t.Skip("this machine's /proc does not give a boot id and start times, so a dead holder cannot be told")
	}
	process := func() (id string, stop func()) {
		cmd := exec.Command("sleep", "600")
		if err := cmd.Start(); err != nil {
			t.Skipf("cannot start a child process: %v", err)
		}
		stopped := false
		stop = func() {
			if !stopped {
				stopped = true
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		}
		t.Cleanup(stop)
		return procid.Of(cmd.Process.Pid), stop
	}
	h := newHarness(t)
	s, err := sqlitestore.Open(h.ctx, filepath.Join(t.TempDir(), "hubsync.db"), sqlitestore.WithClock(h.clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h.eng = h.engine(h.config(s, h.lms))
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})

	lease := func(email, holder string) {
		t.Helper()
		if err := h.eng.LearnerChanged(h.ctx, school, hubsync.Learner{Email: email, Values: map[string]any{"country": "GR"}}); err != nil {
			t.Fatal(err)
		}
		jobs, err := s.Dequeue(h.ctx, hubsync.DequeueOptions{Worker: holder + "#hubspot-0", Max: 10, Lease: time.Hour})
		if err != nil || len(jobs) != 1 {
			t.Fatalf("leasing %s's job as %s: %d jobs, err %v", email, holder, len(jobs), err)
		}
	}
	deadID, kill := process()
	liveID, _ := process()
	lease("crashed@school.example", deadID)
	lease("running@school.example", liveID)
	kill() // as kill -9 would: the holder is gone without giving its jobs back

	n, err := h.eng.RunOnce(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || h.contact("crashed@school.example")["country"] != "GR" {
		t.Fatalf("RunOnce handled %d jobs and HubSpot has %v; want the dead holder's job synced at once", n, h.contact("crashed@school.example"))
	}
	if h.contact("running@school.example") != nil {
		t.Fatal("the job of a holder that still runs was taken from it")
	}
	st, err := s.Stats(h.ctx, school)
	if err != nil {
		t.Fatal(err)
	}
	if st != (hubsync.QueueStats{Leased: 1}) {
		t.Fatalf("queue after the reclaim: %+v, want only the live holder's job leased", st)
	}
	holders, err := s.Holders(h.ctx)
	if err != nil || len(holders) != 1 || holders[0] != liveID+"#hubspot-0" {
		t.Fatalf("holders after the reclaim: %v (err %v), want only the live one", holders, err)
	}
}

// TestRunTakesBackTheJobsOfAProcessThatDiesWhileItRuns: two processes share one store. One (a
// real child process, so procid.Dead answers from /proc as after a kill -9) holds a school's job
// on a long lease and is killed while this engine's Run is already going; Run takes the job back
// within one Reclaim period (plus a Poll) and syncs it, instead of after the hour-long lease.
// The job of a holder that still runs keeps its lease.
func TestRunTakesBackTheJobsOfAProcessThatDiesWhileItRuns(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("telling a dead process from a live one needs Linux's /proc; elsewhere leases run out as usual")
	}
	if id, _ := procid.Parse(procid.Self()); id.Boot == "-" || id.Start == "-" {
		t.Skip("this machine's /proc does not give a boot id and start times, so a dead holder cannot be told")
	}
	process := func() (id string, stop func()) {
		cmd := exec.Command("sleep", "600")
		if err := cmd.Start(); err != nil {
			t.Skipf("cannot start a child process: %v", err)
		}
		stopped := false
		stop = func() {
			if !stopped {
				stopped = true
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		}
		t.Cleanup(stop)
		return procid.Of(cmd.Process.Pid), stop
	}
	h := newHarness(t)
	const every = 5 * time.Second
	cfg := h.config(h.store, h.lms)
	cfg.Reclaim = every
	h.eng = h.engine(cfg)
	h.connect()
	h.settings(hubsync.Settings{Mappings: basicMapping})
	lease := func(email, holder string) {
		t.Helper()
		if err := h.eng.LearnerChanged(h.ctx, school, hubsync.Learner{Email: email, Values: map[string]any{"country": "GR"}}); err != nil {
			t.Fatal(err)
		}
		jobs, err := h.store.Dequeue(h.ctx, hubsync.DequeueOptions{Worker: holder + "#hubspot-0", Max: 10, Lease: time.Hour})
		if err != nil || len(jobs) != 1 {
			t.Fatalf("leasing %s's job as %s: %d jobs, err %v", email, holder, len(jobs), err)
		}
	}
	dyingID, kill := process()
	liveID, _ := process()
	lease("crashed@school.example", dyingID)
	lease("running@school.example", liveID)

	// The test moves the clock itself, and only when every goroutine of Run waits on it: each
	// worker (idle, lingering or pacing) and the reclaim loop hold one timer then.
	h.freeze()
	defer h.thaw()
	waiting := hubsync.WorkersDefault + hubsync.LMSWorkersDefault + hubsync.BackfillWorkersDefault + 1
	settle := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
		defer cancel()
		if err := h.clk.BlockUntil(ctx, waiting); err != nil {
			t.Fatalf("Run's %d goroutines did not all wait on the clock within 30 s (%d timers)", waiting, h.clk.Timers())
		}
	}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	settle() // Run's first reclaim found both holders alive, and its workers are idle
	killed := h.clk.Now()
	kill() // as kill -9 would: the holder is gone without giving its job back
	for h.contact("crashed@school.example")["country"] != "GR" {
		if waited := h.clk.Now().Sub(killed); waited > every+hubsync.PollDefault {
			t.Fatalf("the dead process's job has not synced %v after it died (Reclaim %v): it waits out its lease", waited, every)
		}
		settle()
		if h.contact("crashed@school.example")["country"] == "GR" {
			break
		}
		h.clk.AdvanceToNext()
	}
	t.Logf("the dead process's job synced %v (fake) after it died, Reclaim %v", h.clk.Now().Sub(killed), every)
	if h.contact("running@school.example") != nil {
		t.Fatal("the job of a holder that still runs was taken from it")
	}
	holders, err := h.store.Holders(h.ctx)
	if err != nil || len(holders) != 1 || holders[0] != liveID+"#hubspot-0" {
		t.Fatalf("holders after the reclaim: %v (err %v), want only the live one", holders, err)
	}
}
