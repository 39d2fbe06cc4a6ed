package settingsui_test

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/settingsui"
)

func mustLayout(t testing.TB, src string) *template.Template {
	t.Helper()
	l, err := template.New("host").Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func wantBody(t *testing.T, what string, r response, status int, parts ...string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
		return
	}
	for _, p := range parts {
		if !strings.Contains(r.body, p) {
			t.Errorf("%s: body lacks %q\n%s", what, p, r.body)
		}
	}
}

// forge changes one character of a token's MAC.
func forge(tok string) string {
	i := len(tok) - 5
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func TestNewNamesMissingOptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	auth := func(*http.Request) (settingsui.Admin, error) { return settingsui.Admin{}, nil }
	for _, c := range []struct {
		o    settingsui.Options
		want string
	}{
		{settingsui.Options{Authorize: auth}, "Options.Engine is required"},
		{settingsui.Options{Engine: f.eng}, "Options.Authorize is required"},
		{settingsui.Options{Engine: f.eng, Authorize: auth, BasePath: "admin"}, "Options.BasePath"},
	} {
		if _, err := settingsui.New(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v): %v, want %q", c.o.BasePath, err, c.want)
		}
	}
}

// TestAuthorizerRefusals: every route but the assets asks the host's authorizer; a refusal is a
// 403 saying so, and the authorizer's own error is not shown.
func TestAuthorizerRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	for _, c := range []struct{ method, path string }{
		{"GET", base + "/"}, {"GET", base + "/progress"}, {"GET", base + settingsui.CallbackPath + "?code=x&state=y"},
		{"POST", base + "/connect"}, {"POST", base + "/settings"}, {"POST", base + "/sync"},
		{"POST", base + "/sync/cancel"}, {"POST", base + "/disconnect"},
	} {
		r := f.do(t, "", c.method, c.path, url.Values{})
		wantBody(t, c.method+" "+c.path, r, http.StatusForbidden, "not allowed to manage this school")
		if strings.Contains(r.body, "not signed in") {
			t.Errorf("%s %s shows the authorizer's error", c.method, c.path)
		}
	}
	if r := f.do(t, "", "GET", base+"/static/settings.css", nil); r.status != http.StatusOK || !strings.Contains(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if r := f.do(t, "alice", "GET", base, nil); (r.status != http.StatusMovedPermanently && r.status != http.StatusTemporaryRedirect) || r.header.Get("Location") != base+"/" {
		t.Errorf("base path without slash: %d %s", r.status, r.header.Get("Location"))
	}
}

// TestCSRFRefusals: a POST needs the token of the page the same admin loaded for the same
// school, unexpired, and not marked cross-origin by the browser.
func TestCSRFRefusals(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Now())
	f := newFixture(t, fixtureOptions{clock: clk})
	tok := f.token(t, "alice")
	form := func(tok string) url.Values { return url.Values{"csrf_token": {tok}, "mode": {"lms_to_hubspot"}} }
	const msg = "security token (CSRF) is missing, expired or not yours"
	for _, path := range []string{"/connect", "/settings", "/sync", "/sync/cancel", "/disconnect"} {
		wantBody(t, path+" without a token", f.do(t, "alice", "POST", base+path, url.Values{"mode": {"two_way"}}), http.StatusForbidden, msg)
	}
	wantBody(t, "a forged token", f.do(t, "alice", "POST", base+"/settings", form(forge(tok))), http.StatusForbidden, msg)
	wantBody(t, "another admin's token", f.do(t, "bob", "POST", base+"/settings", form(tok)), http.StatusForbidden, msg)
	wantBody(t, "the token of another school", f.do(t, "alice", "POST", base+"/settings", form(tok), schoolHeader, "school-2"), http.StatusForbidden, msg)
	wantBody(t, "cross-origin", f.do(t, "alice", "POST", base+"/disconnect", url.Values{"csrf_token": {tok}, "confirm": {"yes"}}, "Sec-Fetch-Site", "cross-site"),
		http.StatusForbidden, "Cross-origin request refused")
	// The header works as well as the field (the script's way).
	if r := f.do(t, "alice", "POST", base+"/sync/cancel", url.Values{}, "X-CSRF-Token", tok); r.status != http.StatusSeeOther {
		t.Errorf("token in the header: %d\n%s", r.status, r.body)
	}
	clk.Advance(settingsui.TokenTTL + time.Minute)
	wantBody(t, "an expired token", f.do(t, "alice", "POST", base+"/sync/cancel", url.Values{"csrf_token": {tok}}), http.StatusForbidden, msg)
}

