package learnworlds_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// learnersOf returns the adapter over one client of s, adjusted by mod.
func learnersOf(t *testing.T, s *learnworldstest.Server, mod func(*learnworlds.Config)) *learnworlds.Learners {
	t.Helper()
	l, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{
		school: {Client: newClient(t, s, mod), Catalog: testCatalog},
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// noRetries makes the client return the first error answer.
func noRetries(c *learnworlds.Config) { c.MaxRetries = -1 }

// adapterCalls are the Learners methods that call the API, each run once against the fake.
var adapterCalls = []struct {
	name   string
	method string // of the request the fault hits
	path   string
	call   func(ctx context.Context, l *learnworlds.Learners) error
}{
	{"GetByEmail", http.MethodGet, "/v2/users", func(ctx context.Context, l *learnworlds.Learners) error {
		_, err := l.GetByEmail(ctx, school, "ann@example.com")
		return err
	}},
	{"ListPage", http.MethodGet, "/v2/users", func(ctx context.Context, l *learnworlds.Learners) error {
		_, err := l.ListPage(ctx, school, "")
		return err
	}},
	{"Update", http.MethodPut, "/v2/users", func(ctx context.Context, l *learnworlds.Learners) error {
		_, err := l.Update(ctx, school, "ann-id", map[string]any{"cf_skill": "Go"})
		return err
	}},
	{"Create", http.MethodPost, "/v2/users", func(ctx context.Context, l *learnworlds.Learners) error {
		_, err := l.Create(ctx, school, hubsync.NewLearner{Email: "bo@example.com"})
		return err
	}},
	{"AddTags", http.MethodPut, "/v2/users", func(ctx context.Context, l *learnworlds.Learners) error {
		return l.AddTags(ctx, school, "ann-id", []string{"vip"})
	}},
	{"token", http.MethodPost, "/oauth2/access_token", func(ctx context.Context, l *learnworlds.Learners) error {
		_, err := l.GetByEmail(ctx, school, "ann@example.com")
		return err
	}},
}

// seedAnn adds the learner the calls above read and write, and returns the fake.
func seedAnn(t *testing.T, opts ...learnworldstest.Option) *learnworldstest.Server {
	t.Helper()
	s := newFake(t, opts...)
	if _, err := s.AddUser(learnworldstest.User{ID: "ann-id", Email: "ann@example.com", Username: "ann"}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLearnersRetryAfterReachesTheEngine: a 429 or 503 with Retry-After, through every adapter
// method (and the token request behind them), comes back as hubsync.RetryAfter with that delay,
// still matching hubsync.ErrUnavailable and still an *APIError underneath.
func TestLearnersRetryAfterReachesTheEngine(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		for _, tc := range adapterCalls {
			t.Run(http.StatusText(status)+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := seedAnn(t)
				// 120 s is beyond MaxBackoff: the client hands it back at once rather than wait.
				s.InjectFault(learnworldstest.Fault{Method: tc.method, Path: tc.path, Status: status, RetryAfter: "120"})
				err := tc.call(t.Context(), learnersOf(t, s, nil))
				var ra *hubsync.RetryAfterError
				if !errors.As(err, &ra) || ra.Delay != 120*time.Second {
					t.Fatalf("err = %v, want a hubsync.RetryAfterError with Delay 2m0s", err)
				}
				if !errors.Is(err, hubsync.ErrUnavailable) {
					t.Errorf("errors.Is(%v, hubsync.ErrUnavailable) = false", err)
				}
				var apiErr *learnworlds.APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
					t.Errorf("err = %v, want the %d *APIError inside", err, status)
				}
			})
		}
	}
}

// TestLearnersRetryAfterIsCapped: a Retry-After that overflowed time.Duration reaches the engine
// as MaxRetryAfter; one within MaxBackoff but past the retries reaches it as sent.
func TestLearnersRetryAfterIsCapped(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		header string
		want   time.Duration
	}{{"1000000000000", learnworlds.MaxRetryAfter}, {"5", 5 * time.Second}} {
		s := seedAnn(t)
		s.InjectFault(learnworldstest.Fault{Path: "/v2/users", Status: 429, RetryAfter: tt.header})
		_, err := learnersOf(t, s, noRetries).GetByEmail(t.Context(), school, "ann@example.com")
		var ra *hubsync.RetryAfterError
		if !errors.As(err, &ra) || ra.Delay != tt.want {
			t.Errorf("Retry-After %q: err = %v, want a RetryAfterError with Delay %v", tt.header, err, tt.want)
		}
	}
}

// TestLearnersServerErrorsAreUnavailable: 429 and 5xx without Retry-After match
// hubsync.ErrUnavailable; a 5xx has no delay to give, a 429 gives the client's rate window (the
// time the school's budget takes to refill), not a growing backoff.
func TestLearnersServerErrorsAreUnavailable(t *testing.T) {
	t.Parallel()
	for _, status := range []int{429, 500, 502, 503, 504} {
		for _, tc := range adapterCalls {
			s := seedAnn(t)
			s.InjectFault(learnworldstest.Fault{Method: tc.method, Path: tc.path, Status: status})
			err := tc.call(t.Context(), learnersOf(t, s, noRetries))
			if !errors.Is(err, hubsync.ErrUnavailable) {
				t.Errorf("%d on %s: err = %v, want hubsync.ErrUnavailable", status, tc.name, err)
			}
			var ra *hubsync.RetryAfterError
			switch isRA := errors.As(err, &ra); {
			case status == 429 && (!isRA || ra.Delay != time.Second):
				t.Errorf("429 on %s: err = %v, want a RetryAfterError of the client's 1 s window", tc.name, err)
			case status != 429 && isRA:
				t.Errorf("%d on %s: err = %v, a RetryAfterError without a Retry-After", status, tc.name, err)
			}
			var apiErr *learnworlds.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
				t.Errorf("%d on %s: err = %v, want the *APIError inside", status, tc.name, err)
			}
		}
	}
}

