package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/learnworlds"
)

func TestParseRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		n       int
		per     time.Duration
		wantErr string
	}{
		{in: ""},
		{in: "110/10s", n: 110, per: 10 * time.Second},
		{in: " 5 / 1s ", n: 5, per: time.Second},
		{in: "fast", wantErr: "want N/DURATION"},
		{in: "0/1s", wantErr: "the count \"0\""},
		{in: "-1/1s", wantErr: "the count"},
		{in: "10/", wantErr: "the period \"\""},
		{in: "10/0s", wantErr: "the period"},
		{in: "10/forever", wantErr: "the period \"forever\""},
		{in: "10/48h", wantErr: "the period"},
	}
	for _, tt := range tests {
		n, per, err := parseRate("x-rate", tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "--x-rate ") {
				t.Errorf("parseRate(%q) = %v, want an error naming the flag and %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || n != tt.n || per != tt.per {
			t.Errorf("parseRate(%q) = %d, %v, %v; want %d, %v", tt.in, n, per, err, tt.n, tt.per)
		}
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"110/10s", "", "1/1ms", "x/y", "/", "1000000/24h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, per, err := parseRate("r", s)
		if err != nil {
			if n != 0 || per != 0 {
				t.Fatalf("error with values %d %v", n, per)
			}
			return
		}
		if s != "" && (n < 1 || n > 1_000_000 || per < time.Millisecond || per > 24*time.Hour) {
			t.Fatalf("parseRate(%q) accepted %d/%v", s, n, per)
		}
	})
}

func TestExplain(t *testing.T) {
	t.Parallel()
	dial := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 443}, Err: errors.New("connect: connection refused")}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"not connected", fmt.Errorf("x: %w", hubsync.ErrNotConnected), "run \"hubsync connect\" first"},
		{"connection lost", hubsync.ErrConnectionLost, "run \"hubsync connect\" again"},
		{"revoked", fmt.Errorf("hubsync: connect s: %w", hubspot.ErrConnectionRevoked), "HubSpot refused the refresh token"},
		{"rate limited", &hubspot.RateLimitError{StatusCode: 429, Policy: "DAILY", RetryAfter: 3 * time.Hour}, "HubSpot rate limit reached (DAILY): wait 3h0m0s"},
		{"hubspot 401", &hubspot.APIError{StatusCode: 401, Category: "INVALID_AUTHENTICATION"}, "check --hubspot-client-id and --hubspot-client-secret"},
		{"bad client", &hubspot.APIError{StatusCode: 400, Category: "BAD_CLIENT_SECRET"}, "check --hubspot-client-id"},
		{"hubspot 403", &hubspot.APIError{StatusCode: 403, Category: "MISSING_SCOPES"}, "approve every scope"},
		{"hubspot 500", &hubspot.APIError{StatusCode: 502, Category: "BAD_GATEWAY", CorrelationID: "c-1"}, "try again later"},
		{"lw 401", &learnworlds.APIError{StatusCode: 401, Method: "POST", Path: "/oauth2/access_token"}, "LearnWorlds refused the credentials"},
		{"lw 429", &learnworlds.APIError{StatusCode: 429}, "LearnWorlds rate limit reached"},
		{"lw 404", &learnworlds.APIError{StatusCode: 404, Method: "GET", Path: "/v2/users"}, "check --learnworlds-url"},
		{"lw config", fmt.Errorf("%w: ClientID is empty", learnworlds.ErrConfig), "LearnWorlds configuration"},
		{"hubspot unreachable", fmt.Errorf("hubspot: POST /token: %w", dial), "cannot reach HubSpot at 10.0.0.1:443 (connection refused): check --hubspot-url"},
		{"lw unreachable", fmt.Errorf("learnworlds: GET /v2/users/j***@x.com: %w", &net.DNSError{Name: "school.invalid", Err: "no such host"}), "cannot reach LearnWorlds at school.invalid (unknown host)"},
		{"bad state", hubsync.ErrBadState, "run \"hubsync connect\" again"},
		{"sync running", hubsync.ErrSyncRunning, "hubsync sync --restart"},
		{"invalid settings", fmt.Errorf("%w: mappings[0]: no LMS field", hubsync.ErrInvalidSettings), "invalid settings: mappings[0]: no LMS field"},
		{"deadline", context.DeadlineExceeded, "timed out"},
		{"other", errors.New("boom\nagain"), "boom; again"},
	}
	for _, tt := range tests {
		got := explain(tt.err)
		if !strings.Contains(got, tt.want) || strings.Contains(got, "\n") {
			t.Errorf("%s: explain = %q, want one line containing %q", tt.name, got, tt.want)
		}
	}
}

