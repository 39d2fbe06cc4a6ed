package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestHelpGroupsFlags runs "sync -h": the command's own flags come first, then the shared ones
// by section, every flag written --name, the environment variable before the default, on
// stdout, nothing on stderr.
func TestHelpGroupsFlags(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := runCmd(t, f.bare(t, "sync", "-h"))
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	out := r.stdout
	order := []string{"Usage: hubsync sync", "Flags:", "--direction string", "--restart", "Shared flags", "Store and logs:", "--db string", "HubSpot:", "--hubspot-client-secret", "LearnWorlds:", "--learnworlds-url", "Token key:", "--token-key ", "Examples:", "hubsync sync --json"}
	at := 0
	for _, w := range order {
		i := strings.Index(out[at:], w)
		if i < 0 {
			t.Fatalf("help lacks %q after offset %d (or out of order):\n%s", w, at, out)
		}
		at += i + len(w)
	}
	if !strings.Contains(out, "(env HUBSYNC_DB, default hubsync.db)") || !strings.Contains(out, "(env HUBSYNC_HUBSPOT_URL, default https://api.hubapi.com)") {
		t.Errorf("env and default not written the same way:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "-") && !strings.HasPrefix(strings.TrimSpace(line), "--") {
			t.Errorf("single-dash flag in the help: %q", line)
		}
	}
}

// TestUnknownFlagOneLine: a bad flag is one line on stderr, nothing on stdout, exit 2.
func TestUnknownFlagOneLine(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := runCmd(t, f.bare(t, "sync", "--frob"))
	want := "hubsync sync: unknown flag: --frob (see \"hubsync sync -h\")\n"
	if r.code != exitUsage || r.stdout != "" || r.stderr != want {
		t.Fatalf("exit %d\nstdout %q\nstderr %q\nwant exit 2, no stdout, stderr %q", r.code, r.stdout, r.stderr, want)
	}
}

// TestVersion runs "version" and "--version".
func TestVersion(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runCmd(t, f.bare(t, args...))
		if r.code != 0 || !strings.HasPrefix(r.stdout, "hubsync ") || !strings.Contains(r.stdout, runtime.Version()) || r.stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
}

func TestVersionText(t *testing.T) {
	t.Parallel()
	info := &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Path: "github.com/hubsync/hubsync", Version: "v1.2.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-03-02T09:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	want := "hubsync v1.2.0 (revision 0123456789ab, 2026-03-02T09:00:00Z, modified) go1.26.1 " + runtime.GOOS + "/" + runtime.GOARCH
	if got := versionText(info, true); got != want {
		t.Errorf("versionText\n got %q\nwant %q", got, want)
	}
	info.Main.Version, info.Settings = "(devel)", nil
	if got := versionText(info, true); !strings.HasPrefix(got, "hubsync (devel) go1.26.1") {
		t.Errorf("devel build: %q", got)
	}
}

// TestFileErrorsAreNotNetworkErrors: a missing settings file, or a directory given as one, is
// reported as a file problem, not as an unreachable server.
func TestFileErrorsAreNotNetworkErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dir := filepath.Join(f.dir, "somedir")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ file, want string }{
		{"missing.json", "hubsync: cannot open missing.json: no such file or directory\n"},
		{filepath.Join(f.dir, "nope", "x.json"), "hubsync: cannot open x.json: no such file or directory\n"},
		{dir, "hubsync: cannot read somedir: is a directory\n"},
	} {
		r := f.run(t, "settings", "apply", "-f", tt.file)
		if r.code != exitFailure || r.stderr != tt.want {
			t.Errorf("-f %s: exit %d, stderr %q; want exit 1 and %q", filepath.Base(tt.file), r.code, r.stderr, tt.want)
		}
	}
	r := f.run(t, "status", "--db", filepath.Join(f.dir, "nope", "x.db"))
	if r.code != exitFailure || !strings.Contains(r.stderr, "x.db") || !strings.Contains(r.stderr, "check --db") || strings.Contains(r.stderr, "network") {
		t.Errorf("--db in a missing directory: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestUnreachablePostgresNamesDB: a PostgreSQL that refuses the connection names --db, and the
// URL's password is not printed.
func TestUnreachablePostgresNamesDB(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.run(t, "status", "--db", "postgres://u:pw-not-shown@127.0.0.1:1/db?connect_timeout=5")
	want := "hubsync: cannot reach the database at 127.0.0.1:1 (connection refused): check --db and the network\n"
	if r.code != exitFailure || r.stderr != want {
		t.Fatalf("exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, want)
	}
}

// TestStatusWithoutHubSpotSecret: status reads the store alone; with no HubSpot credentials it
// works, sends HubSpot nothing, and says the mapping was not checked.
func TestStatusWithoutHubSpotSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.connect(t)
	f.writeFile(t, "settings.json", settingsFile)
	if r := f.run(t, "settings", "apply", "-f", "settings.json"); r.code != 0 {
		t.Fatalf("settings apply: %d %s", r.code, r.stderr)
	}
	before := f.hs.Stats().Requests
	noSecret := []string{"--hubspot-client-id", "", "--hubspot-client-secret", ""}
	r := f.run(t, append([]string{"status", "--school", "default"}, noSecret...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "connected to portal") || !strings.Contains(r.stdout, "not checked without --hubspot-client-id") {
		t.Fatalf("status: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = f.run(t, append([]string{"status", "--json", "--school", "default"}, noSecret...)...)
	var st map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); r.code != 0 || err != nil || st["connected"] != true {
		t.Fatalf("status --json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
	if after := f.hs.Stats().Requests; after != before {
		t.Errorf("status without credentials sent HubSpot %d requests", after-before)
	}
}

// TestDisconnect: disconnect wants --yes off a terminal, revokes and forgets the tokens, and a
// second one has nothing to do.
func TestDisconnect(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.connect(t)
	r := f.run(t, "disconnect")
	if r.code != exitUsage || !strings.Contains(r.stderr, "confirm with --yes") {
		t.Fatalf("disconnect without --yes: exit %d, stderr %q", r.code, r.stderr)
	}
	r = f.run(t, "disconnect", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "Disconnected school \"default\" from HubSpot portal") {
		t.Fatalf("disconnect: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if st := f.statusJSON(t); st["connected"] != false {
		t.Errorf("status after disconnect: %v", st)
	}
	r = f.run(t, "disconnect", "--yes", "--json")
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); r.code != 0 || err != nil || out["disconnected"] != false || out["school"] != "default" {
		t.Fatalf("second disconnect --json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
}

// TestLogFormatJSON: --log-format json writes the engine's logs as JSON lines on stderr.
func TestLogFormatJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.run(t, "status", "--log-level", "info", "--log-format", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] != nil && rec["msg"] != nil {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no JSON log line on stderr:\n%s", r.stderr)
	}
}

// TestInvalidSettingNamedOnce: a setting Validate refuses is named once, without the
// "invalid settings: mode: hubsync: invalid settings:" stutter.
func TestInvalidSettingNamedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.writeFile(t, "bad4.json", `{"mode": "sideways"}`)
	r := f.run(t, "settings", "apply", "-f", "bad4.json")
	want := "hubsync: bad4.json: line 1, column 2: field \"mode\": unknown sync mode \"sideways\" (want one of \"lms_to_hubspot\", \"hubspot_to_lms\", \"two_way\")\n"
	if r.code != exitUsage || r.stderr != want {
		t.Fatalf("exit %d, stderr %q; want exit 2 and %q", r.code, r.stderr, want)
	}
}
