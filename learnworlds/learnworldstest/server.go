// Package learnworldstest is a stateful, in-process fake of the LearnWorlds API v2 for tests,
// benchmarks and demos: the client-credentials token endpoint, users (listing with the real paging
// quirk, get by id or email, create with unique email and username, update, tags), payments, the
// 30 requests / 10 s limit with the real 429 body, every documented error shape including 422 field
// errors, fault injection (status, body, Retry-After, latency), custom fields with validation rules,
// and a webhook emitter that POSTs signed v2 envelopes when the test registers, updates, enrolls,
// charges, completes, tags or certifies a learner (and, with [WithAPIWriteWebhooks], when a client
// changes one through the API), and repeats a delivery on demand ([Server.Redeliver]).
//
// It starts empty; it fails unknown routes with a 404 and records them ([Server.UnknownRoutes]);
// time comes from an injected clock. Where the real API's behaviour is undocumented the fake picks
// one documented-looking answer and says so on the option or method concerned.
package learnworldstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/internal/bodyfault"
)

// Defaults of a new Server.
const (
	DefaultClientID     = "lw-test-client"
	DefaultClientSecret = "lw-test-secret"
	DefaultSchoolID     = "60004a6de11ac0798538ccc2"
	DefaultRateLimit    = 30
	DefaultRatePer      = 10 * time.Second
	DefaultTokenTTL     = 8000 * time.Second
	// APIPath is where the API lives under the school's address.
	APIPath = "/admin/api"
)

// The documented bodies the fake answers with.
const (
	bodyTooMany  = `{"error":"Too many requests"}`
	bodyServer   = `{"error":"Server Error"}`
	bodyNotFound = `{"error":"Sorry the resource your trying to access does not exist."}`
	bodyDenied   = `{"errors":[{"code":400,"context":"access_denied","message":"The resource owner or authorization server denied the request."}],"success":false}`
)

// Server is the fake LearnWorlds school. Create it with [NewServer]; all methods are safe for
// concurrent use.
type Server struct {
	// URL is the school's address (give it to learnworlds.Config.BaseURL); the API is at URL+APIPath.
	URL string
	// ClientID and ClientSecret are the credentials the token endpoint accepts.
	ClientID, ClientSecret string
	// SchoolID goes into webhook envelopes.
	SchoolID string

	srv *httptest.Server
	clk clock.Clock
	hc  *http.Client

	mu          sync.Mutex
	seq         int
	users       []*User // creation order
	byID        map[string]*User
	byEmail     map[string]*User // lower-cased
	byUsername  map[string]*User // lower-cased
	payments    []Payment        // creation order
	fields      map[string]FieldRule
	tokens      map[string]time.Time
	tokenTTL    time.Duration
	badTokenSt  int
	limitN      int
	limitPer    time.Duration
	arrivals    []time.Time
	retryAfter  time.Duration
	faults      []*Fault
	stats       Stats
	unknown     []string
	hookURL     string
	hookSecret  string
	hookHMAC    bool
	hookWrites  bool
	replaceFlds bool
	deliveries  []Delivery
	lastRequest map[string]json.RawMessage
}

// Option configures a Server.
type Option func(*Server)

// WithClock sets the clock for token expiry, the rate-limit window, timestamps and latency faults.
func WithClock(c clock.Clock) Option { return func(s *Server) { s.clk = clock.Or(c) } }

// WithCredentials sets the client id and secret the token endpoint accepts.
func WithCredentials(id, secret string) Option {
	return func(s *Server) { s.ClientID, s.ClientSecret = id, secret }
}

// WithRateLimit sets the limit: at most n requests in any window of length per (a rolling window,
// the strictest reading of "30 requests / 10 sec"); requests over it get 429 {"error":"Too many
// requests"} and are not counted. n <= 0 disables the limit.
func WithRateLimit(n int, per time.Duration) Option {
	return func(s *Server) { s.limitN, s.limitPer = n, per }
}

// WithRetryAfter makes 429 answers carry a Retry-After header of d (rounded up to whole seconds, at
// least 1). The real API documents no such header, so by default there is none.
func WithRetryAfter(d time.Duration) Option { return func(s *Server) { s.retryAfter = d } }