func TestProgressRendering(t *testing.T) {
	t.Parallel()
	p := hubsync.ManualProgress{Run: 2, State: hubsync.ManualRunning, Phase: hubsync.PhaseToHubSpot, Total: 5000, PhaseDone: 1250, Done: 1250,
		Created: 1000, Updated: 200, Unchanged: 50, Rate: 500, ETA: 7500 * time.Millisecond}
	bar := progressBar(p)
	if want := "[" + strings.Repeat("#", 7) + strings.Repeat("-", 23) + "] LearnWorlds -> HubSpot 1250/5000  25% | created 1000, updated 200, unchanged 50, skipped 0, failed 0 | 500/s, ETA 8s"; bar != want {
		t.Errorf("bar\n got %q\nwant %q", bar, want)
	}
	p.Total, p.ETA = -1, 0
	if got := progressLine(p); got != "progress: LearnWorlds -> HubSpot 1250 | created 1000, updated 200, unchanged 50, skipped 0, failed 0 | 500/s" {
		t.Errorf("line %q", got)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	done := hubsync.ManualProgress{Run: 1, State: hubsync.ManualDone, Done: 10, Created: 4, Failed: 6, Rate: 5,
		StartedAt: start, FinishedAt: start.Add(2 * time.Second),
		Failures: []string{"a***@x.com: bad", "b***@x.com: bad", "c***@x.com: bad"}}
	s := summary(done, 2)
	for _, want := range []string{"Manual sync run 1 done: 10 records in 2s (5/s)", "created   4", "failed    6", "  - a***@x.com: bad", "  - b***@x.com: bad", "... and 4 more"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "c***") {
		t.Errorf("summary shows more reasons than asked:\n%s", s)
	}
	resumed := hubsync.ManualProgress{Run: 2, State: hubsync.ManualDone, Done: 12000, Rate: 579.7, StartedAt: start,
		FinishedAt: start.Add(27 * time.Second), Active: 20700 * time.Millisecond}
	if got := summary(resumed, 5); !strings.Contains(got, "Manual sync run 2 done: 12000 records in 20.7s (580/s; paused 6s)") {
		t.Errorf("a resumed run's summary counts the pause:\n%s", got)
	}
}

func TestRunUsage(t *testing.T) {
	t.Parallel()
	noEnv := func(string) string { return "" }
	tests := []struct {
		args     []string
		env      map[string]string
		code     int
		out, err string
	}{
		{args: nil, code: exitUsage, err: "Usage: hubsync <command>"},
		{args: []string{"--help"}, code: exitOK, out: "Commands:"},
		{args: []string{"nope"}, code: exitUsage, err: "unknown command \"nope\""},
		{args: []string{"sync", "-h"}, code: exitOK, out: "HUBSYNC_HUBSPOT_CLIENT_SECRET"},
		{args: []string{"status", "--no-such-flag"}, code: exitUsage, err: "hubsync status: unknown flag: --no-such-flag (see \"hubsync status -h\")"},
		{args: []string{"status", "--db"}, code: exitUsage, err: "flag needs an argument: --db"},
		{args: []string{"sync", "--workers", "many"}, code: exitUsage, err: "for flag --workers"},
		{args: []string{"status", "--log-format", "xml"}, code: exitUsage, err: "--log-format \"xml\": want text or json"},
		{args: []string{"status", "extra"}, code: exitUsage, err: "unexpected argument \"extra\""},
		{args: []string{"settings"}, code: exitUsage, err: "want \"settings apply -f FILE\""},
		{args: []string{"settings", "apply"}, code: exitUsage, err: "-f FILE is required"},
		{args: []string{"status", "--log-level", "loud"}, code: exitUsage, err: "--log-level \"loud\""},
		{args: []string{"sync"}, code: exitUsage, err: "--hubspot-client-id and --hubspot-client-secret are required"},
		{args: []string{"version", "--db", "x"}, code: exitUsage, err: "unknown flag: --db"},
		{args: []string{"sync", "-h"}, env: map[string]string{"HUBSYNC_HUBSPOT_CLIENT_SECRET": "s3cr3t-value"}, code: exitOK, out: "HUBSYNC_HUBSPOT_CLIENT_SECRET"},
	}
	for _, tt := range tests {
		var out, errb strings.Builder
		getenv := noEnv
		if tt.env != nil {
			getenv = func(k string) string { return tt.env[k] }
		}
		code := run(t.Context(), tt.args, &out, &errb, getenv)
		if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errb.String(), tt.err) {
			t.Errorf("run(%q) = %d\nstdout: %s\nstderr: %s\nwant %d, stdout with %q, stderr with %q", tt.args, code, out.String(), errb.String(), tt.code, tt.out, tt.err)
		}
		if strings.Contains(out.String()+errb.String(), "s3cr3t-value") {
			t.Errorf("run(%q) printed a secret from the environment", tt.args)
		}
	}
}

