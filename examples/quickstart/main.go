// Command quickstart runs hubsync end to end on the embedded defaults: a fake LearnWorlds school
// and a fake HubSpot portal in this process, and the SQLite store in a temporary directory. It
// connects the school through the OAuth flow, saves a mapping (one row invalid on purpose), backfills
// the school with a manual sync, then shows live updates, the lifecycle stage moving from Lead to
// Customer on a purchase, timeline events (a once-event reported twice landing once), and a revoked
// connection deactivating the school with its one email. It ends with a summary table.
//
//	go run ./examples/quickstart
//
// Flags (or the environment variables named in -help) point it at a real HubSpot portal and a
// real LearnWorlds school instead; the steps that need a fake's powers (revoking the app, making
// purchases) are then skipped.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

type options struct {
	learners                         int
	db                               string
	hsURL, hsAuthURL, hsID, hsSecret string
	hsRefresh                        string
	lwURL, lwID, lwSecret, lwToken   string
	timeout                          time.Duration
	verbose                          bool
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func parse(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(out)
	n, _ := strconv.Atoi(env("HUBSYNC_LEARNERS", "3000"))
	fs.IntVar(&o.learners, "learners", n, "learners in the fake school (env HUBSYNC_LEARNERS)")
	fs.StringVar(&o.db, "db", env("HUBSYNC_DB", ""), "SQLite file (env HUBSYNC_DB; default: a new file in a temporary directory)")
	fs.StringVar(&o.hsURL, "hubspot-url", env("HUBSYNC_HUBSPOT_URL", ""), "HubSpot API base URL (env HUBSYNC_HUBSPOT_URL; default: start a fake)")
	fs.StringVar(&o.hsAuthURL, "hubspot-authorize-url", env("HUBSYNC_HUBSPOT_AUTHORIZE_URL", ""), "HubSpot authorize page (env HUBSYNC_HUBSPOT_AUTHORIZE_URL)")
	fs.StringVar(&o.hsID, "hubspot-client-id", env("HUBSYNC_HUBSPOT_CLIENT_ID", ""), "HubSpot app client id (env HUBSYNC_HUBSPOT_CLIENT_ID)")
	fs.StringVar(&o.hsSecret, "hubspot-client-secret", env("HUBSYNC_HUBSPOT_CLIENT_SECRET", ""), "HubSpot app client secret (env HUBSYNC_HUBSPOT_CLIENT_SECRET)")
	fs.StringVar(&o.hsRefresh, "hubspot-refresh-token", env("HUBSYNC_HUBSPOT_REFRESH_TOKEN", ""), "connect a real portal with this refresh token (env HUBSYNC_HUBSPOT_REFRESH_TOKEN)")
	fs.StringVar(&o.lwURL, "learnworlds-url", env("HUBSYNC_LEARNWORLDS_URL", ""), "LearnWorlds school URL (env HUBSYNC_LEARNWORLDS_URL; default: start a fake)")
	fs.StringVar(&o.lwID, "learnworlds-client-id", env("HUBSYNC_LEARNWORLDS_CLIENT_ID", ""), "LearnWorlds API client id (env HUBSYNC_LEARNWORLDS_CLIENT_ID)")
	fs.StringVar(&o.lwSecret, "learnworlds-client-secret", env("HUBSYNC_LEARNWORLDS_CLIENT_SECRET", ""), "LearnWorlds API client secret (env HUBSYNC_LEARNWORLDS_CLIENT_SECRET)")
	fs.StringVar(&o.lwToken, "learnworlds-token", env("HUBSYNC_LEARNWORLDS_TOKEN", ""), "LearnWorlds static access token (env HUBSYNC_LEARNWORLDS_TOKEN)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long")
	fs.BoolVar(&o.verbose, "v", false, "log the engine's own messages too")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.learners < 1 || o.learners > 1_000_000 {
		return o, fmt.Errorf("-learners %d: want 1 to 1000000", o.learners)
	}
	if o.hsURL != "" && (o.hsID == "" || o.hsSecret == "" || o.hsRefresh == "") {
		return o, errors.New("a real HubSpot needs -hubspot-client-id, -hubspot-client-secret and -hubspot-refresh-token")
	}
	if o.lwURL != "" && (o.lwID == "" || (o.lwSecret == "" && o.lwToken == "")) {
		return o, errors.New("a real LearnWorlds school needs -learnworlds-client-id and -learnworlds-client-secret or -learnworlds-token")
	}
	return o, nil
}

// printer writes the demo's narrative.
type printer struct {
	mu  sync.Mutex
	out io.Writer
	t0  time.Time
}

func (p *printer) step(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "\n== "+format+"\n", args...)
}

