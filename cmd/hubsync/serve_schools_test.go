package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// fleet is many schools in one store: each school its own fake HubSpot portal (behind one
// front, as HubSpot's API host serves every portal) and its own fake LearnWorlds.
type fleet struct {
	dir, db string
	front   *httptest.Server
	portals map[string]*hubspottest.Server // by school
	lms     map[string]*learnworldstest.Server
	key     string
	dbURL   string // a postgres:// URL instead of the SQLite file, when set
}

func newFleet(t *testing.T, schools ...string) *fleet {
	t.Helper()
	f := &fleet{dir: t.TempDir(), portals: map[string]*hubspottest.Server{}, lms: map[string]*learnworldstest.Server{}, key: testKeyText("fleet", 7)}
	f.db = filepath.Join(f.dir, "hubsync.db")
	byPrefix := map[string]*hubspottest.Server{}
	for i, s := range schools {
		p := hubspottest.NewServer(hubspottest.WithRateLimit(200, time.Second), hubspottest.WithTokenPrefix("p"+s),
			hubspottest.WithPortal(int64(101+i), s+".portal.example"))
		t.Cleanup(p.Close)
		f.portals[s], byPrefix["p"+s] = p, p
		lw := learnworldstest.NewServer(learnworldstest.WithRateLimit(12, time.Second))
		t.Cleanup(lw.Close)
		f.lms[s] = lw
		seedSchool(t, lw, 2)
	}
	// The front dispatches by the token a request carries: its bearer token, else the refresh
	// token, token or code of its form.
	f.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if tok == "" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			for _, k := range []string{"refresh_token", "token", "code"} {
				if tok = form.Get(k); tok != "" {
					break
				}
			}
		}
		p, _ := hubspottest.TokenPrefix(tok)
		s := byPrefix[p]
		if s == nil {
			http.Error(w, "no portal for this token", http.StatusUnauthorized)
			return
		}
		s.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(f.front.Close)
	return f
}

// flags are the flags every command of the fleet shares: the store and the HubSpot app, and no
// LearnWorlds flag (each school's is stored with it).
func (f *fleet) flags() []string {
	db := f.db
	if f.dbURL != "" {
		db = f.dbURL
	}
	return []string{"--db", db, "--hubspot-url", f.front.URL, "--hubspot-authorize-url", f.front.URL + "/oauth/authorize",
		"--hubspot-client-id", hubspottest.DefaultClientID, "--hubspot-client-secret", hubspottest.DefaultClientSecret,
		"--hubspot-rate-limit", "200/1s", "--learnworlds-rate-limit", "12/1s"}
}

func (f *fleet) command(ctx context.Context, args ...string) *exec.Cmd {
	i := 0
	for i < len(args) && !strings.HasPrefix(args[i], "-") {
		i++
	}
	cmd := exec.CommandContext(ctx, binary, append(append(append([]string{}, args[:i]...), f.flags()...), args[i:]...)...)
	cmd.Env = append(cleanEnv(), "HUBSYNC_TOKEN_KEY="+f.key)
	cmd.Dir = f.dir
	return cmd
}

func (f *fleet) run(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	return runCmd(t, f.command(ctx, args...))
}

// lwFlags are school's LearnWorlds flags, webhook secret included.
func (f *fleet) lwFlags(school string) []string {
	lw := f.lms[school]
	return []string{"--learnworlds-url", lw.URL, "--learnworlds-client-id", lw.ClientID, "--learnworlds-client-secret", lw.ClientSecret,
		"--learnworlds-webhook-secret", "hook-secret-of-" + school}
}

