package hubspot

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/internal/ratelimit"
)

// Version selects the generation of HubSpot's API paths the client calls.
type Version string

// The API generations the client speaks. Request and response bodies are the same shape in both;
// only the paths differ (for example /crm/v3/objects/contacts against
// /crm/objects/2026-03/contacts). HubSpot stops supporting the v3 paths in September 2027.
const (
	VersionV3     Version = "v3"
	Version202603 Version = "2026-03"
	// DefaultVersion is the newest generation the client knows.
	DefaultVersion = Version202603
)

// Versions lists every Version the client accepts, oldest first.
func Versions() []Version { return []Version{VersionV3, Version202603} }

// Validate returns an error wrapping ErrInvalidInput when v is not one of [Versions].
func (v Version) Validate() error {
	for _, k := range Versions() {
		if v == k {
			return nil
		}
	}
	return fmt.Errorf("%w: unknown API version %q (want v3 or 2026-03)", ErrInvalidInput, string(v))
}

// Defaults the client uses when no option says otherwise.
const (
	DefaultBaseURL      = "https://api.hubapi.com"
	DefaultAuthorizeURL = "https://app.hubspot.com/oauth/authorize"
	// DefaultRequests and DefaultInterval are the burst limit of a public OAuth app per installing
	// portal: 110 requests every 10 seconds.
	DefaultRequests = 110
	DefaultInterval = 10 * time.Second
	// DefaultSearchRequests per DefaultSearchInterval is the CRM search limit, 5 a second.
	DefaultSearchRequests = 5
	DefaultSearchInterval = time.Second
	// DefaultMaxRetries is how many times one call is retried after a retryable answer.
	DefaultMaxRetries = 4
	// DefaultMaxWait is the longest the client waits by itself before one retry; a longer wait
	// (a daily limit, a long migration) comes back as a *RateLimitError for the caller to
	// reschedule.
	DefaultMaxWait = 15 * time.Second
	// BatchLimit is the most inputs HubSpot accepts in one batch request.
	BatchLimit = 100
)

// MaxRetryAfter caps every wait the client takes from HubSpot: a Retry-After header (a 477
// "migration in progress" may ask for about a day), the window an X-HubSpot-RateLimit-Interval-
// Milliseconds header announces, the waits the client sleeps through by itself, and the RetryAfter
// of the *APIError and *RateLimitError it returns (a daily limit resets at the portal's next
// midnight, up to a day away). A longer wait, or one too large for a time.Duration, is taken as
// MaxRetryAfter; a negative one, or a date in the past, as zero. It equals the engine's
// hubsync.RetryAfterMax.
const MaxRetryAfter = 24 * time.Hour

// Client calls the HubSpot API for one portal. Create one per connected portal with [New]: its rate
// limiter is that portal's budget. All methods are safe for concurrent use.
type Client struct {
	cfg    config
	base   *url.URL
	limit  *ratelimit.Window
	search *ratelimit.Window
	status *statusBox
}

type config struct {
	httpClient     *http.Client
	baseURL        string
	authorizeURL   string
	version        Version
	tokens         oauth2.TokenSource
	logger         *slog.Logger
	clk            clock.Clock
	requests       int
	interval       time.Duration
	searchRequests int
	searchInterval time.Duration
	maxRetries     int
	maxWait        time.Duration
	timeline       TimelineFlavour
	dailyReset     *time.Location
	searchCap      int // results one search query can page through; tests lower it
}

// Option configures a [Client] or an [OAuth].
type Option func(*config)

// WithHTTPClient sets the HTTP client (and so the transport) requests go through. Default:
// a client with a 60-second timeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithBaseURL sets the API root, [DefaultBaseURL] by default. Tests point it at a fake.
func WithBaseURL(u string) Option { return func(c *config) { c.baseURL = u } }

// WithAuthorizeURL sets the page users approve the app on, [DefaultAuthorizeURL] by default.
func WithAuthorizeURL(u string) Option { return func(c *config) { c.authorizeURL = u } }

// WithVersion selects the API generation, [DefaultVersion] by default.
func WithVersion(v Version) Option { return func(c *config) { c.version = v } }

// WithTokenSource sets where access tokens come from, usually [OAuth.TokenSource]. A static token
// (a private app) can use oauth2.StaticTokenSource.
func WithTokenSource(ts oauth2.TokenSource) Option { return func(c *config) { c.tokens = ts } }

// WithLogger sets the structured logger; nil (the default) discards. No token, secret or full
// email address is ever logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithClock sets the time source for waits, token expiry and backoff; nil means real time.
func WithClock(clk clock.Clock) Option { return func(c *config) { c.clk = clk } }

