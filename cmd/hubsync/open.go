package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/store/pgstore"
	"github.com/hubsync/hubsync/store/sqlitestore"
	"go.opentelemetry.io/otel/metric"
)

// backend is what the command needs of a store: both sqlitestore and pgstore are one.
type backend interface {
	hubsync.Store
	hubsync.Queue
	hubsync.LMSConnections
	learnworlds.Deduper
}

// openStore opens the store --db names: a postgres:// (or postgresql://) URL, else a SQLite file.
func (a *app) openStore(ctx context.Context) (backend, func(), error) {
	db := a.cfg.db
	sealer, err := a.sealer()
	if err != nil {
		return nil, nil, err
	}
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		s, err := pgstore.Open(ctx, db, pgstore.WithLogger(a.log), pgstore.WithSealer(sealer))
		if err != nil {
			return nil, nil, &storeError{db: "the PostgreSQL database", err: err}
		}
		return s, s.Close, nil
	}
	s, err := sqlitestore.Open(ctx, db, sqlitestore.WithLogger(a.log), sqlitestore.WithSealer(sealer))
	if err != nil {
		return nil, nil, &storeError{db: db, err: err}
	}
	return s, func() { _ = s.Close() }, nil
}

// storeError is a failure to open the store --db names, so that explain names --db.
type storeError struct {
	db  string // the SQLite file, or "the PostgreSQL database" (a URL may hold a password)
	err error
}

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// env is an opened store, the LearnWorlds side and an engine over them.
type env struct {
	store    backend
	learners *learnworlds.Learners // nil when LearnWorlds is not configured (never for serve)
	lwClient *learnworlds.Client   // nil when LearnWorlds is not configured
	// lms is the school's LearnWorlds connection (from the flags, else stored); lmsOK is false
	// when it has none.
	lms   hubsync.LMSConnection
	lmsOK bool
	eng   *hubsync.Engine
	close func()
}

// engineOptions are what differs between subcommands when building the engine.
type engineOptions struct {
	redirectURL string
	// catalog, when set, replaces the catalog options read from the saved settings (settings
	// apply checks the file's rows against the file's own custom fields).
	catalog    *hubsync.CatalogOptions
	onProgress func(hubsync.SchoolID, hubsync.ManualProgress)
	needLW     bool
	// workers is Config.Workers (0: hubsync.WorkersDefault).
	workers int
	// journal is Config.CatchUp.Journal (--hubspot-journal).
	journal bool
	// storeOnly lets the command run without the HubSpot app's credentials: the engine then
	// gets a stand-in app whose every HTTP request fails with errStoreOnly, so nothing reaches
	// HubSpot (status reads only the store).
	storeOnly bool
	// meters is Config.MeterProvider (nil: no metrics); serve's /metrics reads it.
	meters metric.MeterProvider
	// multi makes env.learners an adapter even when the school has no LearnWorlds connection:
	// serve adds every school it serves to it (serve_schools.go).
	multi bool
}

// errStoreOnly is what a HubSpot request fails with in a command opened with storeOnly and no
// HubSpot credentials.
var errStoreOnly = errors.New("not checked without --hubspot-client-id and --hubspot-client-secret (the command read only the store)")

// offline is the HTTP transport of a storeOnly engine: it refuses every request.
type offline struct{}

func (offline) RoundTrip(*http.Request) (*http.Response, error) { return nil, errStoreOnly }

// defaultRedirectURL is the OAuth redirect URL of the default --listen address of connect.
const defaultRedirectURL = "http://127.0.0.1:8976/oauth/callback"

// errNoLearnWorlds is returned by the LearnWorlds side when its flags are missing.
var errNoLearnWorlds = errors.New("LearnWorlds is not configured: set --learnworlds-url, --learnworlds-client-id and --learnworlds-client-secret (or --learnworlds-token), or store them with the school once with \"hubsync connect --learnworlds-only\"")

