//go:build unix

package hubsync_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// BenchmarkCPUPerContact measures the CPU hubsync spends per contact synced LMS -> HubSpot, with
// the rate limits off on both sides so that CPU, not a budget, bounds the run. One op is one
// contact: -benchtime 20000x syncs 20,000 learners.
//
// The fake HubSpot (and, for the learnworlds cases, the fake LearnWorlds) runs in a child process
// (this test binary, started by TestMain), so this process's CPU (getrusage RUSAGE_SELF, user +
// system) is hubsync's own: engine, HubSpot client, store, and the LMS side (the in-memory host
// backend, or the learnworlds adapter and its client). The child reports its own CPU over the same
// span. The metrics, per contact:
//
//   - hubsync-us/contact: this process's CPU. The goal (<= 25 us) is judged on it.
//   - fakes-us/contact: the child's CPU (the fakes' HTTP serving and JSON).
//   - total-us/contact: both.
//   - ns/op and allocs/op: wall time and this process's allocations per contact.
//
// Cases, path/lms/store:
//
//   - backfill/host/{mem,sqlite}: a manual sync LMS -> HubSpot of N new learners from an
//     in-memory host LMS (hubsynctest.Learners): every contact created.
//   - backfill/learnworlds/{mem,sqlite}: the same through the learnworlds adapter against the fake
//     LearnWorlds (pages of 200, in the child).
//   - live/host/{mem,sqlite}: N learners already synced each change one value (LearnerChanged,
//     one call per learner, from one goroutine), then the workers drain the queue: every contact
//     updated, in full batches, as on a portal that changes arrive at faster than its ceiling.
//     Set-up (the first sync) is not measured.
//   - live-tx100/host/{mem,sqlite}: the same, the host queueing the changes 100 to a
//     transaction (Store.RunInTx, Engine.LearnerChangedTx): one commit per 100 changes instead
//     of one per change.
//
// The SQLite store is a real file in b.TempDir() (synchronous=FULL, the default); mem is
// hubsynctest.NewMemStore, so the difference between the two is the store's cost.
//
// Run: go test -run '^$' -bench CPUPerContact -benchtime 20000x .
func BenchmarkCPUPerContact(b *testing.B) {
	for _, c := range []struct{ path, lms, store string }{
		{"backfill", "host", "mem"},
		{"backfill", "host", "sqlite"},
		{"backfill", "learnworlds", "mem"},
		{"backfill", "learnworlds", "sqlite"},
		{"live", "host", "mem"},
		{"live", "host", "sqlite"},
		{"live-tx100", "host", "mem"},
		{"live-tx100", "host", "sqlite"},
	} {
		b.Run(c.path+"/"+c.lms+"/"+c.store, func(b *testing.B) { benchCPU(b, c.path, c.lms, c.store) })
	}
}

// cpuMapping is the mapping the benchmark syncs (examples/syncbench's).
var cpuMapping = []hubsync.Mapping{
	{LMSField: "email", HubSpotProperty: "email"},
	{LMSField: "country", HubSpotProperty: "country"},
	{LMSField: "company", HubSpotProperty: "company"},
}

const cpuSchool = hubsync.SchoolID("cpu-bench")

func cpuEmail(i int) string { return "learner" + strconv.Itoa(i) + "@example.com" }

