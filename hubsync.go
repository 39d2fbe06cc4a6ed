package hubsync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/internal/procid"
	"github.com/hubsync/hubsync/internal/quietlog"
)

// Defaults for the Config fields left zero.
const (
	// WorkersDefault is how many workers Run starts for live LMS -> HubSpot work.
	WorkersDefault = 4
	// LMSWorkersDefault is how many workers Run starts for live HubSpot -> LMS work.
	LMSWorkersDefault = 2
	// BackfillWorkersDefault is how many workers Run starts for manual sync pages.
	BackfillWorkersDefault = 2
	// LeaseDefault is how long a worker holds a batch of jobs before another may take them over,
	// unless it renews the lease: a running batch renews it every third of it (a heartbeat), so a
	// crashed worker's jobs are taken over within about this long, while a long batch keeps them.
	LeaseDefault = 15 * time.Second
	// PollDefault is the longest an idle worker waits before looking at the queue again, when it was
	// not woken by a new job.
	PollDefault = time.Second
	// SchemaTTLDefault is how long a portal's contact property schema is cached.
	SchemaTTLDefault = 5 * time.Minute
	// MaxBackoffDefault caps the wait between tries of a failing job.
	MaxBackoffDefault = 10 * time.Minute
	// StateTTLDefault is how long an authorize URL's CSRF state stays valid.
	StateTTLDefault = 30 * time.Minute
	// BatchLingerDefault is how long an idle worker woken by new work waits before it takes a
	// batch, so a burst fills its first batch.
	BatchLingerDefault = 50 * time.Millisecond
	// ReclaimDefault is how often Run looks for jobs leased by a process of this machine that has
	// died and takes them back, so a killed process's schools move on within about this long (plus
	// one Poll) instead of after their leases; it costs one small query per period.
	ReclaimDefault = 5 * time.Second
)

// HubSpotApp is the HubSpot public app the engine connects schools through.
type HubSpotApp struct {
	// ClientID and ClientSecret are the app's credentials. Required. The client secret also verifies
	// HubSpot's webhook signatures.
	ClientID     string
	ClientSecret string
	// AppID is the app's id (timeline event templates and webhooks belong to it).
	AppID int64
	// RedirectURL is the OAuth callback HubSpot sends the school admin back to. Required by
	// AuthorizeURL and CompleteConnect; an engine that only syncs (ConnectWithRefreshToken, or
	// schools connected earlier) can leave it empty.
	RedirectURL string
	// Scopes and OptionalScopes default to what contact sync and timeline events need.
	Scopes, OptionalScopes []string
	// BaseURL is HubSpot's API base URL; "" means https://api.hubapi.com. Point it at a proxy, a
	// sandbox or hubspottest.
	BaseURL string
	// AuthorizeURL is HubSpot's authorize page; "" means https://app.hubspot.com/oauth/authorize.
	AuthorizeURL string
	// Version picks the API generation ("" means the newest the hubspot package supports).
	Version hubspot.Version
	// Timeline picks the timeline flavour ("" means the hubspot package's default).
	Timeline hubspot.TimelineFlavour
	// EventTypes maps each timeline event kind to the app's event template id (legacy timeline) or
	// event type name (app events). A kind missing here uses "hubsync_" + the kind's name.
	EventTypes map[EventKind]string
	// RateLimit and RateInterval override the per-portal request budget (default 110 per 10 s; the
	// client also adapts to HubSpot's rate-limit headers).
	RateLimit    int
	RateInterval time.Duration
	// HTTPClient is used for every HubSpot call; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
}

// DefaultScopes are the scopes the engine asks for when HubSpotApp.Scopes is empty.
var DefaultScopes = []string{"oauth", "crm.objects.contacts.read", "crm.objects.contacts.write", "crm.schemas.contacts.read", "timeline"}