func (p *printer) say(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "   [%5.1fs] "+format+"\n", append([]any{time.Since(p.t0).Seconds()}, args...)...)
}

// mailer is the Notifier: it "sends" the email by printing it.
type mailer struct {
	p    *printer
	mu   sync.Mutex
	sent int
}

func (m *mailer) ConnectionLost(ctx context.Context, school hubsync.SchoolID, to, reason string) error {
	m.mu.Lock()
	m.sent++
	m.mu.Unlock()
	m.p.say("EMAIL to %s: your HubSpot connection for %s was lost (%s); reconnect, then run a manual sync", hubsync.MaskEmail(to), school, reason)
	return nil
}

func (m *mailer) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sent
}

const (
	school   = hubsync.SchoolID("demo-school")
	redirect = "http://localhost/hubspot/callback"
)

// waitFor polls cond until it holds or the context ends. Polling the fakes is fine in a demo.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parse(args, out)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	p := &printer{out: out, t0: time.Now()}
	logger := slog.New(slog.DiscardHandler)
	if o.verbose {
		logger = slog.New(slog.NewTextHandler(out, nil))
	}
	fakeHS, fakeLW := o.hsURL == "", o.lwURL == ""

	p.step("1. The two services")
	var hs *hubspottest.Server
	if fakeHS {
		hs = hubspottest.NewServer()
		defer hs.Close()
		o.hsURL, o.hsAuthURL, o.hsID, o.hsSecret = hs.URL, hs.URL+"/oauth/authorize", hs.ClientID(), hs.ClientSecret()
		p.say("fake HubSpot portal %d at %s (110 requests / 10 s, as HubSpot allows a public app)", hs.PortalID(), hs.URL)
	} else {
		p.say("HubSpot at %s", o.hsURL)
	}
	var lw *learnworldstest.Server
	if fakeLW {
		lw = learnworldstest.NewServer()
		defer lw.Close()
		countries := []string{"GR", "FR", "DE", "IT", "ES", "NL", "PT", "SE"}
		if err := lw.Seed(o.learners, func(i int, u *learnworldstest.User) {
			u.Email = fmt.Sprintf("learner%05d@school.example", i)
			u.Username = fmt.Sprintf("learner%05d", i)
			u.Fields = map[string]any{"country": countries[i%len(countries)], "company": "Company " + strconv.Itoa(i%50)}
		}); err != nil {
			return err
		}
		o.lwURL, o.lwID, o.lwSecret = lw.URL, lw.ClientID, lw.ClientSecret
		p.say("fake LearnWorlds school with %d learners at %s (30 requests / 10 s)", o.learners, lw.URL)
	} else {
		p.say("LearnWorlds school at %s", o.lwURL)
	}

	p.step("2. The store")
	if o.db == "" {
		dir, err := os.MkdirTemp("", "hubsync-quickstart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.db = filepath.Join(dir, "hubsync.db")
	}
	store, err := sqlitestore.Open(ctx, o.db)
	if err != nil {
		return err
	}
	defer store.Close()
	p.say("SQLite at %s", o.db)

	lwClient, err := learnworlds.New(learnworlds.Config{BaseURL: o.lwURL, ClientID: o.lwID, ClientSecret: o.lwSecret, AccessToken: o.lwToken, Logger: logger})
	if err != nil {
		return err
	}
	learners, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{school: {Client: lwClient}})
	if err != nil {
		return err
	}
	mail := &mailer{p: p}
	eng, err := hubsync.New(hubsync.Config{
		Store: store, Queue: store, Learners: learners, Notifier: mail, Logger: logger,
		HubSpot: hubsync.HubSpotApp{ClientID: o.hsID, ClientSecret: o.hsSecret, RedirectURL: redirect, BaseURL: o.hsURL, AuthorizeURL: o.hsAuthURL},
		OnProgress: func(_ hubsync.SchoolID, m hubsync.ManualProgress) {
			p.say("manual sync %-14s %6d done (%d created, %d updated, %d unchanged, %d failed), %.0f/s, ETA %v",
				m.Phase, m.Done, m.Created, m.Updated, m.Unchanged, m.Failed, m.Rate, m.ETA.Round(time.Second))
		},
	})
	if err != nil {
		return err
	}
	runCtx, stopEngine := context.WithCancel(ctx)
	engineDone := make(chan error, 1)
	go func() { engineDone <- eng.Run(runCtx) }()
	defer func() { stopEngine(); <-engineDone }()

	p.step("3. Connect the school to HubSpot (OAuth)")
	var conn hubsync.Connection
	if fakeHS {
		u, err := eng.AuthorizeURL(school)
		if err != nil {
			return err
		}
		short := u
		if i := strings.Index(short, "?"); i > 0 {
			short = short[:i] + "?client_id=...&scope=...&state=<signed, expiring>"
		}
		p.say("send the school admin to %s", short)
		pu, _ := url.Parse(u)
		p.say("the admin picks the portal and clicks Connect app; HubSpot calls back with a code")
		if conn, err = eng.CompleteConnect(ctx, school, hs.AuthorizeCode(redirect), pu.Query().Get("state")); err != nil {
			return err
		}
	} else if conn, err = eng.ConnectWithRefreshToken(ctx, school, o.hsRefresh); err != nil {
		return err
	}
	p.say("connected account: portal %d (%s)", conn.PortalID, conn.Domain)

	p.step("4. Settings and field mapping")
	settings := hubsync.Settings{
		Mappings: []hubsync.Mapping{
			{LMSField: "email", HubSpotProperty: "email"},
			{LMSField: "username", HubSpotProperty: "lastname"},
			{LMSField: "country", HubSpotProperty: "country"},
			{LMSField: "company", HubSpotProperty: "company"},
			{LMSField: "graduation_year", HubSpotProperty: "city"}, // a number into a string: invalid
		},
		UpdateLifecycleStage: true,
		NotifyEmail:          "admin@school.example",
	}
	rep, err := eng.SaveSettings(ctx, school, settings)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "   row\tLearnWorlds\tHubSpot\tverdict")
	for _, r := range rep.Rows {
		verdict := "ok (" + string(r.Type) + ")"
		if !r.Valid {
			verdict = "INVALID: " + r.Problems[0].Message
		}
		fmt.Fprintf(tw, "   %d\t%s\t%s\t%s\n", r.Index+1, r.Mapping.LMSField, r.Mapping.HubSpotProperty, verdict)
	}
	tw.Flush()
	if rep.Warning != "" {
		p.say("WARNING: %s", rep.Warning)
	}

	p.step("5. Manual sync: first-time setup")
	if _, err := eng.StartManualSync(ctx, school, ""); err != nil {
		return err
	}
	var prog hubsync.ManualProgress
	if err := waitFor(ctx, "the manual sync", func() bool {
		prog, _ = eng.ManualSync(ctx, school)
		return prog.State != hubsync.ManualRunning
	}); err != nil {
		return err
	}
	if prog.State != hubsync.ManualDone {
		return fmt.Errorf("manual sync ended %s: %s", prog.State, prog.Error)
	}
	p.say("manual sync done: %d learners, %d contacts created, %d failed, in %v", prog.Done, prog.Created, prog.Failed, prog.FinishedAt.Sub(prog.StartedAt).Round(time.Millisecond))

	if !fakeHS || !fakeLW {
		p.step("Steps 6 to 9 need the fakes' powers; skipped against real services")
		return summary(ctx, out, eng, hs, mail, rep.Warning)
	}

	p.step("6. Live updates: LearnWorlds webhooks -> engine -> HubSpot")
	const secret = "quickstart-webhook-secret"
	hooks := httptest.NewServer(learners.EngineWebhooks(school, learnworlds.Verifier{Secret: secret}, eng, store, logger))
	defer hooks.Close()
	lw.SetWebhook(hooks.URL, secret, false)
	for i := range 3 {
		email := fmt.Sprintf("learner%05d@school.example", i)
		start := time.Now()
		if _, err := lw.Update(ctx, email, func(u *learnworldstest.User) { u.Fields["country"] = "CY" }); err != nil {
			return err
		}
		if err := waitFor(ctx, "a live update", func() bool {
			c, _ := hs.Contact(email)
			return c.Properties["country"] == "CY"
		}); err != nil {
			return err
		}
		// Masked, the three addresses look alike (l***@school.example): the learner's number tells them apart.
		p.say("learner %d of 3 (%s) changed country to CY in LearnWorlds: in HubSpot %v later", i+1, hubsync.MaskEmail(email), time.Since(start).Round(time.Millisecond))
	}

	p.step("7. Lifecycle stage: Lead on sign-up, Customer on purchase")
	newbie := "newbie@school.example"
	if _, err := lw.Register(ctx, learnworldstest.User{Email: newbie, Username: "newbie", Fields: map[string]any{"country": "GR"}}); err != nil {
		return err
	}
	stage := func() string { c, _ := hs.Contact(newbie); return c.Properties[hubsync.LifecycleProperty] }
	if err := waitFor(ctx, "the sign-up", func() bool { return stage() == hubsync.StageLead }); err != nil {
		return err
	}
	p.say("%s signed up: lifecycle stage %q", hubsync.MaskEmail(newbie), stage())
	if _, err := lw.Purchase(ctx, newbie, learnworldstest.Payment{ProductID: "course-1", ProductType: "course", ProductName: "Intro course", Price: 49}); err != nil {
		return err
	}
	if err := waitFor(ctx, "the purchase", func() bool { return stage() == hubsync.StageCustomer }); err != nil {
		return err
	}
	p.say("%s bought a course: lifecycle stage %q", hubsync.MaskEmail(newbie), stage())

	p.step("8. Timeline events: once-events land once")
	for _, src := range []string{"signup-report-1", "signup-report-2"} {
		if err := eng.Record(ctx, school, hubsync.Activity{Kind: hubsync.EventSignedUp, Email: newbie, At: time.Now(), SourceID: src}); err != nil {
			return err
		}
	}
	p.say("the host reported %s's sign-up twice more", hubsync.MaskEmail(newbie))
	count := func(kind string) int {
		n := 0
		for _, ev := range hs.TimelineEvents() {
			if ev.Properties["kind"] == kind && strings.EqualFold(ev.Email, newbie) {
				n++
			}
		}
		return n
	}
	if err := waitFor(ctx, "the timeline", func() bool {
		st, _ := eng.Status(ctx, school)
		return st.Queue.Ready+st.Queue.Leased == 0 && count("first_purchase") == 1
	}); err != nil {
		return err
	}
	for _, k := range []string{"signed_up", "first_purchase", "purchase_made"} {
		p.say("timeline events %-15s for %s: %d", k, hubsync.MaskEmail(newbie), count(k))
	}

	p.step("9. The school uninstalls the app in HubSpot")
	hs.Uninstall()
	if _, err := lw.Update(ctx, "learner00003@school.example", func(u *learnworldstest.User) { u.Fields["country"] = "MT" }); err != nil {
		return err
	}
	if err := waitFor(ctx, "the deactivation", func() bool { return mail.count() > 0 }); err != nil {
		return err
	}
	st, err := eng.Status(ctx, school)
	if err != nil {
		return err
	}
	p.say("school deactivated: %v (%s); pending jobs kept: %d", st.Deactivated, st.DeactivatedReason, st.Queue.Ready+st.Queue.Scheduled+st.Queue.Leased)
	return summary(ctx, out, eng, hs, mail, rep.Warning)
}