func benchCPU(b *testing.B, path, lmsKind, storeKind string) {
	n := b.N
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seed := 0
	if lmsKind == "learnworlds" {
		seed = n
	}
	fk := startCPUFakes(b, seed)
	defer fk.close()

	var store interface {
		hubsync.Store
		hubsync.Queue
		hubsync.Transactor
	}
	switch storeKind {
	case "mem":
		store = hubsynctest.NewMemStore()
	case "sqlite":
		s, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "hubsync.db"), sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		store = s
	}
	var lms hubsync.Learners
	switch lmsKind {
	case "host":
		host := hubsynctest.NewLearners(0)
		if path == "backfill" {
			for i := range n {
				host.Put(cpuSchool, hubsync.Learner{Email: cpuEmail(i), Values: map[string]any{"country": "GR", "company": "Company " + strconv.Itoa(i%100)}})
			}
		}
		lms = host
	case "learnworlds":
		lwc, err := learnworlds.New(learnworlds.Config{BaseURL: fk.info.LWURL, ClientID: fk.info.LWClientID, ClientSecret: fk.info.LWSecret,
			RateLimit: 1 << 20, RatePer: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		l, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{cpuSchool: {Client: lwc}})
		if err != nil {
			b.Fatal(err)
		}
		lms = l
	}
	progress := make(chan hubsync.ManualProgress, 1)
	eng, err := hubsync.New(hubsync.Config{
		Store: store, Queue: store, Learners: lms, Logger: slog.New(slog.DiscardHandler),
		HubSpot: hubsync.HubSpotApp{ClientID: fk.info.ClientID, ClientSecret: fk.info.ClientSecret, RedirectURL: redirect,
			BaseURL: fk.info.HubSpotURL, RateLimit: 1 << 20, RateInterval: time.Second},
		OnProgress: func(_ hubsync.SchoolID, p hubsync.ManualProgress) {
			if p.State != hubsync.ManualRunning {
				progress <- p
			}
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := eng.ConnectWithRefreshToken(ctx, cpuSchool, fk.info.RefreshToken); err != nil {
		b.Fatal(err)
	}
	if _, err := eng.SaveSettings(ctx, cpuSchool, hubsync.Settings{Mappings: cpuMapping}); err != nil {
		b.Fatal(err)
	}
	run := func() (stop func()) {
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- eng.Run(runCtx) }()
		return func() { cancel(); <-done }
	}
	// change queues a change of every learner, then lets the workers drain the queue: the
	// steady state of a saturated portal, whose batches are full (with the workers running
	// while a fast host enqueues, each batch would take the few jobs queued since the last).
	change := func(country string) {
		learner := func(i int) hubsync.Learner {
			return hubsync.Learner{Email: cpuEmail(i), Values: map[string]any{"country": country, "company": "Company " + strconv.Itoa(i%100)}}
		}
		for start := 0; start < n; start += 100 {
			if path == "live-tx100" {
				err := store.RunInTx(ctx, func(ctx context.Context, _ hubsync.Store, q hubsync.Queue) error {
					for i := start; i < min(start+100, n); i++ {
						if err := eng.LearnerChangedTx(ctx, q, cpuSchool, learner(i)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				continue
			}
			for i := start; i < min(start+100, n); i++ {
				if err := eng.LearnerChanged(ctx, cpuSchool, learner(i)); err != nil {
					b.Fatal(err)
				}
			}
		}
		stop := run()
		fk.waitCountry(b, n, country)
		waitDrained(b, ctx, store) // the last batch's sync states and acks
		stop()
	}
	if path != "backfill" {
		change("GR") // set-up: every learner synced once, not measured
	} else {
		defer run()()
	}

	b.ReportAllocs()
	self0, child0 := selfCPU(), fk.cpu(b)
	b.ResetTimer()
	switch path {
	case "backfill":
		if _, err := eng.StartManualSync(ctx, cpuSchool, hubsync.DirectionToHubSpot); err != nil {
			b.Fatal(err)
		}
		p := <-progress
		if p.State != hubsync.ManualDone || p.Created != n || p.Failed != 0 {
			b.Fatalf("manual sync ended %s with %d created, %d failed of %d (%v)", p.State, p.Created, p.Failed, n, p.Failures)
		}
	default:
		change("FR")
	}
	b.StopTimer()
	self, child := selfCPU()-self0, fk.cpu(b)-child0
	if path != "backfill" {
		checkSent(b, ctx, store, n, "FR")
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	b.ReportMetric(per(self), "hubsync-us/contact")
	b.ReportMetric(per(child), "fakes-us/contact")
	b.ReportMetric(per(self+child), "total-us/contact")
	if n >= 1000 {
		b.Logf("%d contacts: hubsync %v CPU (%.1f us/contact, %.3f CPU-s per 1,000), fakes %v; load %s",
			n, self.Round(time.Millisecond), per(self), per(self)/1000, child.Round(time.Millisecond), loadavg())
	}
}

// waitDrained waits until the school has no job left (ready, leased or scheduled); a dead one
// fails the benchmark. Called once the contacts are written, when only the last batches' jobs
// are left: the Stats query, which reads every job of the school, is then cheap.
func waitDrained(b *testing.B, ctx context.Context, q hubsync.Queue) {
	for {
		st, err := q.Stats(ctx, cpuSchool)
		if err != nil {
			b.Fatal(err)
		}
		if st.Dead > 0 {
			b.Fatalf("%d jobs dead-lettered", st.Dead)
		}
		if st.Ready+st.Leased+st.Scheduled == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond) // a benchmark on the real clock; never in tests
	}
}

// checkSent checks that every learner's sync state records country as sent.
func checkSent(b *testing.B, ctx context.Context, s hubsync.Store, n int, country string) {
	after, seen := "", 0
	for {
		page, err := s.ListSyncStates(ctx, cpuSchool, after, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, st := range page {
			if st.SentToHubSpot["country"] != country {
				b.Fatalf("%s: sent country %q, want %q", hubsync.MaskEmail(st.Email), st.SentToHubSpot["country"], country)
			}
			seen++
		}
		after = page[len(page)-1].Email
	}
	if seen != n {
		b.Fatalf("%d sync states, want %d", seen, n)
	}
}

// selfCPU is this process's CPU time so far, user and system.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// The child process: TestMain serves the fakes instead of running tests when cpuChildEnv is set.
const (
	cpuChildEnv = "HUBSYNC_CPUBENCH_CHILD"
	cpuSeedEnv  = "HUBSYNC_CPUBENCH_SEED"
)

type cpuFakeInfo struct {
	HubSpotURL, ClientID, ClientSecret, RefreshToken string
	LWURL, LWClientID, LWSecret                      string
}

type cpuFakes struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	info cpuFakeInfo
}

func TestMain(m *testing.M) {
	if os.Getenv(cpuChildEnv) != "" {
		if err := serveCPUFakes(); err != nil {
			fmt.Fprintln(os.Stderr, "cpu bench fakes:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// serveCPUFakes starts the fakes with their limits off, prints how to reach them as one JSON
// line, then answers each line read from stdin with its own CPU time in nanoseconds, until stdin
// closes.
func serveCPUFakes() error {
	hs := hubspottest.NewServer(hubspottest.WithRateLimit(0, 0), hubspottest.WithSearchRateLimit(0, 0))
	defer hs.Close()
	lw := learnworldstest.NewServer(learnworldstest.WithRateLimit(0, 0))
	defer lw.Close()
	if n, _ := strconv.Atoi(os.Getenv(cpuSeedEnv)); n > 0 {
		if err := lw.Seed(n, func(i int, u *learnworldstest.User) {
			u.Fields = map[string]any{"country": "GR", "company": "Company " + strconv.Itoa(i%100)}
		}); err != nil {
			return err
		}
	}
	_, refresh := hs.MintToken()
	info := cpuFakeInfo{HubSpotURL: hs.URL, ClientID: hs.ClientID(), ClientSecret: hs.ClientSecret(), RefreshToken: refresh,
		LWURL: lw.URL, LWClientID: lw.ClientID, LWSecret: lw.ClientSecret}
	if err := json.NewEncoder(os.Stdout).Encode(info); err != nil {
		return err
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		country, ok := strings.CutPrefix(sc.Text(), "country ")
		if !ok {
			fmt.Println(int64(selfCPU()))
			continue
		}
		n := 0
		for _, c := range hs.Contacts() {
			if c.Properties["country"] == country {
				n++
			}
		}
		fmt.Println(n)
	}
	return nil
}

func startCPUFakes(b *testing.B, seed int) *cpuFakes {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), cpuChildEnv+"=1", cpuSeedEnv+"="+strconv.Itoa(seed))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	f := &cpuFakes{cmd: cmd, in: in, out: bufio.NewReader(out)}
	line, err := f.out.ReadBytes('\n')
	if err != nil {
		f.close()
		b.Fatalf("the fakes did not start: %v", err)
	}
	if err := json.Unmarshal(line, &f.info); err != nil {
		f.close()
		b.Fatal(err)
	}
	return f
}

// ask sends the child one line and returns its one-number answer.
func (f *cpuFakes) ask(b *testing.B, line string) int64 {
	if _, err := io.WriteString(f.in, line+"\n"); err != nil {
		b.Fatal(err)
	}
	ans, err := f.out.ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(ans), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// cpu is the child's CPU time so far.
func (f *cpuFakes) cpu(b *testing.B) time.Duration { return time.Duration(f.ask(b, "cpu")) }

// waitCountry waits until n contacts of the fake HubSpot have country. The counting is the
// child's CPU, not hubsync's.
func (f *cpuFakes) waitCountry(b *testing.B, n int, country string) {
	start := time.Now()
	for f.ask(b, "country "+country) < int64(n) {
		// A benchmark on the real clock; never in tests. Each look copies every contact in the
		// child: look seldom, at most a twentieth of the time waited so far.
		time.Sleep(max(20*time.Millisecond, time.Since(start)/20))
	}
}

func (f *cpuFakes) close() {
	f.in.Close()
	_ = f.cmd.Wait()
}
