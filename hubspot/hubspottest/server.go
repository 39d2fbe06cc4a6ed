// Package hubspottest is a stateful, in-process HubSpot for tests, benchmarks and the quickstart:
// OAuth, contacts, contact properties, both timeline flavours, rate limits with HubSpot's headers
// and 429 bodies, fault injection, and a webhook emitter that signs deliveries like HubSpot.
//
// It speaks both API generations (v3 and 2026-03 paths) over real HTTP. It starts empty except
// for HubSpot's default contact properties and one installed app; admin methods seed contacts,
// edit the property schema, mint and revoke tokens, set limits and inject faults. Requests to
// routes it does not know get a 404 and are counted in [Stats.Unknown], so a test can fail on them.
package hubspottest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/internal/bodyfault"
)

// Defaults of a new Server.
const (
	DefaultClientID     = "fake-client-id"
	DefaultClientSecret = "fake-client-secret"
	DefaultAppID        = 4242
	DefaultPortalID     = 62515
	DefaultHubDomain    = "fake-portal.hubspot.com"
	DefaultTokenTTL     = 30 * time.Minute
)

// Server is the fake HubSpot. Create it with [NewServer] and stop it with Close. All methods are
// safe for concurrent use.
type Server struct {
	// URL is the base URL to give the client (its WithBaseURL and WithAuthorizeURL, the latter
	// with /oauth/authorize appended).
	URL string

	srv *httptest.Server
	clk clock.Clock
	mux *http.ServeMux

	mu        sync.Mutex
	cfg       options
	codes     map[string]codeGrant
	access    map[string]accessGrant
	refresh   map[string]bool // refresh token -> still valid
	contacts  map[int64]*contact
	byEmail   map[string]int64
	nextID    int64
	props     map[string]*Property
	propOrder []string
	events    map[string]*TimelineEvent // key: flavour|type|id
	eventList []string
	window    []time.Time // rolling window of counted requests
	searchWin []time.Time
	rateLog   []time.Time // with WithRateLog: every request counted against the burst limit (ratelog.go)
	stats     Stats
	faults    []*Fault
	hooks     webhookState
	timeCache map[string]float64 // parsed date values, for search
	journal   journalState       // the Webhooks Journal (journal.go)
}

type options struct {
	clk            clock.Clock
	clientID       string
	clientSecret   string
	appID          int64
	portalID       int64
	hubDomain      string
	tokenTTL       time.Duration
	limitN         int
	limitPer       time.Duration
	searchN        int
	searchPer      time.Duration
	partialUpserts bool
	searchCap      int
	rateLog        bool
	tokenPrefix    string             // fleet.go
	onWrite        func(ContactWrite) // fleet.go
}

// Option configures a Server.
type Option func(*options)

// WithClock sets the server's clock (token expiry, rate windows, injected latency, timestamps).
// Default: real time.
func WithClock(c clock.Clock) Option { return func(o *options) { o.clk = c } }

// WithApp sets the installed app's client id, client secret (which also signs webhooks) and id.
func WithApp(clientID, clientSecret string, appID int64) Option {
	return func(o *options) { o.clientID, o.clientSecret, o.appID = clientID, clientSecret, appID }
}

// WithPortal sets the portal's hub id and domain.
func WithPortal(id int64, domain string) Option {
	return func(o *options) { o.portalID, o.hubDomain = id, domain }
}

// WithTokenTTL sets the access token lifetime (expires_in), 30 minutes by default.
func WithTokenTTL(d time.Duration) Option { return func(o *options) { o.tokenTTL = d } }

// WithRateLimit sets the burst limit: at most n requests in any rolling window of length per
// (110 per 10 s by default, HubSpot's limit for a public app per portal). n <= 0 disables it.
func WithRateLimit(n int, per time.Duration) Option {
	return func(o *options) { o.limitN, o.limitPer = n, per }
}

// WithSearchRateLimit sets the search limit (5 per second by default). n <= 0 disables it.
func WithSearchRateLimit(n int, per time.Duration) Option {
	return func(o *options) { o.searchN, o.searchPer = n, per }
}

// WithPartialUpserts makes batch upsert answer 207 with per-input errors instead of failing the
// whole batch when some inputs are invalid. HubSpot documents that partial upserts by email are not
// supported (so the default fails the whole batch), but 207 answers are in the spec; the client
// must handle both.
func WithPartialUpserts(on bool) Option { return func(o *options) { o.partialUpserts = on } }

// WithSearchCap lowers the number of results one search query can page through (10,000, as
// HubSpot, by default), so a test can walk past the cap with fewer contacts.
func WithSearchCap(n int) Option { return func(o *options) { o.searchCap = n } }

// Stats counts what the server saw.
type Stats struct {
	Requests    int            // every request, including refused ones
	RateLimited int            // 429 answers (rate limits and injected 429s)
	Unknown     int            // requests to routes the fake does not know
	Faults      int            // requests answered by an injected fault
	ByRoute     map[string]int // requests per route pattern
	MaxInWindow int            // most requests seen in one rolling window of the burst limit
}