// open opens the store and builds the LearnWorlds adapter and the engine.
func (a *app) open(ctx context.Context, o engineOptions) (*env, error) {
	c := a.cfg
	var hsClient *http.Client
	if (c.hsID == "" || c.hsSecret == "") && o.storeOnly {
		c.hsID, c.hsSecret = "store-only", "store-only"
		hsClient = &http.Client{Transport: offline{}}
	}
	if c.hsID == "" || c.hsSecret == "" {
		return nil, &usageError{msg: "--hubspot-client-id and --hubspot-client-secret are required (or HUBSYNC_HUBSPOT_CLIENT_ID and HUBSYNC_HUBSPOT_CLIENT_SECRET)"}
	}
	hsN, hsPer, err := parseRate("hubspot-rate-limit", c.hsRate)
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	var appID int64
	if c.hsAppID != "" {
		if appID, err = strconv.ParseInt(c.hsAppID, 10, 64); err != nil || appID < 0 {
			return nil, &usageError{msg: fmt.Sprintf("--hubspot-app-id %q: want the app's numeric id", c.hsAppID)}
		}
	}
	st, closeStore, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	e := &env{store: st, close: closeStore}
	fail := func(err error) (*env, error) { closeStore(); return nil, err }
	school := hubsync.SchoolID(c.school)
	e.lms, e.lmsOK, err = a.lmsFor(ctx, st, school)
	if err != nil {
		return fail(err)
	}
	if o.needLW && !e.lmsOK {
		return fail(&usageError{msg: errNoLearnWorlds.Error()})
	}

	catalog := o.catalog
	if catalog == nil {
		s, err := st.GetSettings(ctx, school)
		if err != nil && !errors.Is(err, hubsync.ErrNotFound) {
			return fail(err)
		}
		catalog = &hubsync.CatalogOptions{Custom: s.Custom, BillingEnabled: s.BillingEnabled}
	}
	var lms hubsync.Learners = catalogOnly{opts: *catalog}
	if e.lmsOK || o.multi {
		e.learners, _ = learnworlds.NewLearners(nil)
		lms = e.learners
	}
	if e.lmsOK {
		client, err := a.lwClient(e.lms)
		if err != nil {
			return fail(err)
		}
		if err := e.learners.SetSchool(school, learnworlds.School{Client: client, Catalog: *catalog}); err != nil {
			return fail(err)
		}
		e.lwClient = client
	}
	redirect := o.redirectURL
	if redirect == "" {
		// hubsync.New checks the OAuth app even when no connect happens, and the app needs a
		// redirect URL; only "connect" uses it.
		redirect = defaultRedirectURL
	}
	notifier, err := a.notifier()
	if err != nil {
		return fail(err)
	}
	e.eng, err = hubsync.New(hubsync.Config{
		Store: st, Queue: st, Learners: lms, Logger: a.log, Notifier: notifier, MeterProvider: o.meters,
		HubSpot: hubsync.HubSpotApp{
			ClientID: c.hsID, ClientSecret: c.hsSecret, AppID: appID, RedirectURL: redirect,
			BaseURL: c.hsURL, AuthorizeURL: c.hsAuthURL, RateLimit: hsN, RateInterval: hsPer,
			HTTPClient: hsClient,
		},
		OnProgress: o.onProgress,
		Workers:    o.workers,
		CatchUp:    hubsync.CatchUp{Journal: o.journal},
	})
	if err != nil {
		return fail(err)
	}
	return e, nil
}

// logNotifier reports a lost connection on stderr when no mailer is configured (notify.go).
type logNotifier struct{ a *app }

// ConnectionLost logs an error saying what to do (the command that hit it also ends with that
// line); it never fails.
func (n logNotifier) ConnectionLost(_ context.Context, school hubsync.SchoolID, to, reason string) error {
	n.a.log.Error("hubsync: the HubSpot connection was lost; run \"hubsync connect\" again, then \"hubsync sync\" to catch up (no email sent: set --smtp-host or --notify-webhook-url)",
		"school", school, "reason", reason, "notify", hubsync.MaskEmail(to))
	return nil
}

// catalogOnly is the LMS side when LearnWorlds is not configured: it knows the LearnWorlds field
// catalog (so settings can be checked and status shown) and refuses every learner call, saying
// which flags are missing.
type catalogOnly struct{ opts hubsync.CatalogOptions }

var _ hubsync.Learners = catalogOnly{}

// Catalog returns the LearnWorlds catalog for the configured custom fields and billing switch.
func (c catalogOnly) Catalog(context.Context, hubsync.SchoolID) ([]hubsync.LearnerField, error) {
	return hubsync.LearnWorldsCatalog(c.opts)
}

// GetByEmail fails with errNoLearnWorlds.
func (catalogOnly) GetByEmail(context.Context, hubsync.SchoolID, string) (hubsync.Learner, error) {
	return hubsync.Learner{}, errNoLearnWorlds
}

// ListPage fails with errNoLearnWorlds.
func (catalogOnly) ListPage(context.Context, hubsync.SchoolID, string) (hubsync.LearnerPage, error) {
	return hubsync.LearnerPage{}, errNoLearnWorlds
}

// Update fails with errNoLearnWorlds.
func (catalogOnly) Update(context.Context, hubsync.SchoolID, string, map[string]any) (hubsync.Learner, error) {
	return hubsync.Learner{}, errNoLearnWorlds
}

// Create fails with errNoLearnWorlds.
func (catalogOnly) Create(context.Context, hubsync.SchoolID, hubsync.NewLearner) (hubsync.Learner, error) {
	return hubsync.Learner{}, errNoLearnWorlds
}

// AddTags fails with errNoLearnWorlds.
func (catalogOnly) AddTags(context.Context, hubsync.SchoolID, string, []string) error {
	return errNoLearnWorlds
}
