// Command syncbench measures a manual sync of N learners against the fake LearnWorlds and fake
// HubSpot, with both services' real rate limits scaled up by a stated factor (the time windows are
// divided by it), and the SQLite store.
//
//	go run ./examples/syncbench -n 100000 -scale 20
//	go run ./examples/syncbench -n 100000 -scale 20 -mode to_lms
//
// The fakes run in a child process (this same program, started with -fakes), so the peak memory
// reported is the sync's own (engine, clients, SQLite), not the fakes' stored learners and
// contacts. It reports:
//
//   - throughput / ceiling, where the ceiling is the lower of the HubSpot write ceiling (requests
//     per window x 100 contacts / window) and the LearnWorlds read ceiling (requests per window x
//     200 learners / window);
//   - 429 answers received from either fake;
//   - peak resident memory of this process (VmHWM), and the peak Go heap;
//   - in to_lms mode, LearnWorlds writes beyond the learners that really differed (redundant);
//   - the latency of live changes made while the backfill runs (p50, p99), in scaled time and
//     converted back to real time (x scale).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

const school = hubsync.SchoolID("bench")

// The real limits.
const (
	hsRequests, lwRequests = 110, 30
	realWindow             = 10 * time.Second
)

type fakeInfo struct {
	HubSpotURL   string `json:"hubspot_url"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	RefreshToken string `json:"refresh_token"`
	LWURL        string `json:"lw_url"`
	LWClientID   string `json:"lw_client_id"`
	LWSecret     string `json:"lw_secret"`
	AdminURL     string `json:"admin_url"`
	Differing    int    `json:"differing"`
}

type fakeStats struct {
	HubSpotRequests, HubSpot429, LWRequests, LW429 int
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "syncbench:", err)
		os.Exit(1)
	}
}

type options struct {
	n       int
	scale   float64
	mode    string
	fakes   bool
	diff    float64
	db      string
	liveGap time.Duration
}

func parse(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("syncbench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.IntVar(&o.n, "n", 100000, "learners to sync")
	fs.Float64Var(&o.scale, "scale", 20, "rate-limit scale: the services' 10 s windows become 10 s / scale")
	fs.StringVar(&o.mode, "mode", "to_hubspot", "to_hubspot (LearnWorlds -> HubSpot) or to_lms (HubSpot -> LearnWorlds)")
	fs.Float64Var(&o.diff, "differ", 0.01, "to_lms: share of contacts whose mapped value differs from the learner's")
	fs.StringVar(&o.db, "db", "", "SQLite file (default: in a temporary directory)")
	fs.DurationVar(&o.liveGap, "live-every", 0, "make a live change this often during the backfill (default: 2 s of real time, scaled)")
	fs.BoolVar(&o.fakes, "fakes", false, "internal: serve the fakes (the child process)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.n < 1:
		return o, fmt.Errorf("-n %d: want at least 1", o.n)
	case o.scale < 1 || o.scale > 1000:
		return o, fmt.Errorf("-scale %v: want 1 to 1000", o.scale)
	case o.mode != "to_hubspot" && o.mode != "to_lms":
		return o, fmt.Errorf("-mode %q: want to_hubspot or to_lms", o.mode)
	case o.diff < 0 || o.diff > 1:
		return o, fmt.Errorf("-differ %v: want 0 to 1", o.diff)
	}
	if o.liveGap == 0 {
		o.liveGap = time.Duration(float64(2*time.Second) / o.scale)
	}
	return o, nil
}

func (o options) window() time.Duration { return time.Duration(float64(realWindow) / o.scale) }

func email(i int) string { return "learner" + strconv.Itoa(i) + "@example.com" }

// serveFakes is the child process: it starts and seeds the fakes, prints how to reach them as one
// JSON line, and serves until its standard input closes.
func serveFakes(o options, out io.Writer) error {
	hs := hubspottest.NewServer(hubspottest.WithRateLimit(hsRequests, o.window()), hubspottest.WithSearchRateLimit(5, time.Duration(float64(time.Second)/o.scale)))
	defer hs.Close()
	lw := learnworldstest.NewServer(learnworldstest.WithRateLimit(lwRequests, o.window()))
	defer lw.Close()
	if err := lw.Seed(o.n, func(i int, u *learnworldstest.User) {
		u.Fields = map[string]any{"country": "GR", "company": "Company " + strconv.Itoa(i%100)}
	}); err != nil {
		return err
	}
	differing := 0
	if o.mode == "to_lms" {
		every := 0
		if o.diff > 0 {
			every = int(1 / o.diff)
		}
		for i := range o.n {
			country := "GR"
			if every > 0 && i%every == 0 {
				country = "FR"
				differing++
			}
			if _, err := hs.SeedContact(map[string]string{"email": email(i), "country": country, "company": "Company " + strconv.Itoa(i%100)}); err != nil {
				return err
			}
		}
	}
	_, refresh := hs.MintToken()
	admin := http.NewServeMux()
	admin.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		h, l := hs.Stats(), lw.Stats()
		_ = json.NewEncoder(w).Encode(fakeStats{HubSpotRequests: h.Requests, HubSpot429: h.RateLimited, LWRequests: l.Requests, LW429: l.RateLimited})
	})
	admin.HandleFunc("/contact", func(w http.ResponseWriter, r *http.Request) {
		c, ok := hs.Contact(r.URL.Query().Get("email"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(c.Properties)
	})
	as := httptest.NewServer(admin)
	defer as.Close()
	info := fakeInfo{HubSpotURL: hs.URL, ClientID: hs.ClientID(), ClientSecret: hs.ClientSecret(), RefreshToken: refresh,
		LWURL: lw.URL, LWClientID: lw.ClientID, LWSecret: lw.ClientSecret, AdminURL: as.URL, Differing: differing}
	if err := json.NewEncoder(out).Encode(info); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes our stdin
	return nil
}

func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// peakRSS reads this process's peak resident memory from /proc (0 where unavailable).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parse(args, out)
	if err != nil {
		return err
	}
	if o.fakes {
		return serveFakes(o, out)
	}

	// The fakes, in a child process.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.CommandContext(ctx, self, append([]string{"-fakes"}, args...)...)
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	seedStart := time.Now()
	if err := child.Start(); err != nil {
		return err
	}
	defer func() { stdin.Close(); _ = child.Wait() }()
	var info fakeInfo
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("the fakes did not start: %w", err)
	}
	if err := json.Unmarshal(line, &info); err != nil {
		return err
	}
	fmt.Fprintf(out, "fakes seeded with %d learners in %v (child process)\n", o.n, time.Since(seedStart).Round(time.Millisecond))

	if o.db == "" {
		dir, err := os.MkdirTemp("", "syncbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.db = filepath.Join(dir, "hubsync.db")
	}
	store, err := sqlitestore.Open(ctx, o.db, sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	defer store.Close()
	lwc, err := learnworlds.New(learnworlds.Config{BaseURL: info.LWURL, ClientID: info.LWClientID, ClientSecret: info.LWSecret, RateLimit: lwRequests, RatePer: o.window()})
	if err != nil {
		return err
	}
	learners, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{school: {Client: lwc}})
	if err != nil {
		return err
	}
	eng, err := hubsync.New(hubsync.Config{
		Store: store, Queue: store, Learners: learners, Logger: slog.New(slog.DiscardHandler),
		HubSpot: hubsync.HubSpotApp{ClientID: info.ClientID, ClientSecret: info.ClientSecret, RedirectURL: "http://localhost/cb",
			BaseURL: info.HubSpotURL, RateLimit: hsRequests, RateInterval: o.window()},
	})
	if err != nil {
		return err
	}
	if _, err := eng.ConnectWithRefreshToken(ctx, school, info.RefreshToken); err != nil {
		return err
	}
	mode := hubsync.ModeToHubSpot
	if o.mode == "to_lms" {
		mode = hubsync.ModeToLMS
	}
	if _, err := eng.SaveSettings(ctx, school, hubsync.Settings{Mode: mode, Mappings: []hubsync.Mapping{
		{LMSField: "email", HubSpotProperty: "email"},
		{LMSField: "country", HubSpotProperty: "country"},
		{LMSField: "company", HubSpotProperty: "company"},
	}}); err != nil {
		return err
	}
	runCtx, stopEngine := context.WithCancel(ctx)
	engDone := make(chan error, 1)
	go func() { engDone <- eng.Run(runCtx) }()
	defer func() { stopEngine(); <-engDone }()

	var peakHeap atomic.Uint64
	sampleDone := make(chan struct{})
	go func() { // sample the Go heap
		defer close(sampleDone)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peakHeap.Load() {
				peakHeap.Store(ms.HeapInuse)
			}
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
			}
		}
	}()

	before := fakeStats{}
	if err := getJSON(ctx, info.AdminURL+"/stats", &before); err != nil {
		return err
	}
	if _, err := eng.StartManualSync(ctx, school, ""); err != nil {
		return err
	}
	// Live changes during the backfill (to_hubspot only: they are LMS changes).
	var latMu sync.Mutex
	var lats []time.Duration
	var liveWG sync.WaitGroup
	liveStop := make(chan struct{})
	if o.mode == "to_hubspot" {
		liveWG.Add(1)
		go func() {
			defer liveWG.Done()
			t := time.NewTicker(o.liveGap)
			defer t.Stop()
			for i := 0; ; i++ {
				select {
				case <-liveStop:
					return
				case <-t.C:
				}
				e := email((i * 7919) % o.n)
				val := "LIVE" + strconv.Itoa(i)
				sent := time.Now()
				if err := eng.LearnerChanged(ctx, school, hubsync.Learner{Email: e, Values: map[string]any{"country": val}}); err != nil {
					return
				}
				liveWG.Add(1)
				go func() {
					defer liveWG.Done()
					for {
						var props map[string]string
						if getJSON(ctx, info.AdminURL+"/contact?email="+e, &props) == nil && props["country"] == val {
							latMu.Lock()
							lats = append(lats, time.Since(sent))
							latMu.Unlock()
							return
						}
						select {
						case <-ctx.Done():
							return
						case <-time.After(10 * time.Millisecond):
						}
					}
				}()
			}
		}()
	}

	var prog hubsync.ManualProgress
	lastPrint := time.Now()
	for {
		prog, err = eng.ManualSync(ctx, school)
		if err != nil {
			return err
		}
		if prog.State != hubsync.ManualRunning {
			break
		}
		if time.Since(lastPrint) > 5*time.Second {
			fmt.Fprintf(out, "  %s: %d done, %.0f/s, ETA %v\n", prog.Phase, prog.Done, prog.Rate, prog.ETA.Round(time.Second))
			lastPrint = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	close(liveStop)
	liveWG.Wait()
	if prog.State != hubsync.ManualDone {
		return fmt.Errorf("manual sync ended %s: %s", prog.State, prog.Error)
	}
	var after fakeStats
	if err := getJSON(ctx, info.AdminURL+"/stats", &after); err != nil {
		return err
	}
	stopEngine()
	<-sampleDone

	elapsed := prog.FinishedAt.Sub(prog.StartedAt)
	w := o.window().Seconds()
	ceilHS := hsRequests * 100 / w
	ceilLW := lwRequests * 200 / w
	ceiling := min(ceilHS, ceilLW)
	throughput := float64(o.n) / elapsed.Seconds()
	fmt.Fprintf(out, "\nsyncbench: %d learners, mode %s, limits scaled x%g (HubSpot %d / %v, LearnWorlds %d / %v)\n",
		o.n, o.mode, o.scale, hsRequests, o.window(), lwRequests, o.window())
	fmt.Fprintf(out, "  elapsed                %v\n", elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "  progress               %d done: %d created, %d updated, %d unchanged, %d skipped, %d failed\n",
		prog.Done, prog.Created, prog.Updated, prog.Unchanged, prog.Skipped, prog.Failed)
	if o.mode == "to_hubspot" {
		fmt.Fprintf(out, "  throughput             %.0f learners/s\n", throughput)
		fmt.Fprintf(out, "  ceiling                %.0f learners/s (HubSpot writes %.0f/s, LearnWorlds reads %.0f/s)\n", ceiling, ceilHS, ceilLW)
		fmt.Fprintf(out, "  throughput/ceiling     %.3f\n", throughput/ceiling)
	} else {
		fmt.Fprintf(out, "  learners that differed %d\n", info.Differing)
		fmt.Fprintf(out, "  redundant LW writes    %d\n", max(prog.Updated-info.Differing, 0))
		if prog.Updated < info.Differing {
			fmt.Fprintf(out, "  MISSED LW writes       %d\n", info.Differing-prog.Updated)
		}
	}
	fmt.Fprintf(out, "  429s received          %d (HubSpot %d, LearnWorlds %d)\n",
		after.HubSpot429-before.HubSpot429+after.LW429-before.LW429, after.HubSpot429-before.HubSpot429, after.LW429-before.LW429)
	fmt.Fprintf(out, "  requests               HubSpot %d, LearnWorlds %d\n", after.HubSpotRequests-before.HubSpotRequests, after.LWRequests-before.LWRequests)
	fmt.Fprintf(out, "  peak RSS               %.1f MiB (peak Go heap %.1f MiB)\n", float64(peakRSS())/(1<<20), float64(peakHeap.Load())/(1<<20))
	if len(lats) > 0 {
		slices.Sort(lats)
		p50, p99 := lats[len(lats)/2], lats[len(lats)*99/100]
		fmt.Fprintf(out, "  live change latency    %d changes: p50 %v, p99 %v (x%g = %v, %v at real limits)\n",
			len(lats), p50.Round(time.Millisecond), p99.Round(time.Millisecond), o.scale,
			time.Duration(float64(p50)*o.scale).Round(time.Millisecond), time.Duration(float64(p99)*o.scale).Round(time.Millisecond))
	}
	if prog.Failed > 0 {
		return errors.New("records failed")
	}
	return nil
}