// WithRateLimit sets the portal's request budget: at most n requests in any window of length per
// ([DefaultRequests] per [DefaultInterval] by default). The client also adopts the limit HubSpot
// announces in the X-HubSpot-RateLimit-Max and -Interval-Milliseconds headers.
func WithRateLimit(n int, per time.Duration) Option {
	return func(c *config) { c.requests, c.interval = n, per }
}

// WithSearchRateLimit sets the separate budget of the CRM search endpoint (5 a second by default).
func WithSearchRateLimit(n int, per time.Duration) Option {
	return func(c *config) { c.searchRequests, c.searchInterval = n, per }
}

// WithRetry sets how many times one call is retried after a retryable answer (429, 423, 477, 5xx,
// a dropped connection) and the longest single wait the client takes by itself. Defaults:
// [DefaultMaxRetries], [DefaultMaxWait].
func WithRetry(maxRetries int, maxWait time.Duration) Option {
	return func(c *config) { c.maxRetries, c.maxWait = maxRetries, maxWait }
}

// WithTimelineFlavour selects legacy timeline v3 events or 2026-03 app events
// ([TimelineAppEvents] by default).
func WithTimelineFlavour(f TimelineFlavour) Option { return func(c *config) { c.timeline = f } }

// WithDailyResetLocation sets the portal's time zone (account-info's timeZone), in which HubSpot
// resets daily limits at midnight. Default: UTC.
func WithDailyResetLocation(loc *time.Location) Option {
	return func(c *config) { c.dailyReset = loc }
}

func newConfig(opts []Option) (config, *url.URL, error) {
	cfg := config{
		baseURL:        DefaultBaseURL,
		authorizeURL:   DefaultAuthorizeURL,
		version:        DefaultVersion,
		requests:       DefaultRequests,
		interval:       DefaultInterval,
		searchRequests: DefaultSearchRequests,
		searchInterval: DefaultSearchInterval,
		maxRetries:     DefaultMaxRetries,
		maxWait:        DefaultMaxWait,
		timeline:       TimelineAppEvents,
		searchCap:      SearchCap,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.httpClient == nil {
		cfg.httpClient = &http.Client{Timeout: 60 * time.Second}
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	cfg.clk = clock.Or(cfg.clk)
	if cfg.dailyReset == nil {
		cfg.dailyReset = time.UTC
	}
	if err := cfg.version.Validate(); err != nil {
		return cfg, nil, err
	}
	if err := cfg.timeline.Validate(); err != nil {
		return cfg, nil, err
	}
	if cfg.maxRetries < 0 {
		return cfg, nil, fmt.Errorf("%w: negative retry count %d", ErrInvalidInput, cfg.maxRetries)
	}
	base, err := url.Parse(strings.TrimRight(cfg.baseURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return cfg, nil, fmt.Errorf("%w: base URL %q is not an absolute URL", ErrInvalidInput, cfg.baseURL)
	}
	return cfg, base, nil
}

// New returns a Client for one portal. It returns an error wrapping [ErrInvalidInput] when an
// option is invalid (unknown version or timeline flavour, a base URL that is not absolute, a
// negative retry count) or when no token source is given.
func New(opts ...Option) (*Client, error) {
	cfg, base, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.tokens == nil {
		return nil, fmt.Errorf("%w: no token source (use WithTokenSource)", ErrInvalidInput)
	}
	return &Client{
		cfg:    cfg,
		base:   base,
		limit:  ratelimit.NewWindow(cfg.clk, cfg.requests, cfg.interval),
		search: ratelimit.NewWindow(cfg.clk, cfg.searchRequests, cfg.searchInterval),
		status: &statusBox{},
	}, nil
}

// Version returns the API generation the client calls.
func (c *Client) Version() Version { return c.cfg.version }

// RateLimit returns the request budget in force: at most n requests in any window of length per.
// It starts at [WithRateLimit]'s value and follows HubSpot's rate-limit headers.
func (c *Client) RateLimit() (n int, per time.Duration) { return c.limit.Limit() }

// contactsPath returns the contacts collection path of the selected generation.
func (c *Client) contactsPath() string {
	if c.cfg.version == VersionV3 {
		return "/crm/v3/objects/contacts"
	}
	return "/crm/objects/" + string(c.cfg.version) + "/contacts"
}

// propertiesPath returns the contact properties path of the selected generation.
func (c *Client) propertiesPath() string {
	if c.cfg.version == VersionV3 {
		return "/crm/v3/properties/contacts"
	}
	return "/crm/properties/" + string(c.cfg.version) + "/contacts"
}

// oauthPath returns the OAuth token path of the selected generation (/oauth/v3/token or
// /oauth/2026-03/token); suffix is "", "/introspect" or "/revoke".
func oauthPath(v Version, suffix string) string {
	return "/oauth/" + string(v) + "/token" + suffix
}