// WithTokenTTL sets the expires_in of minted tokens (default 8000 s, the documented example).
func WithTokenTTL(d time.Duration) Option { return func(s *Server) { s.tokenTTL = d } }

// WithBadTokenStatus sets the status of the answer to a bad or expired token: 401 (default) or 400;
// the documentation shows the body but sources disagree on the status.
func WithBadTokenStatus(code int) Option { return func(s *Server) { s.badTokenSt = code } }

// WithWebhook sets the target URL of webhook deliveries and the signature secret. With hmacSig false
// the header is the static "v1=<secret>" (the documented pre-shared value); with true it is
// "v1=" + hex(HMAC-SHA256(secret, body)).
func WithWebhook(target, secret string, hmacSig bool) Option {
	return func(s *Server) { s.hookURL, s.hookSecret, s.hookHMAC = target, secret, hmacSig }
}

// WithAPIWriteWebhooks makes changes made through the API emit the webhooks a change in the school
// does: creating a user (POST /v2/users) and updating one (PUT /v2/users/{id}) emit userUpdated,
// attaching or detaching tags (PUT /v2/users/{id}/tags) userTagAdded or userTagDeleted. That is
// how a client's own write comes back to it as an echo. Whether the real school sends webhooks
// for API writes is undocumented, so by default the fake does not. Each webhook is delivered
// before the API call is answered; a failed delivery is recorded (Deliveries) and does not change
// the answer.
func WithAPIWriteWebhooks() Option { return func(s *Server) { s.hookWrites = true } }

// WithFieldsReplaced makes PUT /v2/users/{id} replace the learner's whole "fields" object with the
// one sent, instead of merging it key by key (the default). The real API's behaviour is not
// documented, so a client must keep every field under both; tests run it both ways.
func WithFieldsReplaced() Option { return func(s *Server) { s.replaceFlds = true } }

// WithSchoolID sets the school id sent in webhook envelopes.
func WithSchoolID(id string) Option { return func(s *Server) { s.SchoolID = id } }

// NewServer starts a fake school on a loopback address. Close it when done (t.Cleanup(s.Close)).
func NewServer(opts ...Option) *Server {
	s := &Server{
		ClientID: DefaultClientID, ClientSecret: DefaultClientSecret, SchoolID: DefaultSchoolID,
		clk: clock.Real(), hc: &http.Client{Timeout: 30 * time.Second},
		byID: map[string]*User{}, byEmail: map[string]*User{}, byUsername: map[string]*User{},
		fields: map[string]FieldRule{}, tokens: map[string]time.Time{}, tokenTTL: DefaultTokenTTL,
		badTokenSt: http.StatusUnauthorized, limitN: DefaultRateLimit, limitPer: DefaultRatePer,
		lastRequest: map[string]json.RawMessage{},
	}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Client returns an *http.Client that talks to the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Stats counts what the server saw.
type Stats struct {
	// Requests counts every request, rejected ones included.
	Requests int
	// RateLimited counts 429 answers of the rate limit (not injected ones).
	RateLimited int
	// TokensMinted counts successful token requests.
	TokensMinted int
	// Faults counts injected faults served.
	Faults int
	// Writes counts API requests that change the school (any method but GET), token requests
	// not included: a test that must write nothing checks it stays 0.
	Writes int
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// UnknownRoutes lists "METHOD path" of requests to routes the fake does not serve.
func (s *Server) UnknownRoutes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unknown...)
}

// SetRateLimit changes the limit (see WithRateLimit) and forgets the window.
func (s *Server) SetRateLimit(n int, per time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limitN, s.limitPer, s.arrivals = n, per, nil
}

// RevokeTokens makes every token issued so far invalid (the next call with one gets the bad-token
// answer).
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// IssueToken returns a valid access token without a request, for clients configured with a static
// token.
func (s *Server) IssueToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked()
}

func (s *Server) issueLocked() string {
	s.seq++
	tok := fmt.Sprintf("tok%08dX%s", s.seq, strings.Repeat("k", 20))
	s.tokens[tok] = s.clk.Now().Add(s.tokenTTL)
	return tok
}

