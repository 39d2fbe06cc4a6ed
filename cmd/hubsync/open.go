package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/store/pgstore"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// backend is what the command needs of a store: both sqlitestore and pgstore are one.
type backend interface {
	hubsync.Store
	hubsync.Queue
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
			return nil, nil, err
		}
		return s, s.Close, nil
	}
	s, err := sqlitestore.Open(ctx, db, sqlitestore.WithLogger(a.log), sqlitestore.WithSealer(sealer))
	if err != nil {
		return nil, nil, err
	}
	return s, func() { _ = s.Close() }, nil
}

// env is an opened store, the LearnWorlds side and an engine over them.
type env struct {
	store    backend
	learners *learnworlds.Learners // nil when LearnWorlds is not configured
	lwClient *learnworlds.Client   // nil when LearnWorlds is not configured
	eng      *hubsync.Engine
	close    func()
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
}

// defaultRedirectURL is the OAuth redirect URL of the default --listen address of connect.
const defaultRedirectURL = "http://127.0.0.1:8976/oauth/callback"

// errNoLearnWorlds is returned by the LearnWorlds side when its flags are missing.
var errNoLearnWorlds = errors.New("LearnWorlds is not configured: set --learnworlds-url, --learnworlds-client-id and --learnworlds-client-secret (or --learnworlds-token)")

// open opens the store and builds the LearnWorlds adapter and the engine.
func (a *app) open(ctx context.Context, o engineOptions) (*env, error) {
	c := a.cfg
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
	lwConfigured := c.lwURL != "" || c.lwID != "" || c.lwSecret != "" || c.lwToken != ""
	if o.needLW && !lwConfigured {
		return nil, &usageError{msg: errNoLearnWorlds.Error()}
	}
	st, closeStore, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	e := &env{store: st, close: closeStore}
	fail := func(err error) (*env, error) { closeStore(); return nil, err }

	catalog := o.catalog
	if catalog == nil {
		s, err := st.GetSettings(ctx, hubsync.SchoolID(c.school))
		if err != nil && !errors.Is(err, hubsync.ErrNotFound) {
			return fail(err)
		}
		catalog = &hubsync.CatalogOptions{Custom: s.Custom, BillingEnabled: s.BillingEnabled}
	}
	var lms hubsync.Learners = catalogOnly{opts: *catalog}
	if lwConfigured {
		lwN, lwPer, err := parseRate("learnworlds-rate-limit", c.lwRate)
		if err != nil {
			return fail(&usageError{msg: err.Error()})
		}
		client, err := learnworlds.New(learnworlds.Config{
			BaseURL: c.lwURL, ClientID: c.lwID, ClientSecret: c.lwSecret, AccessToken: c.lwToken,
			RateLimit: lwN, RatePer: lwPer, Logger: a.log,
		})
		if err != nil {
			return fail(&usageError{msg: err.Error()})
		}
		e.learners, err = learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{
			hubsync.SchoolID(c.school): {Client: client, Catalog: *catalog},
		})
		if err != nil {
			return fail(err)
		}
		lms, e.lwClient = e.learners, client
	}
	redirect := o.redirectURL
	if redirect == "" {
		// hubsync.New checks the OAuth app even when no connect happens, and the app needs a
		// redirect URL; only "connect" uses it.
		redirect = defaultRedirectURL
	}
	e.eng, err = hubsync.New(hubsync.Config{
		Store: st, Queue: st, Learners: lms, Logger: a.log, Notifier: logNotifier{a},
		HubSpot: hubsync.HubSpotApp{
			ClientID: c.hsID, ClientSecret: c.hsSecret, AppID: appID, RedirectURL: redirect,
			BaseURL: c.hsURL, AuthorizeURL: c.hsAuthURL, RateLimit: hsN, RateInterval: hsPer,
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

// logNotifier reports a lost connection on stderr: the command has no mailer.
type logNotifier struct{ a *app }

// ConnectionLost logs an error saying what to do (the command that hit it also ends with that
// line); it never fails.
func (n logNotifier) ConnectionLost(_ context.Context, school hubsync.SchoolID, to, reason string) error {
	n.a.log.Error("hubsync: the HubSpot connection was lost; run \"hubsync connect\" again, then \"hubsync sync\" to catch up (no email sent: the command has no mailer)",
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
