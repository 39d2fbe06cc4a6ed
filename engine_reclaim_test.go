package hubsync_test

import (
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
