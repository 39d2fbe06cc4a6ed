package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// TestActionableErrors runs the command into each kind of failure a person meets and checks the
// one line it prints and the exit code.
func TestActionableErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, f *fixture) // before the command
		args    func(f *fixture) []string
		code    int
		want    string
		noStore bool
	}{
		{
			name: "revoked refresh token",
			args: func(*fixture) []string { return []string{"connect", "--refresh-token", "not-a-token"} },
			code: exitFailure, want: "HubSpot refused the refresh token",
		},
		{
			name: "wrong client secret",
			args: func(f *fixture) []string {
				_, rt := f.hs.MintToken()
				return []string{"connect", "--refresh-token", rt, "--hubspot-client-secret", "wrong-secret"}
			},
			code: exitFailure, want: "check --hubspot-client-id and --hubspot-client-secret",
		},
		{
			name: "unreachable HubSpot",
			args: func(f *fixture) []string {
				return []string{"connect", "--refresh-token", "x", "--hubspot-url", "http://127.0.0.1:1"}
			},
			code: exitFailure, want: "cannot reach HubSpot at 127.0.0.1:1 (connection refused): check --hubspot-url",
		},
		{
			name: "not connected",
			args: func(*fixture) []string { return []string{"sync"} },
			code: exitFailure, want: "not connected to HubSpot: run \"hubsync connect\" first",
		},
		{
			name:  "wrong LearnWorlds secret",
			setup: func(t *testing.T, f *fixture) { f.connect(t) },
			args: func(*fixture) []string {
				return []string{"sync", "--learnworlds-client-secret", "wrong"}
			},
			code: exitFailure, want: "LearnWorlds refused the credentials",
		},
		{
			name:  "connection lost",
			setup: func(t *testing.T, f *fixture) { f.connect(t); f.hs.Uninstall() },
			args:  func(*fixture) []string { return []string{"settings", "apply", "-f", "settings.json"} },
			code:  exitFailure, want: "run \"hubsync connect\" again",
		},
		{
			name: "HubSpot daily limit",
			setup: func(t *testing.T, f *fixture) {
				f.connect(t)
				f.hs.InjectFault(hubspottest.Fault{PathPrefix: "/crm", Status: 429, Policy: "DAILY", Times: 100})
			},
			args: func(*fixture) []string { return []string{"sync"} },
			code: exitFailure, want: "HubSpot rate limit reached (DAILY)",
		},
		{
			name: "missing client id",
			args: func(*fixture) []string { return []string{"sync", "--hubspot-client-id", ""} },
			code: exitUsage, want: "--hubspot-client-id and --hubspot-client-secret are required",
		},
		{
			name: "bad rate limit",
			args: func(*fixture) []string { return []string{"status", "--hubspot-rate-limit", "fast"} },
			code: exitUsage, want: "want N/DURATION",
		},
		{
			name: "bad direction",
			args: func(*fixture) []string { return []string{"sync", "--direction", "sideways"} },
			code: exitUsage, want: "--direction \"sideways\": want to_hubspot, to_lms or both",
		},
		{
			name: "unknown command",
			args: func(*fixture) []string { return []string{"frobnicate"} },
			code: exitUsage, want: "unknown command \"frobnicate\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.writeFile(t, "settings.json", settingsFile)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			r := f.run(t, tt.args(f)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("stderr lacks %q:\n%s", tt.want, r.stderr)
			}
			if tt.code == exitFailure {
				if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 {
					t.Errorf("want one line on stderr, got %d:\n%s", len(lines), r.stderr)
				}
			}
			for _, secret := range []string{f.hs.ClientSecret(), f.lw.ClientSecret, "wrong-secret"} {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Errorf("output holds the secret %q", secret)
				}
			}
		})
	}
}

// TestMalformedSettingsFile checks the exit code 2 and the line, column and field named.
func TestMalformedSettingsFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	path := f.writeFile(t, "bad.json", "{\n  \"mode\": \"two_way\",\n  \"gdpr_toolkit\": \"yes\"\n}\n")
	r := f.run(t, "settings", "apply", "-f", path)
	want := filepath.Base(path) + ": line 3, column 3: field \"gdpr_toolkit\": a JSON string cannot be a boolean"
	if r.code != exitUsage || !strings.Contains(r.stderr, want) {
		t.Fatalf("exit %d, stderr %q; want exit 2 and %q", r.code, r.stderr, want)
	}
}