// Notifier tells a school's people about events that need them. The engine calls it at most once
// per lost connection.
type Notifier interface {
	// ConnectionLost is called when a school's HubSpot connection is lost (refresh refused,
	// app uninstalled). to is the school's notification address (Settings.NotifyEmail, possibly
	// empty). An error is logged and the call is not repeated.
	ConnectionLost(ctx context.Context, school SchoolID, to string, reason string) error
}

// Config configures an Engine. Store, Queue, Learners and HubSpot's client id and secret are
// required; everything else has a default.
type Config struct {
	// Store and Queue persist everything (hubsynctest for tests, store/sqlitestore embedded,
	// store/pgstore for many instances). They are often the same value.
	Store Store
	Queue Queue
	// Learners is the LMS side (the host's own backend, or learnworlds.Learners).
	Learners Learners
	// HubSpot is the app schools connect through.
	HubSpot HubSpotApp
	// Notifier emails a school when its connection is lost. nil: the loss is only logged.
	Notifier Notifier
	// Clock is the time source; nil means real time.
	Clock Clock
	// Logger receives the engine's logs. nil means the process's default logger (slog.Default)
	// at WARN and above only: a host that passes none sees warnings and errors (a lost
	// connection, a refused record) but no INFO lines. Emails are masked, tokens never logged.
	Logger *slog.Logger
	// Workers is the number of workers Run starts for live LMS -> HubSpot work (contact, stage
	// and timeline event jobs) (WorkersDefault).
	Workers int
	// LMSWorkers is the number of workers for live HubSpot -> LMS work (LMSWorkersDefault); at
	// most one of them works on a school at a time.
	LMSWorkers int
	// BackfillWorkers is the number of workers for manual sync pages and any other job kind
	// (BackfillWorkersDefault).
	BackfillWorkers int
	// Lease is how long a worker holds jobs without renewing them (LeaseDefault).
	Lease time.Duration
	// Heartbeat is how often a running batch renews its leases (0: Lease/3). Negative turns the
	// heartbeat off: a batch then keeps its jobs only for Lease, so Lease must outlast the longest
	// batch. Tests whose fake clock advances by itself whenever something waits on it turn it off,
	// since the heartbeat's timer would let that clock race ahead during every batch.
	Heartbeat time.Duration
	// Poll is the idle wait between queue looks (PollDefault).
	Poll time.Duration
	// SchemaTTL is how long a portal's property schema is cached (SchemaTTLDefault).
	SchemaTTL time.Duration
	// MaxBackoff caps retry waits (MaxBackoffDefault).
	MaxBackoff time.Duration
	// StateTTL is how long an authorize URL stays usable (StateTTLDefault).
	StateTTL time.Duration
	// BatchLinger is how long an idle worker woken by new work lets it gather before taking a
	// batch (BatchLingerDefault; a negative value disables it). It adds at most that much to the
	// latency of a change that arrives alone.
	BatchLinger time.Duration
	// Reclaim is how often Run takes back the jobs leased by processes of this machine that have
	// died (ReclaimDefault; see engine_reclaim.go). Negative: only when Run starts, so a process
	// killed later leaves its jobs until their leases run out (Lease). Jobs leased by a process of
	// another machine always wait out their leases.
	Reclaim time.Duration
	// OnProgress, when set, is called with a school's manual sync progress after every page and
	// when the sync ends, for hosts that show a progress bar. It must not block.
	OnProgress func(SchoolID, ManualProgress)
	// Retention bounds the dedupe records, the sync log and queued events (see Retention).
	Retention Retention
	// CatchUp configures catching up after downtime (see CatchUp and engine_catchup.go).
	CatchUp CatchUp
	// MeterProvider receives the engine's metrics (OpenTelemetry; the list is in
	// engine_metrics.go). nil: no metrics, and nothing is wrapped.
	MeterProvider metric.MeterProvider
}