// TestFormValidationErrorsNamed: each form's problems are named, at the top and beside the
// control, and nothing is saved.
func TestFormValidationErrorsNamed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	tok := f.token(t, "alice")
	post := func(path string, v url.Values) response {
		v.Set("csrf_token", tok)
		return f.do(t, "alice", "POST", base+path, v)
	}
	// Not connected yet: the forms that need HubSpot say so.
	wantBody(t, "save before connect", post("/settings", url.Values{"mode": {"lms_to_hubspot"}}), http.StatusBadRequest, "Settings not saved: connect to HubSpot first")
	wantBody(t, "sync before connect", post("/sync", url.Values{"direction": {"to_hubspot"}}), http.StatusConflict, "Manual sync: connect to HubSpot first.")

	f.connect(t, "alice")
	cases := []struct {
		name string
		form url.Values
		want []string
	}{
		{"no mode", url.Values{}, []string{"Sync direction: choose one of the three modes."}},
		{"unknown mode", url.Values{"mode": {"sideways"}}, []string{"Sync direction: choose one of the three modes."}},
		{"row without a property", url.Values{"mode": {"lms_to_hubspot"}, "row_lms": {"country"}, "row_hubspot": {""}, "row_direction": {"both"}},
			[]string{`href="#row-1-hubspot"`, "Field mapping row 1: choose a HubSpot property."}},
		{"row without a field", url.Values{"mode": {"lms_to_hubspot"}, "row_lms": {"", "country"}, "row_hubspot": {"", "firstname"}, "row_direction": {"both", "both"}},
			nil}, // a blank row is dropped: saved
		{"row without a field", url.Values{"mode": {"lms_to_hubspot"}, "row_lms": {""}, "row_hubspot": {"city"}, "row_direction": {"both"}},
			[]string{"Field mapping row 1: choose a LearnWorlds field."}},
		{"bad direction", url.Values{"mode": {"two_way"}, "row_lms": {"country"}, "row_hubspot": {"country"}, "row_direction": {"upwards"}},
			[]string{`Field mapping row 1: the sync direction &#34;upwards&#34; is not one of`}},
		{"rows cut short", url.Values{"mode": {"two_way"}, "row_lms": {"country", "company"}, "row_hubspot": {"country"}, "row_direction": {"both"}},
			[]string{"Field mapping: the rows arrived incomplete"}},
		{"unknown event", url.Values{"mode": {"lms_to_hubspot"}, "event": {"signed_up", "moon_landing"}},
			[]string{"Timeline events: &#34;moon_landing&#34; is not a timeline event kind."}},
		{"long tag", url.Values{"mode": {"lms_to_hubspot"}, "tags": {"vip, " + strings.Repeat("x", 101)}},
			[]string{"Tags for new learners: tag 2 is longer than 100 characters.", `id="tags-error"`}},
		{"bad school email", url.Values{"mode": {"lms_to_hubspot"}, "notify_email": {"ops@nowhere"}},
			[]string{"School email: o***@nowhere has no valid domain.", `aria-invalid="true"`}},
	}
	for _, c := range cases {
		r := post("/settings", c.form)
		if c.want == nil {
			if r.status != http.StatusSeeOther {
				t.Errorf("%s: %d, want a redirect after saving\n%s", c.name, r.status, r.body)
			}
			continue
		}
		wantBody(t, c.name, r, http.StatusBadRequest, append([]string{"There is a problem"}, c.want...)...)
		if strings.Contains(r.body, "ops@nowhere") {
			t.Errorf("%s: the page shows the full email address", c.name)
		}
	}
	if s, _ := f.eng.Settings(t.Context(), school); len(s.Mappings) != 1 || s.Mappings[0].LMSField != "country" {
		t.Errorf("saved settings after the refusals: %+v", s.Mappings)
	}

	wantBody(t, "sync in a direction the mode forbids", post("/sync", url.Values{"direction": {"to_lms"}}), http.StatusBadRequest,
		"Manual sync: choose a direction your sync mode allows (LearnWorlds to HubSpot (default)).")
	wantBody(t, "disconnect without confirming", post("/disconnect", url.Values{}), http.StatusBadRequest,
		"Disconnect: not confirmed. Click Disconnect, then Save to confirm.", "<details id=\"disconnect-confirm\" open>")
	if _, err := f.eng.Connection(t.Context(), school); err != nil {
		t.Errorf("the school was disconnected without confirmation: %v", err)
	}

	// The OAuth callback: cancelled in HubSpot, a forged state, a state for another school.
	wantBody(t, "callback, cancelled", f.do(t, "alice", "GET", base+settingsui.CallbackPath+"?error=access_denied", nil), http.StatusBadRequest,
		"Connect to HubSpot: the authorization was cancelled in HubSpot; nothing changed.")
	wantBody(t, "callback, forged state", f.do(t, "alice", "GET", base+settingsui.CallbackPath+"?code=c&state=forged.state", nil), http.StatusBadRequest,
		"Connect to HubSpot: the authorization is invalid or has expired")
	other, err := f.eng.AuthorizeURL("school-2")
	if err != nil {
		t.Fatal(err)
	}
	ou, _ := url.Parse(other)
	wantBody(t, "callback for another school", f.do(t, "alice", "GET", base+settingsui.CallbackPath+"?code=c&state="+url.QueryEscape(ou.Query().Get("state")), nil),
		http.StatusForbidden, "This HubSpot authorization was started for another school")
}

