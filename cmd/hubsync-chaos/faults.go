package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// faultKind names a fault.
type faultKind string

const (
	faultKill      faultKind = "kill -9"             // SIGKILL of serve, restart after a short delay
	faultHSDown    faultKind = "hubspot 503"         // every HubSpot request answered 503
	faultHSDrop    faultKind = "hubspot unreachable" // every HubSpot connection closed unanswered
	faultHS429     faultKind = "hubspot 429 burst"   // every HubSpot request answered 429
	faultHS5xx     faultKind = "hubspot 5xx"         // half the HubSpot requests answered 500/502/504
	faultLWDown    faultKind = "learnworlds 503"     // every LearnWorlds request answered 503
	faultLW429     faultKind = "learnworlds 429 burst"
	faultLW5xx     faultKind = "learnworlds 500"
	faultRevoke    faultKind = "connection revoked" // the app uninstalled, then reconnected
	faultsPerRound           = 8
)

var otherFaults = []faultKind{faultHSDown, faultHSDrop, faultHS429, faultHS5xx, faultLWDown, faultLW429, faultLW5xx, faultRevoke}

// faultNames are the names -faults takes.
var faultNames = map[string]faultKind{"hs503": faultHSDown, "hsdrop": faultHSDrop, "hs429": faultHS429, "hs5xx": faultHS5xx,
	"lw503": faultLWDown, "lw429": faultLW429, "lw500": faultLW5xx, "revoke": faultRevoke}

// episode is one fault and the recovery after it.
type episode struct {
	Kind      faultKind `json:"kind"`
	Start     time.Time `json:"start"`
	FaultS    float64   `json:"fault_s"`    // how long the fault lasted
	KilledToo bool      `json:"killed_too"` // serve was also killed during the fault
	// RecoveryS is the longer of OutS and InS: from the fault's end (for a kill, the restart)
	// until a change made then had landed. Landed is false when one had not within the limit.
	RecoveryS float64 `json:"recovery_s"`
	OutS      float64 `json:"lms_to_hubspot_s"`
	InS       float64 `json:"hubspot_to_lms_s"`
	Landed    bool    `json:"landed"`
	Err       string  `json:"error,omitempty"`
}

// chaos runs the faults one after another.
type chaos struct {
	o      options
	rnd    *rand.Rand
	srv    *server
	h      *hubsyncCmd
	hs     *hubspottest.Server
	lw     *learnworldstest.Server
	proxy  *hsProxy
	st     *stream
	logf   func(format string, args ...any)
	limit  time.Duration // the longest a probe is waited for
	eps    []episode
	killed int
}

// plan returns the faults in a random order: the kills, and rounds of each other fault; a quarter
// of the other faults also kill the server while they last, and count as kills.
func (c *chaos) plan() (kinds []faultKind, killInside []bool) {
	for range c.o.rounds {
		kinds = append(kinds, c.o.faults...)
	}
	inside := 0
	killInside = make([]bool, len(kinds))
	for i := range kinds {
		if inside < c.o.kills/4 && c.rnd.IntN(4) == 0 {
			killInside[i] = true
			inside++
		}
	}
	for range c.o.kills - inside {
		kinds = append(kinds, faultKill)
		killInside = append(killInside, false)
	}
	c.rnd.Shuffle(len(kinds), func(i, j int) {
		kinds[i], kinds[j] = kinds[j], kinds[i]
		killInside[i], killInside[j] = killInside[j], killInside[i]
	})
	return kinds, killInside
}