// Fault is an injected failure. The first matching fault with uses left answers the request.
type Fault struct {
	// Method and Path select requests ("" matches all); Path is a prefix of the path under the API
	// base, such as "/v2/users" or "/oauth2/access_token".
	Method, Path string
	// Status is the answer's status; 0 answers normally after Latency. A Status of 200 with a Body
	// like {"success":false,...} imitates the API's 200-with-failure answers.
	Status int
	// Body is the answer; empty means the documented body for the status.
	Body string
	// RetryAfter, when not empty, is sent as the Retry-After header.
	RetryAfter string
	// Latency is waited (on the server's clock) before answering.
	Latency time.Duration
	// TruncateBody, with Status 0, carries the request out (a write lands), then sends the status
	// line, the headers and half of the JSON body, and closes the connection: a reset mid-body.
	TruncateBody bool
	// SlowBody, with Status 0, carries the request out, then sends the body one byte every
	// SlowBody of the server's clock (until the client gives up): a body slow enough for the
	// client's timeout to end it.
	SlowBody time.Duration
	// Times is how many requests the fault hits; 0 means 1, negative means forever.
	Times int
}

// InjectFault adds a fault.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// LastRequestBody returns the JSON body of the last request with this method and API path
// pattern ("PUT /v2/users/{id}"), or nil.
func (s *Server) LastRequestBody(route string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastRequest[route]
}

// serve is the router: rate limit, faults, auth, then the route.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.EscapedPath(), APIPath)
	if !ok {
		s.notFound(w, r)
		return
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range segs {
		if u, err := url.PathUnescape(seg); err == nil {
			segs[i] = u
		}
	}
	s.mu.Lock()
	s.stats.Requests++
	if s.overLimitLocked() {
		s.stats.RateLimited++
		ra := s.retryAfter
		s.mu.Unlock()
		if ra > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int((ra+time.Second-1)/time.Second)))
		}
		writeRaw(w, http.StatusTooManyRequests, bodyTooMany)
		return
	}
	f := s.faultLocked(r.Method, path)
	s.mu.Unlock()
	if f != nil {
		if f.Latency > 0 {
			bodyfault.ReadAhead(r) // so a client that gives up ends the wait
			if err := clock.Sleep(r.Context(), s.clk, f.Latency); err != nil {
				return
			}
		}
		if f.Status != 0 {
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			body := f.Body
			if body == "" {
				body = defaultBody(f.Status)
			}
			writeRaw(w, f.Status, body)
			return
		}
		if f.spoilsBody() {
			s.spoilBody(w, r, f, func(w http.ResponseWriter) { s.route(w, r, path, segs) })
			return
		}
	}
	s.route(w, r, path, segs)
}

// route answers an API request that passed the rate limit and the faults.
func (s *Server) route(w http.ResponseWriter, r *http.Request, path string, segs []string) {
	switch {
	case r.Method == http.MethodPost && path == "/oauth2/access_token":
		s.handleToken(w, r)
		return
	case len(segs) >= 2 && segs[0] == "v2" && (segs[1] == "users" || segs[1] == "payments"):
	default:
		s.notFound(w, r)
		return
	}
	if !s.authorized(w, r) {
		return
	}
	if r.Method != http.MethodGet {
		s.mu.Lock()
		s.stats.Writes++
		s.mu.Unlock()
	}
	switch {
	case segs[1] == "users" && len(segs) == 2 && r.Method == http.MethodGet:
		s.handleListUsers(w, r)
	case segs[1] == "users" && len(segs) == 2 && r.Method == http.MethodPost:
		s.handleCreateUser(w, r)
	case segs[1] == "users" && len(segs) == 3 && r.Method == http.MethodGet:
		s.handleGetUser(w, r, segs[2])
	case segs[1] == "users" && len(segs) == 3 && r.Method == http.MethodPut:
		s.handleUpdateUser(w, r, segs[2])
	case segs[1] == "users" && len(segs) == 4 && segs[3] == "tags" && r.Method == http.MethodPut:
		s.handleTags(w, r, segs[2])
	case segs[1] == "payments" && len(segs) == 2 && r.Method == http.MethodGet:
		s.handlePayments(w, r)
	default:
		s.notFound(w, r)
	}
}