// summary closes the demo. savedWarning is the mapping report's warning from step 4: by the end
// the school may be disconnected, and the report cannot be made again.
func summary(ctx context.Context, out io.Writer, eng *hubsync.Engine, hs *hubspottest.Server, mail *mailer, savedWarning string) error {
	st, err := eng.Status(ctx, school)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\n== Summary")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "   %s\t%v\n", k, v) }
	row("school", st.School)
	row("connected", st.Connected)
	row("portal", fmt.Sprintf("%d %s", st.PortalID, st.Domain))
	switch {
	case st.MappingWarning != "":
		row("mapping", "WARNING: "+st.MappingWarning)
	case !st.Connected && savedWarning != "":
		row("mapping", "WARNING: "+savedWarning+" (when the settings were saved; not checked now: the school is not connected)")
	case st.MappingError != "":
		row("mapping", "not checked now: "+st.MappingError)
	case !st.Connected:
		row("mapping", "not checked now: the school is not connected")
	default:
		row("mapping", "every row valid")
	}
	if st.ManualSync != nil {
		m := st.ManualSync
		row("manual sync", fmt.Sprintf("%s: %d done, %d created, %d updated, %d unchanged, %d skipped, %d failed", m.State, m.Done, m.Created, m.Updated, m.Unchanged, m.Skipped, m.Failed))
	}
	q := st.Queue
	kept := ""
	if st.Deactivated && q.Ready+q.Scheduled+q.Leased > 0 {
		kept = " (kept for when the school reconnects)"
	}
	row("queue", fmt.Sprintf("%d ready, %d scheduled, %d in progress, %d dead%s", q.Ready, q.Scheduled, q.Leased, q.Dead, kept))
	if hs != nil {
		s := hs.Stats()
		row("HubSpot contacts", len(hs.Contacts()))
		row("HubSpot timeline events", len(hs.TimelineEvents()))
		row("HubSpot requests", fmt.Sprintf("%d (429 answers: %d)", s.Requests, s.RateLimited))
	}
	row("emails sent", mail.count())
	return tw.Flush()
}