// run runs every planned fault, spread over the run's duration, and returns when all are done and
// the duration has passed.
func (c *chaos) run(ctx context.Context) error {
	kinds, inside := c.plan()
	end := time.Now().Add(c.o.duration)
	for i, k := range kinds {
		// Spread the faults over what is left of the duration, with a random part.
		left := time.Until(end) / time.Duration(len(kinds)-i+1)
		gap := time.Second + time.Duration(c.rnd.Int64N(int64(max(left, time.Second))))
		if err := sleep(ctx, gap); err != nil {
			return err
		}
		ep, err := c.one(ctx, k, inside[i])
		if err != nil {
			return err
		}
		c.eps = append(c.eps, ep)
		c.logf("fault %2d/%d %-22s %5.1fs  recovered in %5.2fs (lms->hubspot %.2fs, hubspot->lms %.2fs)%s",
			i+1, len(kinds), k, ep.FaultS, ep.RecoveryS, ep.OutS, ep.InS, map[bool]string{true: " (killed during it)"}[ep.KilledToo])
	}
	return sleep(ctx, time.Until(end))
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// one injects a fault, ends it, and measures the recovery.
func (c *chaos) one(ctx context.Context, k faultKind, killInside bool) (episode, error) {
	ep := episode{Kind: k, Start: time.Now(), KilledToo: killInside}
	hold := c.o.maxHold/4 + time.Duration(c.rnd.Int64N(int64(c.o.maxHold)*3/4)) // 2 to 8 s by default
	if k == faultHS429 || k == faultLW429 {
		hold = hold * 5 / 8 // 1.25 to 5 s
	}
	var restore func(context.Context) error
	switch k {
	case faultKill:
		// Kill at a random moment of the stream; restart after 0.1 to 3 s.
		c.srv.kill()
		c.killed++
		hold = time.Duration(100+c.rnd.IntN(2900)) * time.Millisecond
		restore = c.srv.start
	case faultHSDown, faultHSDrop, faultHS429, faultHS5xx:
		c.proxy.set(map[faultKind]proxyMode{faultHSDown: proxyDown, faultHSDrop: proxyDrop, faultHS429: proxy429, faultHS5xx: proxyFlaky}[k])
		restore = func(context.Context) error { c.proxy.set(proxyPass); return nil }
	case faultLWDown, faultLW429, faultLW5xx:
		status := map[faultKind]int{faultLWDown: http.StatusServiceUnavailable, faultLW429: http.StatusTooManyRequests, faultLW5xx: http.StatusInternalServerError}[k]
		c.lw.InjectFault(learnworldstest.Fault{Status: status, Times: -1})
		restore = func(context.Context) error { c.lw.ClearFaults(); return nil }
	case faultRevoke:
		c.hs.Uninstall()
		restore = func(ctx context.Context) error {
			_, refresh := c.hs.MintToken()
			_, err := c.h.run(ctx, "connect", "--refresh-token", refresh)
			return err
		}
	}
	if killInside {
		if err := sleep(ctx, hold/2); err != nil {
			return ep, err
		}
		c.srv.kill()
		c.killed++
		if err := sleep(ctx, hold/2); err != nil {
			return ep, err
		}
		if err := c.srv.start(ctx); err != nil {
			return ep, err
		}
	} else if err := sleep(ctx, hold); err != nil {
		return ep, err
	}
	if err := restore(ctx); err != nil {
		return ep, fmt.Errorf("ending fault %s: %w", k, err)
	}
	ended := time.Now()
	ep.FaultS = ended.Sub(ep.Start).Seconds()
	if k == faultKill {
		// The restart is the fault's end: count from the moment the process was started again,
		// the start-up included.
		ended = ep.Start.Add(hold)
	}
	out, err := c.st.probeOut(ctx)
	if err != nil {
		return ep, err
	}
	in, err := c.st.probeIn()
	if err != nil {
		return ep, err
	}
	var outAt, inAt time.Time
	deadline := time.Now().Add(c.limit)
	for (outAt.IsZero() || inAt.IsZero()) && time.Now().Before(deadline) {
		if outAt.IsZero() && out() {
			outAt = time.Now()
		}
		if inAt.IsZero() && in() {
			inAt = time.Now()
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return ep, err
		}
	}
	ep.Landed = !outAt.IsZero() && !inAt.IsZero()
	if outAt.IsZero() {
		outAt = time.Now()
	}
	if inAt.IsZero() {
		inAt = time.Now()
	}
	ep.OutS, ep.InS = outAt.Sub(ended).Seconds(), inAt.Sub(ended).Seconds()
	ep.RecoveryS = max(ep.OutS, ep.InS)
	return ep, nil
}
