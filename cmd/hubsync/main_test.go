package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// binary is the hubsync command, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hubsync-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "hubsync")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	// The go command that runs the tests is on PATH (go test puts its own GOROOT/bin first).
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the command: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fixture is a fake HubSpot, a fake LearnWorlds and a store file for one test.
type fixture struct {
	hs   *hubspottest.Server
	lw   *learnworldstest.Server
	dir  string
	db   string
	rate []string // rate limit flags matching the fakes
	// extra are more flags for every command of the fixture (such as --school).
	extra []string
	// tokenKey is HUBSYNC_TOKEN_KEY for every command of the fixture ("": none set, so the
	// command warns and stores tokens plain).
	tokenKey string
}

// newFixture starts the fakes as real loopback listeners. The rate limits are scaled down from
// the real services' (HubSpot 110/10s, LearnWorlds 30/10s) so a 5,000-learner sync takes seconds,
// and the command is told the same budgets.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		hs:   hubspottest.NewServer(hubspottest.WithRateLimit(200, time.Second)),
		lw:   learnworldstest.NewServer(learnworldstest.WithRateLimit(12, time.Second)),
		dir:  t.TempDir(),
		rate: []string{"--hubspot-rate-limit", "200/1s", "--learnworlds-rate-limit", "12/1s"},
		// A fixed test key, so every command's tokens are sealed (and nothing warns).
		tokenKey: testKeyText("test", 9),
	}
	t.Cleanup(f.hs.Close)
	t.Cleanup(f.lw.Close)
	f.db = filepath.Join(f.dir, "hubsync.db")
	return f
}

// flags are the configuration flags pointing the command at the fakes.
func (f *fixture) flags() []string {
	return append([]string{
		"--db", f.db,
		"--hubspot-url", f.hs.URL, "--hubspot-authorize-url", f.hs.URL + "/oauth/authorize",
		"--hubspot-client-id", f.hs.ClientID(), "--hubspot-client-secret", f.hs.ClientSecret(),
		"--learnworlds-url", f.lw.URL, "--learnworlds-client-id", f.lw.ClientID, "--learnworlds-client-secret", f.lw.ClientSecret,
	}, append(f.rate, f.extra...)...)
}

// command returns the command for args (the subcommand first) with the fixture's flags put
// between the subcommand and the test's own flags, so that the test's flags win.
func (f *fixture) command(ctx context.Context, args ...string) *exec.Cmd {
	i := 0
	for i < len(args) && !strings.HasPrefix(args[i], "-") {
		i++
	}
	full := append(append(append([]string{}, args[:i]...), f.flags()...), args[i:]...)
	cmd := exec.CommandContext(ctx, binary, full...)
	cmd.Env = cleanEnv()
	if f.tokenKey != "" {
		cmd.Env = append(cmd.Env, "HUBSYNC_TOKEN_KEY="+f.tokenKey)
	}
	cmd.Dir = f.dir
	return cmd
}

// cleanEnv is the test process's environment without HUBSYNC_* variables.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HUBSYNC_") {
			out = append(out, kv)
		}
	}
	return out
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the command to completion.
func (f *fixture) run(t testing.TB, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	return runCmd(t, f.command(ctx, args...))
}

func runCmd(t testing.TB, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %v: %v", cmd.Args, err)
	}
	return r
}

// started is a command running in the background whose stdout is read line by line.
type started struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *syncBuffer
	done   chan struct{}
	all    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (f *fixture) start(t *testing.T, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := f.command(ctx, args...)
	return startCmd(t, cmd)
}

func startCmd(t *testing.T, cmd *exec.Cmd) *started {
	t.Helper()
	s := &started{cmd: cmd, lines: make(chan string, 10000), stderr: &syncBuffer{}, done: make(chan struct{}), all: &syncBuffer{}}
	cmd.Stderr = s.stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			s.all.Write([]byte(sc.Text() + "\n"))
			select {
			case s.lines <- sc.Text():
			default:
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return s
}

// waitLine returns the first stdout line for which match is true; it fails the test when the
// command's output ends first.
func (s *started) waitLine(t *testing.T, match func(string) bool) string {
	t.Helper()
	for {
		select {
		case l := <-s.lines:
			if match(l) {
				return l
			}
		case <-s.done:
			// Drain what is left.
			for {
				select {
				case l := <-s.lines:
					if match(l) {
						return l
					}
				default:
					t.Fatalf("the command ended without the expected line; stdout:\n%s\nstderr:\n%s", s.all.String(), s.stderr.String())
				}
			}
		}
	}
}

// wait waits for the command to exit and returns its exit code.
func (s *started) wait(t *testing.T) int {
	t.Helper()
	<-s.done
	err := s.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

// waitFor polls cond until it holds: the command runs in another process, so the fakes' state is
// the only signal there is.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// writeFile writes a file in the fixture's directory and returns its path.
func (f *fixture) writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// connect imports a refresh token minted by the fake HubSpot.
func (f *fixture) connect(t testing.TB) {
	t.Helper()
	_, refresh := f.hs.MintToken()
	r := f.run(t, "connect", "--refresh-token", refresh)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("HubSpot portal %d", f.hs.PortalID())) {
		t.Fatalf("connect: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, refresh) {
		t.Fatal("connect printed the refresh token")
	}
}

// statusJSON runs "status --json" (exit 0, or 4 for a degraded school: the document is printed
// all the same).
func (f *fixture) statusJSON(t *testing.T) map[string]any {
	t.Helper()
	r := f.run(t, "status", "--json", "--school", f.school())
	if r.code != 0 && r.code != exitDegraded {
		t.Fatalf("status: exit %d: %s", r.code, r.stderr)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, r.stdout)
	}
	return st
}

// school is the fixture's school: its --school in extra, else "default".
func (f *fixture) school() string {
	for i, a := range f.extra {
		if a == "--school" && i+1 < len(f.extra) {
			return f.extra[i+1]
		}
	}
	return "default"
}

// bare returns the command for args alone: no fixture flags, no environment of HUBSYNC_*.
func (f *fixture) bare(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = cleanEnv()
	cmd.Dir = f.dir
	return cmd
}