// NewServer starts a fake HubSpot on a loopback port.
func NewServer(opts ...Option) *Server {
	o := options{
		clientID: DefaultClientID, clientSecret: DefaultClientSecret, appID: DefaultAppID,
		portalID: DefaultPortalID, hubDomain: DefaultHubDomain, tokenTTL: DefaultTokenTTL,
		limitN: 110, limitPer: 10 * time.Second, searchN: 5, searchPer: time.Second, searchCap: SearchCap,
	}
	for _, f := range opts {
		f(&o)
	}
	s := &Server{
		clk:      clock.Or(o.clk),
		cfg:      o,
		codes:    map[string]codeGrant{},
		access:   map[string]accessGrant{},
		refresh:  map[string]bool{},
		contacts: map[int64]*contact{},
		byEmail:  map[string]int64{},
		nextID:   100,
		props:    map[string]*Property{},
		events:   map[string]*TimelineEvent{},
		stats:    Stats{ByRoute: map[string]int{}},

		timeCache: map[string]float64{},
	}
	for _, p := range defaultProperties() {
		s.addPropertyLocked(p)
	}
	s.mux = http.NewServeMux()
	s.routes()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down, waiting for requests in flight.
func (s *Server) Close() {
	s.hooks.stop()
	s.srv.Close()
}

// Clock returns the server's clock.
func (s *Server) Clock() clock.Clock { return s.clk }

// ClientSecret returns the installed app's client secret (it signs webhook deliveries).
func (s *Server) ClientSecret() string { return s.cfg.clientSecret }

// ClientID returns the installed app's client id.
func (s *Server) ClientID() string { return s.cfg.clientID }

// AppID returns the installed app's id.
func (s *Server) AppID() int64 { return s.cfg.appID }

// PortalID returns the portal's hub id.
func (s *Server) PortalID() int64 { return s.cfg.portalID }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByRoute = make(map[string]int, len(s.stats.ByRoute))
	for k, v := range s.stats.ByRoute {
		st.ByRoute[k] = v
	}
	return st
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{ByRoute: map[string]int{}}
}

// SetRateLimit changes the burst limit (n <= 0 disables it) and forgets the current window.
func (s *Server) SetRateLimit(n int, per time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.limitN, s.cfg.limitPer, s.window = n, per, nil
}

// SetSearchRateLimit changes the search limit (n <= 0 disables it).
func (s *Server) SetSearchRateLimit(n int, per time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.searchN, s.cfg.searchPer, s.searchWin = n, per, nil
}

// SetPartialUpserts switches between whole-batch failures and 207 answers (see WithPartialUpserts).
func (s *Server) SetPartialUpserts(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.partialUpserts = on
}

// Fault is an injected misbehaviour for the next matching requests.
type Fault struct {
	PathPrefix string        // requests whose path starts with it; "" matches all (OAuth included)
	Status     int           // answer with this status and HubSpot's body for it (0: answer normally after Latency)
	Policy     string        // for Status 429: TEN_SECONDLY_ROLLING (default), SECONDLY or DAILY
	RetryAfter time.Duration // sets a Retry-After header (477 and friends)
	Latency    time.Duration // wait this long on the server clock before answering
	Drop       bool          // close the connection without an answer (the request is not carried out)
	// TruncateBody carries the request out (a write lands), then sends the status line, the
	// headers and half of the JSON body, and closes the connection: a reset mid-body.
	TruncateBody bool
	// SlowBody carries the request out, then sends the body one byte every SlowBody of the server
	// clock (until the client gives up): a body slow enough for the client's timeout to end it.
	SlowBody time.Duration
	Times    int // how many requests it hits; 0 means 1
}

// InjectFault queues f; faults apply in the order injected, each to its next Times matching requests.
func (s *Server) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// takeFault returns the first fault matching path, consuming one use.
func (s *Server) takeFault(path string) *Fault {
	for i, f := range s.faults {
		if strings.HasPrefix(path, f.PathPrefix) {
			cp := *f
			f.Times--
			if f.Times <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return &cp
		}
	}
	return nil
}

// route describes how a registered handler is guarded.
type route struct {
	pattern string
	auth    bool // needs a bearer token
	search  bool // search lane: its own limit, no rate headers
	h       func(w http.ResponseWriter, r *http.Request)
}

func (s *Server) handle(rt route) {
	s.mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) { s.guard(rt, w, r) })
}

// serve counts the request, applies faults, then dispatches.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	f := s.takeFault(r.URL.Path)
	if f != nil && (f.Status != 0 || f.Drop || f.spoilsBody()) {
		s.stats.Faults++
		if f.Status == http.StatusTooManyRequests {
			s.stats.RateLimited++
		}
	}
	s.mu.Unlock()
	if f != nil {
		if f.Latency > 0 {
			bodyfault.ReadAhead(r) // so a client that gives up ends the wait
			if clock.Sleep(r.Context(), s.clk, f.Latency) != nil {
				return
			}
		}
		if f.Drop {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		if f.Status != 0 {
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
			}
			if f.Status == http.StatusTooManyRequests {
				writeRateLimited(w, f.Policy)
				return
			}
			writeError(w, f.Status, faultCategory(f.Status), fmt.Sprintf("injected fault: HTTP %d", f.Status), nil)
			return
		}
		if f.spoilsBody() {
			s.spoilBody(w, r, f)
			return
		}
	}
	s.dispatch(w, r)
}