// Engine syncs many schools. Create it with New; call Run to start its workers. Its methods are
// safe for concurrent use.
type Engine struct {
	cfg   Config
	clk   Clock
	log   *slog.Logger
	oauth *hubspot.OAuth

	// schools is each school's runtime state in this process (client, pause, outages, schema
	// cache, manual read-ahead) and the portal index; see engine_schools.go.
	schools *schools
	// events counts each school's queued jobs for Retention.MaxQueuedEvents (engine_bounds.go).
	events *eventBounds
	// catchups is the in-process catch-up state (engine_catchup.go).
	catchups *catchUps
	journalc journalClient // the Webhooks Journal client, made on first use (engine_journal.go)
	metrics  *metrics      // the instruments (engine_metrics.go); no-op without a MeterProvider

	wake [laneCount]chan struct{} // one per lane: new work is ready
	// holder names this process in the queue's leases (internal/procid), so another engine of
	// this machine can tell once this process is gone; see engine_reclaim.go.
	holder string
	// reclaimed is set once RunOnce has taken back dead holders' jobs (Run does at each start).
	reclaimed atomic.Bool
	pages     pageClock // when this engine finished each school's last manual sync page
}

// New checks cfg, applies defaults and returns an Engine. It does no I/O. The error wraps
// ErrInvalidSettings and names the missing or bad field.
func New(cfg Config) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m := newMetrics(cfg.MeterProvider)
	if m.on {
		cfg.HubSpot.HTTPClient = m.instrumentHTTP(cfg.HubSpot.HTTPClient)
		cfg.Learners = countLearners(cfg.Learners, m)
	}
	e := &Engine{
		metrics:  m,
		cfg:      cfg,
		clk:      clock.Or(cfg.Clock),
		log:      cfg.Logger,
		schools:  newSchools(),
		events:   newEventBounds(),
		catchups: newCatchUps(),
		holder:   procid.Self(),
	}
	for l := range e.wake {
		e.wake[l] = make(chan struct{}, 1)
	}
	redirect := cfg.HubSpot.RedirectURL
	if redirect == "" {
		// Only the authorization-code flow needs the real one (AuthorizeURL and CompleteConnect
		// refuse to run without it); refresh, introspection and revocation do not send it.
		redirect = "http://localhost/hubsync-redirect-url-not-configured"
	}
	app := hubspot.App{
		ClientID:       cfg.HubSpot.ClientID,
		ClientSecret:   cfg.HubSpot.ClientSecret,
		RedirectURL:    redirect,
		Scopes:         cfg.HubSpot.Scopes,
		OptionalScopes: cfg.HubSpot.OptionalScopes,
	}
	oa, err := hubspot.NewOAuth(app, e.hubspotOptions()...)
	if err != nil {
		return nil, fmt.Errorf("%w: HubSpot app: %w", ErrInvalidSettings, err)
	}
	e.oauth = oa
	return e, nil
}

// validate names every required field cfg lacks.
func (cfg Config) validate() error {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("Config.Store is required"))
	}
	if cfg.Queue == nil {
		errs = append(errs, errors.New("Config.Queue is required"))
	}
	if cfg.Learners == nil {
		errs = append(errs, errors.New("Config.Learners is required"))
	}
	if cfg.HubSpot.ClientID == "" || cfg.HubSpot.ClientSecret == "" {
		errs = append(errs, errors.New("Config.HubSpot.ClientID and ClientSecret are required"))
	}
	if lease := cmp.Or(max(cfg.Lease, 0), LeaseDefault); cfg.Heartbeat >= lease {
		errs = append(errs, fmt.Errorf("Config.Heartbeat (%v) must be shorter than the lease (%v), or leases expire between renewals", cfg.Heartbeat, lease))
	}
	if err := cfg.Retention.validate(); err != nil {
		errs = append(errs, err)
	}
	if ttl, keep := cfg.StateTTL, cfg.Retention.withDefaults().Webhooks; ttl > 0 && ttl >= keep {
		errs = append(errs, fmt.Errorf("Config.StateTTL is %v: it must be shorter than Config.Retention.Webhooks (%v), which keeps the record of a used OAuth state", ttl, keep))
	}
	if err := cfg.CatchUp.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidSettings, errors.Join(errs...))
	}
	return nil
}

