package hubsync

import (
	"context"
	"strings"

	"github.com/hubsync/hubsync/internal/procid"
)

// reclaimDead takes back at once the jobs held by processes of this machine that have died (a
// "hubsync sync" or "hubsync serve" ended with kill -9, say), so a rerun resumes now instead of
// after their leases. Workers name their leases "<process id>#<worker>" (procid.Self); a holder
// is taken back only when procid.Dead is sure its process is gone: of another machine, or when it
// cannot tell, its leases run out as usual (LeaseDefault). A failure here costs only that wait, so
// it is logged and Run goes on. Run calls it each time it starts and then every Config.Reclaim
// (reclaimLoop), so the schools of a process killed while others run move on within about that
// long; RunOnce calls it at its first call only (hosts call RunOnce often, and one query each time
// would buy nothing).
func (e *Engine) reclaimDead(ctx context.Context) {
	holders, err := e.cfg.Queue.Holders(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("hubsync: could not list the queue's lease holders; jobs of a crashed process wait out their leases", "err", err)
		}
		return
	}
	for _, h := range holders {
		proc, _, _ := strings.Cut(h, "#")
		if !procid.Dead(proc) {
			continue
		}
		n, err := e.cfg.Queue.ExpireLeases(ctx, h)
		if err != nil {
			e.log.Warn("hubsync: could not take back the jobs of a process that is gone; they wait out their leases", "holder", h, "err", err)
			continue
		}
		if n > 0 {
			e.notify() // the taken-back jobs are ready now: idle workers need not wait out Poll
			e.log.Info("hubsync: took back the jobs of a process of this machine that is gone", "holder", h, "jobs", n)
		}
	}
}

// reclaimLoop calls reclaimDead every Config.Reclaim until ctx ends; a negative Reclaim turns it
// off (Run still reclaims once when it starts).
func (e *Engine) reclaimLoop(ctx context.Context) {
	if e.cfg.Reclaim < 0 {
		return
	}
	t := e.clk.NewTimer(e.cfg.Reclaim)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		e.reclaimDead(ctx)
		t.Reset(e.cfg.Reclaim)
	}
}