// TestSavedRowsMarkedAndNothingSecretRendered: after a save the page marks the invalid row in
// place with its reason and shows the warning; neither a token, the client secret nor a full
// email address is ever on the page or in the progress JSON.
func TestSavedRowsMarkedAndNothingSecretRendered(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.connect(t, "alice")
	tok := f.token(t, "alice")
	r := f.do(t, "alice", "POST", base+"/settings", url.Values{
		"csrf_token": {tok}, "mode": {"two_way"},
		"row_lms":         {"country", "graduation_year", "first_name"},
		"row_hubspot":     {"country", "city", "firstname"},
		"row_direction":   {"to_hubspot", "both", "to_lms"},
		"event":           {"signed_up", "tag_added"},
		"tags":            {"from-hubspot, vip, vip"},
		"notify_email":    {"school.ops@school.example"},
		"create_learners": {"on"}, "update_lifecycle_stage": {"on"},
	})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != base+"/?done=saved#mapping" {
		t.Fatalf("save: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	s, err := f.eng.Settings(t.Context(), school)
	if err != nil {
		t.Fatal(err)
	}
	if s.Mode != hubsync.ModeTwoWay || len(s.Mappings) != 3 || s.Mappings[2].Direction != hubsync.DirectionToLMS ||
		!s.UpdateLifecycleStage || !s.Inbound.CreateLearners || s.Inbound.SendWelcomeEmail ||
		strings.Join(s.Inbound.Tags, "|") != "from-hubspot|vip" || s.EventEnabled(hubsync.EventEnrolled) || !s.EventEnabled(hubsync.EventTagAdded) ||
		s.NotifyEmail != "school.ops@school.example" {
		t.Fatalf("saved: %+v", s)
	}
	page := f.do(t, "alice", "GET", base+"/?done=saved", nil)
	wantBody(t, "page after save", page, http.StatusOK,
		"Settings saved.", `id="mapping-warning"`, "2 mapping rows are invalid and will not sync until fixed.",
		"Invalid rows do not sync until the issue is fixed",
		`<li class="row invalid" data-row>`, "Type mismatch:", `The LMS field &#34;graduation_year&#34; is a number but the HubSpot property &#34;city&#34; is a string.`,
		"Read-only target:", // first_name cannot be written through the LearnWorlds API
		`Connected to HubSpot account <strong id="portal-id">62515</strong>`, "fake-portal.hubspot.com",
		"Now: s***@school.example", `<optgroup label="Billing details: enable billing info in school settings" disabled>`,
		`<span class="badge once">once per learner</span>`, `value="enrolled_in_course">`)
	conn, err := f.eng.Connection(t.Context(), school)
	if err != nil {
		t.Fatal(err)
	}
	progress := f.do(t, "alice", "GET", base+"/progress", nil)
	for _, body := range []string{page.body, progress.body} {
		for _, secret := range []string{conn.Token.AccessToken, conn.Token.RefreshToken, f.hs.ClientSecret(), "school.ops@school.example"} {
			if strings.Contains(body, secret) {
				t.Errorf("a secret or full email is rendered: %.12s...", secret)
			}
		}
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP: %q", csp)
	}
}

// TestManualSyncFormsAndProgressJSON: the sync button starts a sync in the mode's direction, a
// second start is refused while it runs, the progress endpoint answers with the counts and the
// section's HTML, cancel stops it, and the summary names the state.
func TestManualSyncFormsAndProgressJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.seed(t, 250)
	f.connect(t, "alice")
	tok := f.token(t, "alice")
	f.gate.close()
	r := f.do(t, "alice", "POST", base+"/sync", url.Values{"csrf_token": {tok}, "direction": {"to_hubspot"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != base+"/?done=sync#manual-sync" {
		t.Fatalf("start: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	wantBody(t, "second start", f.do(t, "alice", "POST", base+"/sync", url.Values{"csrf_token": {tok}, "direction": {"to_hubspot"}}),
		http.StatusConflict, "Manual sync: a sync is already in progress for this school.")
	var pj struct {
		Running  bool                    `json:"running"`
		Progress *hubsync.ManualProgress `json:"progress"`
		Stats    string                  `json:"stats"`
		Section  string                  `json:"section"`
	}
	get := func() {
		t.Helper()
		r := f.do(t, "alice", "GET", base+"/progress", nil)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("progress: %d %s", r.status, r.header.Get("Content-Type"))
		}
		if err := json.Unmarshal([]byte(r.body), &pj); err != nil {
			t.Fatal(err)
		}
	}
	get()
	if !pj.Running || pj.Progress == nil || pj.Progress.State != hubsync.ManualRunning || !strings.Contains(pj.Section, "Sync in progress") || !strings.Contains(pj.Stats, `id="sync-done"`) {
		t.Fatalf("progress while running: %+v", pj)
	}
	wantBody(t, "page while running", f.do(t, "alice", "GET", base+"/?done=sync", nil), http.StatusOK,
		"Manual sync started.", `data-running="true"`, "Sync in progress", `id="cancel-sync"`)
	if r := f.do(t, "alice", "POST", base+"/sync/cancel", url.Values{"csrf_token": {tok}}); r.status != http.StatusSeeOther {
		t.Fatalf("cancel: %d\n%s", r.status, r.body)
	}
	f.gate.open()
	get()
	if pj.Running || pj.Progress.State != hubsync.ManualCancelled || !strings.Contains(pj.Section, `Last manual sync: <span id="last-sync-state">Cancelled</span>`) {
		t.Fatalf("progress after cancel: %+v", pj)
	}
}

// TestHostLayoutAndDisconnect: a host layout wraps the page (and then the handler sends no CSP
// of its own); Disconnect, confirmed, forgets the connection and says what is left in HubSpot.
func TestHostLayoutAndDisconnect(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{layout: `<!doctype html><html><head><title>Host: {{.Title}}</title>{{.Head}}</head><body><nav>host nav</nav>{{.Content}}</body></html>`})
	f.connect(t, "alice")
	page := f.do(t, "alice", "GET", base+"/", nil)
	wantBody(t, "host layout", page, http.StatusOK, "<title>Host: HubSpot settings</title>", "<nav>host nav</nav>",
		`<link rel="stylesheet" href="/admin/hubspot/static/settings.css">`, "Connected to HubSpot account")
	if page.header.Get("Content-Security-Policy") != "" {
		t.Errorf("CSP sent with a host layout: %q", page.header.Get("Content-Security-Policy"))
	}
	tok := f.token(t, "alice")
	r := f.do(t, "alice", "POST", base+"/disconnect", url.Values{"csrf_token": {tok}, "confirm": {"yes"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("disconnect: %d\n%s", r.status, r.body)
	}
	if _, err := f.eng.Connection(t.Context(), school); err != hubsync.ErrNotConnected {
		t.Fatalf("connection after disconnect: %v", err)
	}
	wantBody(t, "page after disconnect", f.do(t, "alice", "GET", base+"/?done=disconnected", nil), http.StatusOK,
		"HubSpot was disconnected from this school.", "Activate: connect to HubSpot")
}