// withDefaults returns cfg with every zero field that has a default set to it.
func (cfg Config) withDefaults() Config {
	orDefault := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = WorkersDefault
	}
	if cfg.LMSWorkers <= 0 {
		cfg.LMSWorkers = LMSWorkersDefault
	}
	if cfg.BackfillWorkers <= 0 {
		cfg.BackfillWorkers = BackfillWorkersDefault
	}
	orDefault(&cfg.Lease, LeaseDefault)
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = cfg.Lease / 3
	}
	orDefault(&cfg.Poll, PollDefault)
	if cfg.Reclaim == 0 {
		cfg.Reclaim = ReclaimDefault // negative: only at start
	}
	orDefault(&cfg.SchemaTTL, SchemaTTLDefault)
	orDefault(&cfg.MaxBackoff, MaxBackoffDefault)
	orDefault(&cfg.StateTTL, StateTTLDefault)
	cfg.Retention = cfg.Retention.withDefaults()
	cfg.CatchUp = cfg.CatchUp.withDefaults()
	if cfg.BatchLinger == 0 {
		cfg.BatchLinger = BatchLingerDefault // negative: off
	}
	if cfg.Logger == nil {
		cfg.Logger = quietlog.Default()
	}
	if cfg.HubSpot.HTTPClient == nil {
		cfg.HubSpot.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: hubspotTransport()}
	}
	if len(cfg.HubSpot.Scopes) == 0 {
		cfg.HubSpot.Scopes = DefaultScopes
	}
	return cfg
}

// hubspotTransport is the default HTTP transport of the HubSpot calls: http.DefaultTransport's
// settings, but keeping an idle connection for every worker. Every school's calls go to one host,
// and the default (two idle connections per host) closed the others after each request, so most
// requests of Workers + BackfillWorkers concurrent workers paid a new TCP and TLS handshake.
func hubspotTransport() http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil // the host replaced it: use theirs
	}
	t = t.Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

// hubspotOptions are the client options every HubSpot client of the engine shares.
func (e *Engine) hubspotOptions() []hubspot.Option {
	h := e.cfg.HubSpot
	opts := []hubspot.Option{
		hubspot.WithHTTPClient(h.HTTPClient),
		hubspot.WithClock(e.clk),
		hubspot.WithLogger(e.log),
	}
	if h.BaseURL != "" {
		opts = append(opts, hubspot.WithBaseURL(h.BaseURL))
	}
	if h.AuthorizeURL != "" {
		opts = append(opts, hubspot.WithAuthorizeURL(h.AuthorizeURL))
	}
	if h.Version != "" {
		opts = append(opts, hubspot.WithVersion(h.Version))
	}
	if h.Timeline != "" {
		opts = append(opts, hubspot.WithTimelineFlavour(h.Timeline))
	}
	if h.RateLimit > 0 && h.RateInterval > 0 {
		opts = append(opts, hubspot.WithRateLimit(h.RateLimit, h.RateInterval))
	}
	return opts
}

// Run runs the engine's workers (one pool per lane, see engine_worker.go) until ctx ends, then
// returns ctx's error after every worker has finished or released the jobs it held.
func (e *Engine) Run(ctx context.Context) error {
	e.registerMetrics()
	defer e.unregisterMetrics()
	e.reclaimDead(ctx)
	var janitor sync.WaitGroup
	janitor.Go(func() { e.reclaimLoop(ctx) })
	janitor.Go(func() { e.janitor(ctx) })
	janitor.Go(func() { e.catchUpLoop(ctx) })
	e.runLanes(ctx)
	janitor.Wait()
	return ctx.Err()
}

