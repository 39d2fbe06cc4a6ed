package learnworlds

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/internal/ratelimit"
)

// Defaults of Config.
const (
	// DefaultRateLimit and DefaultRatePer are the documented LearnWorlds limit: 30 requests / 10 s.
	DefaultRateLimit = 30
	DefaultRatePer   = 10 * time.Second
	// DefaultMaxRetries is how many times one call is repeated after a 429 or a 5xx.
	DefaultMaxRetries = 5
	// DefaultMaxBackoff caps the wait between two tries when the answer has no Retry-After, and
	// is the longest Retry-After the client waits through by itself.
	DefaultMaxBackoff = 10 * time.Second
	// DefaultTokenLeeway is how long before expires_in a cached token is replaced.
	DefaultTokenLeeway = 60 * time.Second
	// DefaultTimeout bounds one request, body included, when Config.HTTPClient is nil.
	DefaultTimeout = 30 * time.Second
	// apiPath is where the API lives under a school's domain.
	apiPath = "/admin/api"
)

// MaxRetryAfter caps every Retry-After the client reads (APIError.RetryAfter) and so every wait it
// takes from the API: a longer value, or one too large for a time.Duration, is taken as
// MaxRetryAfter; a negative one, or a date in the past, as zero. LearnWorlds documents no
// Retry-After and no long waits, only a limit of 30 requests per 10 s, so an hour is far beyond
// anything it should ask for; the engine accepts up to hubsync.RetryAfterMax.
const MaxRetryAfter = 1 * time.Hour

// Config configures a Client for one school.
type Config struct {
	// BaseURL is the school's address: "https://school.learnworlds.com", a custom domain, or the API
	// URL shown under Settings > Developers > API ("https://school.com/admin/api"). Required.
	BaseURL string
	// ClientID is the API client id; it is sent as the Lw-Client header on every call. Required.
	ClientID string
	// ClientSecret mints tokens with the client-credentials grant. Either it or AccessToken is needed.
	ClientSecret string
	// AccessToken, when set, is used as is and never minted (no re-mint on 401).
	AccessToken string
	// HTTPClient sends the requests; nil means a client with a DefaultTimeout timeout. A client
	// without a timeout lets one hung request (a server that never answers, a body that trickles)
	// hold its caller forever.
	HTTPClient *http.Client
	// Clock drives rate limiting, backoff and token expiry; nil means real time.
	Clock clock.Clock
	// RateLimit requests per RatePer are the client's budget; zero means DefaultRateLimit per
	// DefaultRatePer. The limit is per school, so share one Client per school.
	RateLimit int
	RatePer   time.Duration
	// MaxRetries bounds the repeats after a 429 or 5xx; zero means DefaultMaxRetries, negative none.
	MaxRetries int
	// MaxBackoff caps exponential backoff, and is the longest Retry-After the client waits through
	// before a retry; a longer one returns the *APIError at once, RetryAfter set, for the caller to
	// reschedule (the Learners adapter hands it to the engine as hubsync.RetryAfter). Zero means
	// DefaultMaxBackoff.
	MaxBackoff time.Duration
	// Logger receives retry and token messages (never a token, secret or full email); nil discards.
	Logger *slog.Logger
}

// Client calls the LearnWorlds API v2 of one school. It is safe for concurrent use.
type Client struct {
	base       *url.URL // ends with /admin/api, no trailing slash
	clientID   string
	secret     string
	static     string
	hc         *http.Client
	clk        clock.Clock
	lim        *ratelimit.Window // pacing: see below
	maxRetries int
	maxBackoff time.Duration
	log        *slog.Logger

	tokMu  sync.Mutex
	tok    string
	tokExp time.Time
}

// New checks cfg and returns a Client. It returns an error wrapping ErrConfig naming the problem
// when BaseURL is not an absolute http(s) URL, ClientID is empty, or neither ClientSecret nor
// AccessToken is set.
func New(cfg Config) (*Client, error) {
	base, err := apiBase(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, fmt.Errorf("%w: ClientID is empty (it is sent as the Lw-Client header)", ErrConfig)
	}
	if cfg.ClientSecret == "" && cfg.AccessToken == "" {
		return nil, fmt.Errorf("%w: set ClientSecret (client-credentials grant) or AccessToken", ErrConfig)
	}
	if cfg.RateLimit < 0 || cfg.RatePer < 0 {
		return nil, fmt.Errorf("%w: RateLimit %d per %v is negative", ErrConfig, cfg.RateLimit, cfg.RatePer)
	}
	n, per := cfg.RateLimit, cfg.RatePer
	if n == 0 {
		n = DefaultRateLimit
	}
	if per == 0 {
		per = DefaultRatePer
	}
	c := &Client{
		base: base, clientID: cfg.ClientID, secret: cfg.ClientSecret, static: cfg.AccessToken,
		hc: cfg.HTTPClient, clk: clock.Or(cfg.Clock), maxRetries: cfg.MaxRetries, maxBackoff: cfg.MaxBackoff,
		log: cfg.Logger,
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: DefaultTimeout}
	}
	if c.maxRetries == 0 {
		c.maxRetries = DefaultMaxRetries
	} else if c.maxRetries < 0 {
		c.maxRetries = 0
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = DefaultMaxBackoff
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.lim = ratelimit.NewWindow(c.clk, n, per)
	return c, nil
}

// apiBase turns a school URL into the API base ending in /admin/api.
func apiBase(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf("%w: BaseURL is empty (want the school's address, such as https://school.learnworlds.com)", ErrConfig)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: BaseURL %q: %v", ErrConfig, raw, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: BaseURL %q is not an absolute http(s) URL", ErrConfig, raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: BaseURL %q must not have a query or fragment", ErrConfig, raw)
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, apiPath) {
		p += apiPath
	}
	u.Path, u.RawPath = p, ""
	return u, nil
}

// Pacing. Every request, the token request included, holds one of the school's n slots from
// before it is sent until per (plus a small skew allowance) after its answer arrived, since the
// school counted it somewhere in between (ratelimit.Window). So the school's rolling window never
// holds more than n of the client's requests, however the network delays them, while a
// backlogged client sends n in every per plus one answer time. A 429 pauses the window: every
// call of the client waits out its Retry-After (or the backoff, when it has none).

// RateLimit returns the client's budget: at most n requests in any window of length per.
func (c *Client) RateLimit() (n int, per time.Duration) { return c.lim.Limit() }

// SetRateLimit changes the client's budget (for example for a school on a higher plan). n < 1 and
// per <= 0 are treated as 1 request a second, and a window longer than a day as a day, never as
// unlimited.
func (c *Client) SetRateLimit(n int, per time.Duration) { c.lim.SetLimit(n, per) }
