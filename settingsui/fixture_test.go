package settingsui_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
	"github.com/hubsync/hubsync/settingsui"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

const (
	school   = hubsync.SchoolID("school-1")
	base     = "/admin/hubspot"
	hookPass = "settingsui-test-webhook-secret"
	// adminHeader names the admin in the handler tests' requests; the fixture's authorizer
	// refuses a request without it.
	adminHeader = "X-Test-Admin"
	// schoolHeader, when set, names another school for the admin.
	schoolHeader = "X-Test-School"
)

// fixture is "hubsync serve"'s wiring on the fakes: fake HubSpot and fake LearnWorlds over real
// HTTP, the SQLite store, the LearnWorlds adapter and its webhooks, the engine's workers running,
// and the settings page mounted at base, all behind one httptest server.
type fixture struct {
	hs    *hubspottest.Server
	lw    *learnworldstest.Server
	store *sqlitestore.Store
	eng   *hubsync.Engine
	ui    *settingsui.Handler
	srv   *httptest.Server
	gate  *gatedLearners
	// URL is the settings page.
	URL string
}

type fixtureOptions struct {
	// anyone: the authorizer lets every request in as admin "browser-admin" (the browser tests);
	// otherwise it wants adminHeader.
	anyone bool
	clock  hubsync.Clock
	layout string
}

func newFixture(t testing.TB, o fixtureOptions) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &fixture{}
	f.hs = hubspottest.NewServer()
	f.lw = learnworldstest.NewServer()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "hubsync.db"), sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	f.store = st
	client, err := learnworlds.New(learnworlds.Config{BaseURL: f.lw.URL, ClientID: f.lw.ClientID, ClientSecret: f.lw.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	learners, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{school: {Client: client}})
	if err != nil {
		t.Fatal(err)
	}
	f.gate = &gatedLearners{Learners: learners}

	mux := http.NewServeMux()
	f.srv = httptest.NewUnstartedServer(mux)
	origin := "http://" + f.srv.Listener.Addr().String()
	log := testLogger(t)
	f.eng, err = hubsync.New(hubsync.Config{
		Store: st, Queue: st, Learners: f.gate, Logger: log, Poll: 50 * time.Millisecond,
		HubSpot: hubsync.HubSpotApp{
			ClientID: f.hs.ClientID(), ClientSecret: f.hs.ClientSecret(), AppID: f.hs.AppID(),
			RedirectURL: origin + base + settingsui.CallbackPath,
			BaseURL:     f.hs.URL, AuthorizeURL: f.hs.URL + "/oauth/authorize",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := settingsui.Options{
		Engine: f.eng, BasePath: base, Logger: log, Clock: o.clock, PollInterval: 100 * time.Millisecond,
		Authorize: func(r *http.Request) (settingsui.Admin, error) {
			if o.anyone {
				return settingsui.Admin{ID: "browser-admin", School: school}, nil
			}
			id := r.Header.Get(adminHeader)
			if id == "" {
				return settingsui.Admin{}, errors.New("not signed in")
			}
			sch := school
			if s := r.Header.Get(schoolHeader); s != "" {
				sch = hubsync.SchoolID(s)
			}
			return settingsui.Admin{ID: id, School: sch}, nil
		},
	}
	if o.layout != "" {
		opts.Layout = mustLayout(t, o.layout)
	}
	f.ui, err = settingsui.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(base+"/", f.ui)
	mux.Handle("/learnworlds/webhooks", learners.EngineWebhooks(school, learnworlds.Verifier{Secret: hookPass, Scheme: learnworlds.SignatureStatic}, f.eng, st, log))
	f.srv.Start()
	f.URL = f.srv.URL + base + "/"
	f.lw.SetWebhook(f.srv.URL+"/learnworlds/webhooks", hookPass, false)

	done := make(chan struct{})
	go func() { defer close(done); _ = f.eng.Run(ctx) }()
	t.Cleanup(func() {
		f.gate.open()
		cancel()
		<-done
		f.srv.Close()
		f.hs.Close()
		f.lw.Close()
		_ = st.Close()
	})
	return f
}

// gatedLearners is the LearnWorlds adapter with a gate a test can close: while closed, listing a
// page after the first waits, so a manual sync stays "in progress" until the test opens it.
type gatedLearners struct {
	*learnworlds.Learners
	mu   sync.Mutex
	wait chan struct{}
}

func (g *gatedLearners) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.wait == nil {
		g.wait = make(chan struct{})
	}
}

func (g *gatedLearners) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.wait != nil {
		close(g.wait)
		g.wait = nil
	}
}

func (g *gatedLearners) ListPage(ctx context.Context, id hubsync.SchoolID, cursor string) (hubsync.LearnerPage, error) {
	g.mu.Lock()
	wait := g.wait
	g.mu.Unlock()
	if wait != nil && cursor != "" {
		select {
		case <-wait:
		case <-ctx.Done():
			return hubsync.LearnerPage{}, ctx.Err()
		}
	}
	return g.Learners.ListPage(ctx, id, cursor)
}

// seed adds n learners to the fake LearnWorlds; learner 7's graduation year is not a number, so
// it cannot be written to a number property.
func (f *fixture) seed(t testing.TB, n int) {
	t.Helper()
	if err := f.lw.Seed(n, func(i int, u *learnworldstest.User) {
		u.Email = fmt.Sprintf("learner%04d@school.example", i)
		u.Username = fmt.Sprintf("learner%04d", i)
		u.Fields = map[string]any{"country": "GR", "company": fmt.Sprintf("Company %d", i%7), "graduation_year": 2000 + i%20}
		if i == 7 {
			u.Fields["graduation_year"] = "soon"
		}
	}); err != nil {
		t.Fatal(err)
	}
}

// connect connects the school through the page's own OAuth callback, as the browser does after
// HubSpot's authorize page.
func (f *fixture) connect(t testing.TB, admin string) {
	t.Helper()
	u, err := f.eng.AuthorizeURL(school)
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	code := f.hs.AuthorizeCode(pu.Query().Get("redirect_uri"))
	resp := f.do(t, admin, "GET", base+settingsui.CallbackPath+"?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(pu.Query().Get("state")), nil)
	if resp.status != http.StatusSeeOther {
		t.Fatalf("callback: %d\n%s", resp.status, resp.body)
	}
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request as admin ("" sends none) without following redirects.
func (f *fixture) do(t testing.TB, admin, method, path string, form url.Values, hdr ...string) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if admin != "" {
		req.Header.Set(adminHeader, admin)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

var tokenRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token loads the page as admin and returns the CSRF token of its forms.
func (f *fixture) token(t testing.TB, admin string) string {
	t.Helper()
	resp := f.do(t, admin, "GET", base+"/", nil)
	m := tokenRE.FindStringSubmatch(resp.body)
	if resp.status != http.StatusOK || m == nil {
		t.Fatalf("page: %d, token found: %v\n%s", resp.status, m != nil, resp.body)
	}
	return m[1]
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
