package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// The fakes' limits and the command's budgets: the real windows (HubSpot 110 / 10 s, LearnWorlds
// 30 / 10 s) shortened five times, so a run takes minutes.
const (
	hsLimit, lwLimit = 110, 30
	limitWindow      = 2 * time.Second
)

// run sets everything up, runs the stream and the faults, drains and checks.
func run(ctx context.Context, o options) (*report, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.seed == 0 {
		o.seed = time.Now().UnixNano() % 1e9
	}
	rnd := rand.New(rand.NewPCG(uint64(o.seed), 1))
	logf := func(format string, args ...any) {
		if o.verbose {
			fmt.Fprintf(o.logw, time.Now().Format("15:04:05 ")+format+"\n", args...)
		}
	}
	dir, err := os.MkdirTemp("", "hubsync-chaos-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintln(o.logw, "hubsync-chaos: work directory", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin := o.binary
	if bin == "" {
		if bin, err = buildHubsync(ctx, dir); err != nil {
			return nil, err
		}
	}

	// A portal id and a school of their own, so runs sharing one PostgreSQL database never see
	// each other's webhook dedupe records or queue. The portal id is random, not from the seed:
	// an earlier run with the same seed left its school connected to its portal in the database,
	// and the webhooks of a portal go to the school connected to it.
	portal := 100000 + rand.Int64N(900000)
	hs := hubspottest.NewServer(hubspottest.WithRateLimit(hsLimit, limitWindow), hubspottest.WithPortal(portal, "chaos.hubspot.example"))
	defer hs.Close()
	lw := learnworldstest.NewServer(learnworldstest.WithRateLimit(lwLimit, limitWindow))
	defer lw.Close()
	proxy, err := newHSProxy(hs.URL, uint64(o.seed))
	if err != nil {
		return nil, err
	}
	defer proxy.close()
	led, err := seedFakes(lw, hs, o.learners)
	if err != nil {
		return nil, err
	}

	db := filepath.Join(dir, "hubsync.db")
	if o.store == "postgres" {
		db = o.db
	}
	rate := func(n int) string { return fmt.Sprintf("%d/%s", n, limitWindow) }
	h := &hubsyncCmd{bin: bin, dir: dir, flags: []string{
		"--db", db, "--school", "chaos-" + strconv.FormatInt(o.seed, 10) + "-" + strconv.FormatInt(time.Now().Unix(), 10),
		"--hubspot-url", proxy.srv.URL, "--hubspot-authorize-url", hs.URL + "/oauth/authorize",
		"--hubspot-client-id", hs.ClientID(), "--hubspot-client-secret", hs.ClientSecret(),
		"--hubspot-app-id", strconv.FormatInt(hs.AppID(), 10),
		"--hubspot-rate-limit", rate(hsLimit), "--learnworlds-rate-limit", rate(lwLimit),
		"--learnworlds-url", lw.URL, "--learnworlds-client-id", lw.ClientID, "--learnworlds-client-secret", lw.ClientSecret,
	}}
	_, refresh := hs.MintToken()
	if _, err := h.run(ctx, "connect", "--refresh-token", refresh); err != nil {
		return nil, err
	}
	settings := filepath.Join(dir, "settings.json")
	if err := os.WriteFile(settings, []byte(settingsJSON), 0o600); err != nil {
		return nil, err
	}
	if out, err := h.run(ctx, "settings", "apply", "-f", settings); err != nil {
		return nil, err
	} else if strings.Contains(out, "INVALID") {
		return nil, fmt.Errorf("the settings have invalid rows:\n%s", out)
	}

	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	const lwSecret = "chaos-learnworlds-webhook-secret"
	srv := &server{h: h, listen: listen, log: logFile, args: []string{"--learnworlds-webhook-secret", lwSecret, "--log-level", "warn"}}
	if err := srv.start(ctx); err != nil {
		return nil, err
	}
	defer srv.stop()

	relayCtx, stopRelays := context.WithCancel(ctx)
	defer stopRelays()
	hsRelay := newRelay("hubspot", srv.base()+"/hubspot/webhooks", hubspotSigner(hs.ClientSecret()))
	lwRelay := newRelay("learnworlds", srv.base()+"/learnworlds/webhooks", nil)
	defer hsRelay.close()
	defer lwRelay.close()
	var wg sync.WaitGroup
	for _, r := range []*relay{hsRelay, lwRelay} {
		wg.Add(1)
		go func() { defer wg.Done(); r.run(relayCtx) }()
	}
	defer wg.Wait()
	defer stopRelays()
	hs.SetWebhookTarget(hsRelay.srv.URL)
	lw.SetWebhook(lwRelay.srv.URL, lwSecret, false)

	st := &stream{lw: lw, hs: hs, led: led, rnd: rand.New(rand.NewPCG(uint64(o.seed), 2)), hsRnd: rand.New(rand.NewPCG(uint64(o.seed), 3))}
	c := &chaos{o: o, rnd: rnd, srv: srv, h: h, hs: hs, lw: lw, proxy: proxy, st: st, logf: logf, limit: 2 * o.goal}
	if c.limit < time.Minute {
		c.limit = time.Minute
	}

	load0 := loadAvg()
	began := time.Now()
	streamCtx, stopStream := context.WithCancel(ctx)
	var swg sync.WaitGroup
	swg.Add(2)
	go func() { defer swg.Done(); st.runLMS(streamCtx, o.lwRate) }()
	go func() { defer swg.Done(); st.runHubSpot(streamCtx, o.hsRate) }()
	chaosErr := c.run(ctx)
	stopStream()
	swg.Wait()
	if chaosErr != nil {
		return nil, chaosErr
	}
	streamed := time.Since(began)
	logf("stream stopped after %s; draining", streamed.Round(time.Second))

	// Quiesce: every fault has ended (each episode restores what it broke) and the server runs.
	proxy.set(proxyPass)
	lw.ClearFaults()
	if !srv.running() {
		if err := srv.start(ctx); err != nil {
			return nil, err
		}
	}
	if err := hs.FlushWebhooks(ctx); err != nil {
		return nil, fmt.Errorf("flushing HubSpot's webhooks to the relay: %w", err)
	}
	v, idle, drained := c.drain(ctx, []*relay{hsRelay, lwRelay}, o.drain)
	qs, _ := h.status(ctx)
	rep := newReport(o, c, v, idle, drained, streamed, load0, loadAvg())
	rep.Dead = qs.Queue.Dead
	rep.Relays = map[string]relayStats{"hubspot": hsRelay.stats(), "learnworlds": lwRelay.stats()}
	rep.Starts = srv.starts
	st.led.mu.Lock()
	rep.Made = st.led.counts
	rep.StreamErrors = st.errs
	st.led.mu.Unlock()
	rep.judge()
	return rep, nil
}

// loadAvg is the 1-minute load average, or -1 where /proc/loadavg cannot be read.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscan(string(b), &l); err != nil {
		return -1
	}
	return l
}