// overLimitLocked reports whether one more request would exceed the rolling window, and records the
// request when it would not.
func (s *Server) overLimitLocked() bool {
	if s.limitN <= 0 {
		return false
	}
	now := s.clk.Now()
	cut := now.Add(-s.limitPer)
	i := 0
	for i < len(s.arrivals) && !s.arrivals[i].After(cut) {
		i++
	}
	s.arrivals = s.arrivals[i:]
	if len(s.arrivals) >= s.limitN {
		return true
	}
	s.arrivals = append(s.arrivals, now)
	return false
}

func (s *Server) faultLocked(method, path string) *Fault {
	for i, f := range s.faults {
		if (f.Method == "" || strings.EqualFold(f.Method, method)) && strings.HasPrefix(path, f.Path) {
			if f.Times > 0 {
				f.Times--
				if f.Times == 0 {
					s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
				}
			}
			s.stats.Faults++
			return f
		}
	}
	return nil
}

func defaultBody(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return bodyTooMany
	case status == http.StatusNotFound:
		return bodyNotFound
	case status == http.StatusUnauthorized || status == http.StatusBadRequest:
		return bodyDenied
	case status == http.StatusUnprocessableEntity:
		return `{"statusCode":422,"error":"Validation Failed","message":"Your input had some validation errors.","errors":{}}`
	case status >= 500:
		return bodyServer
	}
	return `{"success":false,"errors":[{"code":"500","context":null,"message":"injected failure"}]}`
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.unknown = append(s.unknown, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	writeJSON(w, http.StatusNotFound, map[string]any{"statusCode": 404, "error": "This resource is not found"})
}

// authorized checks Lw-Client and the bearer token, answering the documented error when wrong.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Lw-Client") != s.ClientID {
		writeJSON(w, http.StatusUnauthorized, errorsBody("401", nil, "Invalid client: the Lw-Client header is missing or unknown"))
		return false
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	exp, known := s.tokens[tok]
	now := s.clk.Now()
	st := s.badTokenSt
	s.mu.Unlock()
	if !ok || !known || !now.Before(exp) {
		writeRaw(w, st, bodyDenied)
		return false
	}
	return true
}

// handleToken serves POST /admin/api/oauth2/access_token: form field data holding JSON credentials.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody("400", nil, "The request body is not a form"))
		return
	}
	var creds struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		GrantType    string `json:"grant_type"`
	}
	if err := json.Unmarshal([]byte(r.PostForm.Get("data")), &creds); err != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody("400", ptr("invalid_request"), "The form field data must hold the JSON credentials"))
		return
	}
	if creds.GrantType != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, errorsBody("400", ptr("unsupported_grant_type"), "The authorization grant type is not supported by the authorization server."))
		return
	}
	if creds.ClientID != s.ClientID || creds.ClientSecret != s.ClientSecret || r.Header.Get("Lw-Client") != s.ClientID {
		writeJSON(w, http.StatusUnauthorized, errorsBody("401", ptr("invalid_client"), "Client authentication failed"))
		return
	}
	s.mu.Lock()
	tok := s.issueLocked()
	s.stats.TokensMinted++
	ttl := s.tokenTTL
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"tokenData": map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl / time.Second)},
		"errors":    []any{}, "success": true,
	})
}

func errorsBody(code string, context *string, msg string) map[string]any {
	return map[string]any{"errors": []any{map[string]any{"code": code, "context": context, "message": msg}}, "success": false}
}

func ptr[T any](v T) *T { return &v }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeRaw(w, http.StatusInternalServerError, bodyServer)
		return
	}
	writeRaw(w, status, string(b))
}

func writeRaw(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// now returns the clock's time as LearnWorlds timestamps it: Unix seconds with microseconds.
func (s *Server) stamp() float64 {
	t := s.clk.Now()
	return float64(t.UnixMicro()) / 1e6
}