// RunOnce processes ready jobs of every lane until none is left (or ctx ends) and returns how
// many jobs it handled. It is for tests, tools and hosts that schedule work themselves: it does
// not wait for jobs scheduled in the future, nor for paused schools.
func (e *Engine) RunOnce(ctx context.Context) (int, error) {
	if e.reclaimed.CompareAndSwap(false, true) { // at the first call only: a host may call it often
		e.reclaimDead(ctx)
	}
	total := 0
	for {
		round := 0
		for l := range laneCount + 1 { // every lane, then every kind (laneCount)
			for {
				n, err := e.step(ctx, l, e.holder+"#run-once")
				round += n
				if err != nil {
					return total + round, err
				}
				if n == 0 {
					break
				}
			}
		}
		total += round
		if round == 0 {
			return total, nil
		}
	}
}

// Job kinds the engine enqueues; handleBatch routes each to its handler.
const (
	// JobContact carries a learner's latest state to upsert into HubSpot (key: the email, so
	// repeated changes coalesce into one job with the newest state).
	JobContact JobKind = "contact"
	// JobStage carries a lifecycle trigger for one learner (key: email and trigger, so no trigger is
	// lost to coalescing).
	JobStage JobKind = "stage"
	// JobEvent carries one timeline event occurrence (key: its occurrence id, so a redelivered
	// source event is one job).
	JobEvent JobKind = "event"
	// JobInbound carries one HubSpot contact change to apply to the LMS (key: the contact id and
	// the changed property, "*" for all, so a burst of edits of one property is one job and edits
	// of different properties are all kept).
	JobInbound JobKind = "inbound"
	// JobManual carries one page of a manual sync (key: the school, so pages run one at a time).
	JobManual JobKind = "manual"
	// JobManualCarry is a JobManual page that also carries learners the page before it read but
	// did not send (less than a full batch, kept for this page's first request). The workers of
	// an engine that predates it leave it for one that knows it, instead of running the page
	// without them (an older RunOnce, which takes every kind, retries it and finally
	// dead-letters it, as any kind it does not know).
	JobManualCarry JobKind = "manual_carry"
)

// handleBatch processes one school's leased jobs, live work first, telling k (which renews their
// leases while they run) as each group is finished.
func (e *Engine) handleBatch(ctx context.Context, school SchoolID, jobs []Job, k *leaseKeeper) {
	finish := func(group []Job, err error) {
		e.finish(ctx, group, err)
		k.finished(group)
	}
	if err := e.checkConnection(ctx, school); err != nil {
		finish(jobs, err)
		return
	}
	var contacts, events, inbound, manual, catchups, unknown []Job
	for _, j := range jobs {
		switch j.Kind {
		case JobInbound:
			inbound = append(inbound, j)
		case JobManual, JobManualCarry:
			manual = append(manual, j)
		case JobCatchUp:
			catchups = append(catchups, j)
		case JobContact, JobStage:
			contacts = append(contacts, j)
		case JobEvent:
			events = append(events, j)
		default:
			unknown = append(unknown, j)
		}
	}
	if len(unknown) > 0 {
		finish(unknown, fmt.Errorf("hubsync: unknown job kind %q", unknown[0].Kind))
	}
	if len(contacts) > 0 {
		finish(contacts, e.syncContacts(ctx, school, contacts))
	}
	if len(events) > 0 {
		finish(events, e.sendEvents(ctx, school, events))
	}
	if len(inbound) > 0 {
		if release, ok := e.holdLMS(school); ok {
			finish(inbound, e.applyInbound(ctx, school, inbound))
			release()
		} else {
			e.giveBack(ctx, inbound) // another worker is on this school's LMS budget
			k.finished(inbound)
		}
	}
	for _, j := range catchups {
		finish([]Job{j}, e.handleCatchUp(ctx, school, j))
	}
	// Backfill pages last: live work of the batch goes first.
	for _, j := range manual {
		finish([]Job{j}, e.handleManual(ctx, school, j))
	}
}