// TestEnvironment checks that flags fall back to HUBSYNC_* variables and that a flag beats them.
func TestEnvironment(t *testing.T) {
	t.Parallel()
	a := &app{getenv: func(k string) string {
		return map[string]string{"HUBSYNC_SCHOOL": "env-school", "HUBSYNC_DB": "env.db", "HUBSYNC_HUBSPOT_CLIENT_ID": "env-id"}[k]
	}, stdout: &strings.Builder{}, stderr: &strings.Builder{}, name: "status"}
	fs := a.flags("")
	if err := a.parse(fs, []string{"--db", "flag.db"}, quiet); err != nil {
		t.Fatal(err)
	}
	if a.cfg.school != "env-school" || a.cfg.db != "flag.db" || a.cfg.hsID != "env-id" || a.cfg.lwHookScheme != "static" {
		t.Fatalf("config %+v", a.cfg)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"72h":                  now.Add(-72 * time.Hour),
		"2026-03-02T09:00:00Z": time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
	} {
		if got, err := parseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1h", "0s", "yesterday", "2027-01-01T00:00:00Z"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
}

// TestFitBar: the bar line never reaches the terminal's last column, and keeps the most it can.
func TestFitBar(t *testing.T) {
	t.Parallel()
	p := hubsync.ManualProgress{State: hubsync.ManualRunning, Phase: hubsync.PhaseToHubSpot, Total: 12000, PhaseDone: 1600, Done: 1600,
		Created: 1600, Rate: 530, ETA: 20 * time.Second}
	for _, tt := range []struct {
		width      int
		want, lack string
	}{
		{200, progressBar(p), ""},
		{150, "unchanged 0", ""},
		{120, "LearnWorlds -> HubSpot 1600/12000  13% | 0 failed | 530/s, ETA 20s", "unchanged"},
		{80, "LearnWorlds -> HubSpot", "unchanged"},
		{50, "1600/12000  13% | 0 failed", "LearnWorlds"},
		{20, "[#---------] 1600/1", ""},
		{1, "", "["},
	} {
		got := fitBar(p, tt.width)
		if n := len([]rune(got)); n > tt.width-1 && !(tt.width <= 1 && n == 0) {
			t.Errorf("width %d: %d columns: %q", tt.width, n, got)
		}
		if !strings.Contains(got, tt.want) || (tt.lack != "" && strings.Contains(got, tt.lack)) {
			t.Errorf("width %d: %q; want it to hold %q and not %q", tt.width, got, tt.want, tt.lack)
		}
	}
	if w := termWidth(&strings.Builder{}, func(k string) string { return map[string]string{"COLUMNS": "100"}[k] }); w != 100 {
		t.Errorf("termWidth with COLUMNS=100: %d", w)
	}
	if w := termWidth(&strings.Builder{}, func(string) string { return "" }); w != defaultWidth {
		t.Errorf("termWidth without a terminal or COLUMNS: %d", w)
	}
}