// connect connects school to its portal and stores its LearnWorlds connection, then saves its
// settings (with no LearnWorlds flag: settings apply reads the stored connection).
func (f *fleet) connect(t *testing.T, school string) {
	t.Helper()
	_, refresh := f.portals[school].MintToken()
	r := f.run(t, append([]string{"connect", "--school", school, "--refresh-token", refresh}, f.lwFlags(school)...)...)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("HubSpot portal %d", f.portals[school].PortalID())) || !strings.Contains(r.stdout, "Stored its LearnWorlds connection") {
		t.Fatalf("connect %s: exit %d\n%s\n%s", school, r.code, r.stdout, r.stderr)
	}
	path := filepath.Join(f.dir, "settings.json")
	if err := os.WriteFile(path, []byte(`{"mode": "two_way", "mappings": [
    {"lms_field": "username", "hubspot_property": "firstname", "direction": "to_hubspot"},
    {"lms_field": "country", "hubspot_property": "country", "direction": "both"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := f.run(t, "settings", "apply", "--school", school, "-f", path); r.code != 0 || strings.Contains(r.stdout, "INVALID") {
		t.Fatalf("settings apply %s: exit %d\n%s\n%s", school, r.code, r.stdout, r.stderr)
	}
}

// postHook POSTs an unsigned LearnWorlds webhook to base's route for school and returns the
// status: 404 while serve does not serve the school, 401 (bad signature) once it does.
func postHook(t *testing.T, base, school string) int {
	t.Helper()
	resp, err := http.Post(base+"/learnworlds/webhooks/"+school, "application/json", strings.NewReader(`{"type":"userUpdated","data":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeManySchools: one serve, with no per-school flag, serves two schools of the store,
// each connected to its own portal and its own LearnWorlds: each school's LearnWorlds webhooks
// reach its portal only, HubSpot webhooks are routed by portal to the right school's
// LearnWorlds, /status lists both, a school connected while serving is picked up on the next
// --schools-interval and a school disconnected is dropped.
func TestServeManySchools(t *testing.T) {
	t.Parallel()
	testServeManySchools(t, newFleet(t, "a", "b", "c"), "a", "b", "c")
}

// TestServeManySchoolsPostgres is TestServeManySchools on PostgreSQL (TEST_DATABASE_URL). The
// database is shared with other tests' schools, so the schools have ids of their own and serve
// is given them with --schools.
func TestServeManySchoolsPostgres(t *testing.T) {
	t.Parallel()
	dbURL := os.Getenv("TEST_DATABASE_URL")
	if !strings.HasPrefix(dbURL, "postgres://") && !strings.HasPrefix(dbURL, "postgresql://") {
		t.Skip("TEST_DATABASE_URL is not a postgres:// URL: this test needs a PostgreSQL database")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	x := hex.EncodeToString(b[:])
	a, bb, c := "a"+x, "b"+x, "c"+x
	f := newFleet(t, a, bb, c)
	f.dbURL = dbURL
	testServeManySchools(t, f, a, bb, c, "--schools", a+","+bb+","+c)
}

// testServeManySchools runs the fleet's schools a and b (c is connected while serving) with
// serve's extra flags.
func testServeManySchools(t *testing.T, f *fleet, a, b, c string, extra ...string) {
	f.connect(t, a)
	f.connect(t, b)
	const admin = "many-schools-admin-token-0123456789"
	s := startCmd(t, f.command(t.Context(), append([]string{"serve", "--listen", "127.0.0.1:0", "--admin-token", admin, "--schools-interval", "100ms"}, extra...)...))
	line := s.waitLine(t, func(l string) bool { return strings.HasPrefix(l, "Serving school") })
	base := line[strings.LastIndex(line, " ")+1:]
	if !strings.Contains(line, "Serving schools "+a+", "+b+" (2;") {
		t.Fatalf("serve printed %q", line)
	}
	for _, sc := range []string{a, b, c} {
		f.lms[sc].SetWebhook(base+"/learnworlds/webhooks/"+sc, "hook-secret-of-"+sc, false)
		f.portals[sc].SetWebhookTarget(base + "/hubspot/webhooks")
	}
	if code := postHook(t, base, c); code != http.StatusNotFound {
		t.Fatalf("LearnWorlds webhook of a school not connected: %d, want 404", code)
	}

	// LearnWorlds -> HubSpot, each school to its own portal (the same email in both schools).
	email := learnerEmail(1)
	for sc, country := range map[string]string{a: "CY", b: "MT"} {
		if _, err := f.lms[sc].Update(t.Context(), email, func(u *learnworldstest.User) { u.Fields["country"] = country }); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "each school's LearnWorlds change in its own portal", func() bool {
		ca, okA := f.portals[a].Contact(email)
		cb, okB := f.portals[b].Contact(email)
		return okA && okB && ca.Properties["country"] == "CY" && cb.Properties["country"] == "MT"
	})

	// HubSpot -> LearnWorlds, routed by portal: b's portal edit reaches b's LearnWorlds only.
	if _, err := f.portals[b].AdminUpsertContact(email, map[string]string{"country": "PT"}, hubspottest.SourceCRMUI); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b's HubSpot change in b's LearnWorlds", func() bool {
		u, ok := f.lms[b].User(email)
		return ok && u.Fields["country"] == "PT"
	})
	if u, _ := f.lms[a].User(email); u.Fields["country"] != "CY" {
		t.Fatalf("b's HubSpot change reached a's LearnWorlds: country %v", u.Fields["country"])
	}

	// /status lists the schools of the store (those --schools names, c included).
	want := 2
	if len(extra) > 0 {
		want = 3
	}
	var list []map[string]any
	getJSON(t, base+"/status", admin, &list)
	if len(list) != want || list[0]["school"] != a || list[1]["school"] != b || list[0]["portal_id"] != float64(101) || list[1]["portal_id"] != float64(102) {
		t.Fatalf("/status: %v", list)
	}
	var one map[string]any
	getJSON(t, base+"/status/"+b, admin, &one)
	if one["school"] != b || one["connected"] != true {
		t.Fatalf("/status/b: %v", one)
	}

	settingsConnect(t, f, base, admin, a, b)

	// A school connected while serving: picked up within the interval, and its changes flow.
	f.connect(t, c)
	waitFor(t, "serve to take school c's LearnWorlds webhooks", func() bool { return postHook(t, base, c) == http.StatusUnauthorized })
	if _, err := f.lms[c].Update(t.Context(), email, func(u *learnworldstest.User) { u.Fields["country"] = "GR" }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "c's LearnWorlds change in c's portal", func() bool {
		c, ok := f.portals[c].Contact(email)
		return ok && c.Properties["country"] == "GR"
	})

	// status without --school lists every school of the store (the PostgreSQL one holds other
	// tests' schools too, some degraded (exit 4) or sealed with another key (listed with their
	// error, exit 1)); --json is the array /status serves.
	r := f.run(t, "status")
	if (r.code != 0 && f.dbURL == "") || !strings.Contains(r.stdout, "SCHOOL") || !strings.Contains(r.stdout, c+" ") || !strings.Contains(r.stdout, "portal 103") {
		t.Fatalf("status: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = f.run(t, "status", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || (f.dbURL == "" && (r.code != 0 || len(list) != 3)) {
		t.Fatalf("status --json: exit %d, %v\n%s", r.code, err, r.stdout)
	}

	// A school disconnected while serving: dropped within the interval.
	if r := f.run(t, "disconnect", "--school", b, "--yes"); r.code != 0 {
		t.Fatalf("disconnect b: exit %d\n%s", r.code, r.stderr)
	}
	waitFor(t, "serve to drop school b", func() bool { return postHook(t, base, b) == http.StatusNotFound })
	if code := postHook(t, base, a); code != http.StatusUnauthorized {
		t.Fatalf("school a's route after b was dropped: %d", code)
	}

	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(t); code != 0 {
		t.Fatalf("serve: exit %d\n%s\n%s", code, s.all.String(), s.stderr.String())
	}
	logs := s.all.String() + s.stderr.String()
	for _, sc := range []string{a, b, c} {
		if strings.Contains(logs, f.lms[sc].ClientSecret) || strings.Contains(logs, "hook-secret-of-"+sc) {
			t.Errorf("serve logged school %s's LearnWorlds secret", sc)
		}
	}
	if strings.Contains(logs, email) {
		t.Error("serve logged a full email")
	}
}

// TestConnectLearnWorldsOnly: "connect --learnworlds-only" checks the LearnWorlds connection with
// a real call (a wrong secret is refused and nothing is stored) and stores it alone; "sync" then
// runs with no LearnWorlds flag, and "disconnect" forgets it.
func TestConnectLearnWorldsOnly(t *testing.T) {
	t.Parallel()
	f := newFleet(t, "x")
	lw := f.lms["x"]
	bad := []string{"connect", "--school", "x", "--learnworlds-only", "--learnworlds-url", lw.URL, "--learnworlds-client-id", lw.ClientID, "--learnworlds-client-secret", "wrong"}
	before := lw.Stats().Requests
	if r := f.run(t, bad...); r.code != exitFailure || !strings.Contains(r.stderr, "LearnWorlds refused the credentials") {
		t.Fatalf("connect --learnworlds-only with a wrong secret: exit %d\n%s", r.code, r.stderr)
	}
	if lw.Stats().Requests == before {
		t.Fatal("connect did not call LearnWorlds to check the connection")
	}
	if r := f.run(t, "sync", "--school", "x"); r.code != exitUsage || !strings.Contains(r.stderr, "--learnworlds-only") {
		t.Fatalf("sync after a refused connect: exit %d\n%s", r.code, r.stderr)
	}
	r := f.run(t, "connect", "--school", "x", "--learnworlds-only", "--learnworlds-url", lw.URL, "--learnworlds-client-id", lw.ClientID, "--learnworlds-client-secret", lw.ClientSecret)
	if r.code != 0 || !strings.Contains(r.stdout, `Checked and stored the LearnWorlds connection of school "x"`) {
		t.Fatalf("connect --learnworlds-only: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	_, refresh := f.portals["x"].MintToken()
	if r := f.run(t, "connect", "--school", "x", "--refresh-token", refresh); r.code != 0 || strings.Contains(r.stdout, "Stored its LearnWorlds") {
		t.Fatalf("connect (HubSpot only): exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := f.run(t, "sync", "--school", "x"); r.code != 0 || !strings.Contains(r.stdout, "done: 2 records") {
		t.Fatalf("sync with the stored LearnWorlds connection: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := f.run(t, "disconnect", "--school", "x", "--yes"); r.code != 0 {
		t.Fatalf("disconnect: exit %d\n%s", r.code, r.stderr)
	}
	if r := f.run(t, "sync", "--school", "x"); r.code != exitUsage || !strings.Contains(r.stderr, "LearnWorlds is not configured") {
		t.Fatalf("sync after disconnect: exit %d\n%s", r.code, r.stderr)
	}
}

// settingsConnect checks the settings pages of many schools: /settings/ lists a and b, and
// reconnecting a from its page goes through the one OAuth callback, /settings/oauth/callback,
// which hands it to a's page (the school its signed state names).
func settingsConnect(t *testing.T, f *fleet, base, admin, a, b string) {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string, form url.Values) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, base+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.SetBasicAuth("admin", admin)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		text, _ := io.ReadAll(resp.Body)
		return resp, string(text)
	}
	resp, index := do("GET", "/settings/", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(index, `href="/settings/`+a+`/"`) || !strings.Contains(index, `href="/settings/`+b+`/"`) {
		t.Fatalf("/settings/: %d\n%s", resp.StatusCode, index)
	}
	resp, page := do("GET", "/settings/"+a+"/", nil)
	_, rest, ok := strings.Cut(page, `action="/settings/`+a+`/settings"`) // a connected school's page has no Connect button: any form's token
	if resp.StatusCode != http.StatusOK || !ok {
		t.Fatalf("/settings/%s/: %d\n%s", a, resp.StatusCode, page)
	}
	_, rest, _ = strings.Cut(rest, `name="csrf_token" value="`)
	csrf, _, _ := strings.Cut(rest, `"`)
	resp, _ = do("POST", "/settings/"+a+"/connect", url.Values{"csrf_token": {csrf}})
	authorize, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil {
		t.Fatalf("POST /settings/%s/connect: %d, Location %q", a, resp.StatusCode, resp.Header.Get("Location"))
	}
	redirect := authorize.Query().Get("redirect_uri")
	if !strings.HasSuffix(redirect, "/settings/oauth/callback") {
		t.Fatalf("the redirect URL %q is not the one shared callback", redirect)
	}
	code := f.portals[a].AuthorizeCode(redirect)
	q := url.Values{"code": {code}, "state": {authorize.Query().Get("state")}}
	resp, text := do("GET", "/settings/oauth/callback?"+q.Encode(), nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/settings/"+a+"/") {
		t.Fatalf("the shared OAuth callback: %d, Location %q\n%s", resp.StatusCode, resp.Header.Get("Location"), text)
	}
	if resp, _ := do("GET", "/settings/oauth/callback?state=forged&code=x", nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("the shared OAuth callback with a forged state: %d, want 400", resp.StatusCode)
	}
}

// TestStatusListsEverySchool: "status" without --school lists every school; one whose tokens no
// given key opens is listed with its error (and named on stderr, exit 1), the others as usual.
func TestStatusListsEverySchool(t *testing.T) {
	t.Parallel()
	f := newFleet(t, "x", "y")
	f.connect(t, "x")
	f.key = testKeyText("other", 8) // y's tokens are sealed with another key, which x's do not open
	f.connect(t, "y")
	r := f.run(t, "status")
	if r.code != exitFailure || !strings.Contains(r.stdout, "portal 102") || !strings.Contains(r.stdout, "x       ERROR: ") ||
		!strings.Contains(r.stderr, "could not read the status of school x") {
		t.Fatalf("status: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var list []listed
	r = f.run(t, "status", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 2 || list[0].Error == "" || list[1].Error != "" || !list[1].Connected {
		t.Fatalf("status --json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
}