// TestLearnersUnreachableIsUnavailable: a school that does not answer (server gone, a timeout, a
// name that does not resolve) is unavailable, and the transport error is still there to inspect.
func TestLearnersUnreachableIsUnavailable(t *testing.T) {
	t.Parallel()
	t.Run("server closed", func(t *testing.T) {
		t.Parallel()
		s := seedAnn(t)
		l := learnersOf(t, s, nil)
		if _, err := l.GetByEmail(t.Context(), school, "ann@example.com"); err != nil { // mint first
			t.Fatal(err)
		}
		s.Close()
		for _, tc := range adapterCalls[:5] {
			err := tc.call(t.Context(), l)
			var opErr *net.OpError
			if !errors.Is(err, hubsync.ErrUnavailable) || !errors.As(err, &opErr) {
				t.Errorf("%s: err = %v, want hubsync.ErrUnavailable around a *net.OpError", tc.name, err)
			}
			var apiErr *learnworlds.APIError
			if errors.As(err, &apiErr) {
				t.Errorf("%s: err = %v is an *APIError", tc.name, err)
			}
		}
		// The token request too, for a client that has none yet.
		_, err := learnersOf(t, s, nil).GetByEmail(t.Context(), school, "ann@example.com")
		if !errors.Is(err, hubsync.ErrUnavailable) {
			t.Errorf("token request: err = %v, want hubsync.ErrUnavailable", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		// The fault's latency runs on a fake clock nobody advances: only the client's timeout ends
		// the request.
		s := seedAnn(t, learnworldstest.WithClock(clock.NewFake(time.Time{})))
		l := learnersOf(t, s, func(c *learnworlds.Config) {
			c.HTTPClient = &http.Client{Transport: transport(t), Timeout: 50 * time.Millisecond}
		})
		s.InjectFault(learnworldstest.Fault{Path: "/v2/users", Latency: time.Hour})
		_, err := l.GetByEmail(t.Context(), school, "ann@example.com")
		var netErr net.Error
		if !errors.Is(err, hubsync.ErrUnavailable) || !errors.As(err, &netErr) || !netErr.Timeout() {
			t.Fatalf("err = %v, want hubsync.ErrUnavailable around a timeout", err)
		}
	})
	t.Run("DNS", func(t *testing.T) {
		t.Parallel()
		dnsErr := &net.DNSError{Err: "no such host", Name: "school.invalid", IsNotFound: true}
		c, err := learnworlds.New(learnworlds.Config{BaseURL: "https://school.invalid", ClientID: "cid", AccessToken: "t",
			HTTPClient: &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
				return nil, dnsErr
			}}}})
		if err != nil {
			t.Fatal(err)
		}
		l, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{school: {Client: c}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.GetByEmail(t.Context(), school, "ann@example.com")
		var got *net.DNSError
		if !errors.Is(err, hubsync.ErrUnavailable) || !errors.As(err, &got) || !got.IsNotFound {
			t.Fatalf("err = %v, want hubsync.ErrUnavailable around the *net.DNSError", err)
		}
	})
	t.Run("canceled context is not an outage", func(t *testing.T) {
		t.Parallel()
		s := seedAnn(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := learnersOf(t, s, nil).GetByEmail(ctx, school, "ann@example.com")
		if !errors.Is(err, context.Canceled) || errors.Is(err, hubsync.ErrUnavailable) {
			t.Fatalf("err = %v, want context.Canceled and not hubsync.ErrUnavailable", err)
		}
	})
}

// TestLearnersRefusalsAreNotUnavailable: what the API will never accept keeps its meaning and is
// not an outage.
func TestLearnersRefusalsAreNotUnavailable(t *testing.T) {
	t.Parallel()
	s := seedAnn(t)
	if _, err := s.AddUser(learnworldstest.User{ID: "bo-id", Email: "bo@example.com", Username: "bo"}); err != nil {
		t.Fatal(err)
	}
	l := learnersOf(t, s, nil)
	ctx := t.Context()
	_, notFound := l.GetByEmail(ctx, school, "nobody@example.com")
	tagsNotFound := l.AddTags(ctx, school, "no-such-id", []string{"vip"})
	_, taken := l.Create(ctx, school, hubsync.NewLearner{Email: "bo@example.com"})
	s.InjectFault(learnworldstest.Fault{Method: http.MethodPost, Path: "/v2/users", Status: 422,
		Body: `{"statusCode":422,"error":"Validation Failed","errors":{"company":[{"0":"The 'Company' field is required."}]}}`})
	_, invalid := l.Create(ctx, school, hubsync.NewLearner{Email: "cy@example.com"})
	for _, tt := range []struct {
		name string
		err  error
		is   error
	}{
		{"404 get", notFound, hubsync.ErrNotFound},
		{"404 tags", tagsNotFound, hubsync.ErrNotFound},
		{"email taken", taken, hubsync.ErrConflict},
		{"422", invalid, learnworlds.ErrValidation},
	} {
		if !errors.Is(tt.err, tt.is) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.is)
		}
		if errors.Is(tt.err, hubsync.ErrUnavailable) {
			t.Errorf("%s: err = %v matches hubsync.ErrUnavailable", tt.name, tt.err)
		}
		var ra *hubsync.RetryAfterError
		if errors.As(tt.err, &ra) {
			t.Errorf("%s: err = %v is a RetryAfterError", tt.name, tt.err)
		}
	}
}