// dispatch answers r from the routes, or with a 404 counted in Stats.Unknown.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		s.mu.Lock()
		s.stats.Unknown++
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", fmt.Sprintf("hubspottest: no route for %s %s", r.Method, r.URL.Path), nil)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func faultCategory(status int) string {
	switch {
	case status == http.StatusLocked:
		return "LOCKED"
	case status == 477:
		return "MIGRATION_IN_PROGRESS"
	case status >= 500:
		return "INTERNAL_ERROR"
	}
	return "VALIDATION_ERROR"
}

// guard authenticates and rate-limits a request, then runs the handler.
func (s *Server) guard(rt route, w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.ByRoute[rt.pattern]++
	now := s.clk.Now()
	if rt.auth {
		if status, cat, msg := s.checkAuthLocked(r, now); status != 0 {
			s.mu.Unlock()
			w.Header().Set("X-HubSpot-Auth-Failure", "401 Unauthorized")
			writeError(w, status, cat, msg, nil)
			return
		}
	}
	if rt.search {
		if s.cfg.searchN > 0 {
			s.searchWin = prune(s.searchWin, now, s.cfg.searchPer)
			if len(s.searchWin) >= s.cfg.searchN {
				s.stats.RateLimited++
				s.mu.Unlock()
				writeRateLimited(w, "SECONDLY")
				return
			}
			s.searchWin = append(s.searchWin, now)
		}
	} else if rt.auth && s.cfg.limitN > 0 {
		s.window = prune(s.window, now, s.cfg.limitPer)
		if len(s.window) >= s.cfg.limitN {
			s.stats.RateLimited++
			setRateHeaders(w, s.cfg.limitN, 0, s.cfg.limitPer)
			s.mu.Unlock()
			writeRateLimited(w, "TEN_SECONDLY_ROLLING")
			return
		}
		s.window = append(s.window, now)
		if s.cfg.rateLog {
			s.rateLog = append(s.rateLog, now)
		}
		s.stats.MaxInWindow = max(s.stats.MaxInWindow, len(s.window))
		setRateHeaders(w, s.cfg.limitN, s.cfg.limitN-len(s.window), s.cfg.limitPer)
	}
	s.mu.Unlock()
	w.Header().Set("X-HubSpot-Correlation-Id", newUUID())
	rt.h(w, r)
}

// prune drops the times that left the rolling window (now-per, now].
func prune(win []time.Time, now time.Time, per time.Duration) []time.Time {
	i := 0
	for i < len(win) && !win[i].After(now.Add(-per)) {
		i++
	}
	return win[i:]
}

func setRateHeaders(w http.ResponseWriter, n, remaining int, per time.Duration) {
	h := w.Header()
	h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(n))
	h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
	h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(per.Milliseconds(), 10))
}

// writeRateLimited writes HubSpot's 429 body for a policy. HubSpot's documented body has no
// "category"; the fake adds one (RATE_LIMITS) because the OpenAPI Error schema requires it.
func writeRateLimited(w http.ResponseWriter, policy string) {
	if policy == "" {
		policy = "TEN_SECONDLY_ROLLING"
	}
	msg := map[string]string{
		"DAILY":                "You have reached your daily limit.",
		"SECONDLY":             "You have reached your secondly limit.",
		"TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
	}[policy]
	if msg == "" {
		msg = "You have reached your limit."
	}
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"status": "error", "message": msg, "errorType": "RATE_LIMIT", "category": "RATE_LIMITS",
		"correlationId": newUUID(), "policyName": policy, "requestId": newUUID(),
	})
}

// errorDetail is one entry of an error body's errors list.
type errorDetail struct {
	Message string              `json:"message"`
	Code    string              `json:"code,omitempty"`
	Context map[string][]string `json:"context,omitempty"`
}

func writeError(w http.ResponseWriter, status int, category, message string, details []errorDetail, ctx ...map[string][]string) {
	body := map[string]any{"status": "error", "message": message, "correlationId": newUUID(), "category": category}
	if len(details) > 0 {
		body["errors"] = details
	}
	if len(ctx) > 0 && ctx[0] != nil {
		body["context"] = ctx[0]
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// newUUID returns a random RFC 4122 version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// randomToken returns an unguessable token string with a prefix.
func randomToken(prefix string) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%x", prefix, b)
}

// decodeJSON reads a JSON request body, answering 400 itself when it is malformed.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20))
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON on line 1: "+err.Error(), nil)
		return false
	}
	return true
}

// isTimeout is used by the webhook emitter to classify delivery failures.
func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
