package learnworlds_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  learnworlds.Config
		want string
	}{
		{"no url", learnworlds.Config{ClientID: "a", ClientSecret: "b"}, "BaseURL is empty"},
		{"relative url", learnworlds.Config{BaseURL: "school.com", ClientID: "a", ClientSecret: "b"}, "not an absolute"},
		{"query", learnworlds.Config{BaseURL: "https://school.com?x=1", ClientID: "a", ClientSecret: "b"}, "query"},
		{"no client id", learnworlds.Config{BaseURL: "https://school.com", ClientSecret: "b"}, "ClientID is empty"},
		{"no secret", learnworlds.Config{BaseURL: "https://school.com", ClientID: "a"}, "ClientSecret"},
		{"negative limit", learnworlds.Config{BaseURL: "https://school.com", ClientID: "a", AccessToken: "t", RateLimit: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := learnworlds.New(tt.cfg)
			if !errors.Is(err, learnworlds.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New() error = %v, want ErrConfig mentioning %q", err, tt.want)
			}
		})
	}
}

func TestBaseURLForms(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	if _, err := s.AddUser(learnworldstest.User{Email: "ann@example.com"}); err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{s.URL, s.URL + "/", s.URL + "/admin/api", s.URL + "/admin/api/"} {
		c := newClient(t, s, func(c *learnworlds.Config) { c.BaseURL = base })
		if _, err := c.GetUser(t.Context(), "ann@example.com"); err != nil {
			t.Errorf("BaseURL %q: %v", base, err)
		}
	}
}

func TestUsersListsEveryPageAndStopsAtTotalPages(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	if err := s.Seed(450, nil); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s, nil)
	seen := map[string]bool{}
	for u, err := range c.Users(t.Context(), learnworlds.ListUsersOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[u.ID] {
			t.Fatalf("user %s listed twice", u.ID)
		}
		seen[u.ID] = true
	}
	if len(seen) != 450 {
		t.Fatalf("listed %d users, want 450", len(seen))
	}
	// One token and three pages of 200: the listing never asks for the (repeated) page 4.
	if st := s.Stats(); st.Requests != 4 || st.TokensMinted != 1 {
		t.Fatalf("stats = %+v, want 4 requests with 1 token", st)
	}
}

func TestListUsersPagePastTheEndRepeatsTheLastPage(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	if err := s.Seed(5, nil); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s, nil)
	p, err := c.ListUsersPage(t.Context(), 9, learnworlds.ListUsersOptions{PerPage: 2})
	if err != nil {
		t.Fatal(err)
	}
	if p.Meta.Page != 3 || p.Meta.TotalPages != 3 || p.Meta.TotalItems != 5 || len(p.Users) != 1 {
		t.Fatalf("page 9 of 3 = %+v with %d users, want the last page again", p.Meta, len(p.Users))
	}
	if _, err := c.ListUsersPage(t.Context(), 0, learnworlds.ListUsersOptions{}); err == nil {
		t.Fatal("page 0 accepted")
	}
	if _, err := c.ListUsersPage(t.Context(), 1, learnworlds.ListUsersOptions{PerPage: 201}); err == nil {
		t.Fatal("PerPage 201 accepted")
	}
}

func TestUsersStopsEarlyWhenTheCallerBreaks(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	if err := s.Seed(450, nil); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s, nil)
	n := 0
	for _, err := range c.Users(t.Context(), learnworlds.ListUsersOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 10 {
			break
		}
	}
	if st := s.Stats(); st.Requests != 2 {
		t.Fatalf("requests = %d, want token + one page", st.Requests)
	}
}

func TestGetUserByIDAndEncodedEmail(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	ann, err := s.AddUser(learnworldstest.User{Email: "ann+tag@example.com", Username: "ann",
		Fields: map[string]any{"phone": "+30 210", "cf_skill": "Excel"}, Tags: []string{"vip"},
		UTMs: map[string]string{"fc_utm_source": "Facebook"}})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s, nil)
	for _, key := range []string{ann.ID, "ann+tag@example.com", "ANN+TAG@example.com"} {
		u, err := c.GetUser(t.Context(), key)
		if err != nil {
			t.Fatalf("GetUser(%q): %v", key, err)
		}
		if u.ID != ann.ID || u.Email != ann.Email || u.Fields["phone"] != "+30 210" || u.Fields["cf_skill"] != "Excel" ||
			!slices.Equal(u.Tags, []string{"vip"}) || u.UTMs["fc_utm_source"] == nil || *u.UTMs["fc_utm_source"] != "Facebook" {
			t.Fatalf("GetUser(%q) = %+v", key, u)
		}
	}
	_, err = c.GetUser(t.Context(), "nobody@example.com")
	var apiErr *learnworlds.APIError
	if !errors.Is(err, hubsync.ErrNotFound) || !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("missing user: err = %v, want a 404 *APIError matching ErrNotFound", err)
	}
	if strings.Contains(err.Error(), "nobody@") {
		t.Fatalf("error leaks the email: %v", err)
	}
	if _, err := c.GetUser(t.Context(), " "); err == nil {
		t.Fatal("empty id accepted")
	}
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	if err := s.DefineField("skill", learnworldstest.FieldRule{Options: []string{"Excel", "Word"}}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s, nil)
	ctx := t.Context()
	u, err := c.CreateUser(ctx, learnworlds.CreateUserRequest{Email: "bo@example.com", Username: "bo",
		Tags: []string{"new"}, Fields: map[string]any{"company": "ACME", "cf_skill": "Word"}})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID == "" || u.Fields["company"] != "ACME" || !slices.Equal(u.Tags, []string{"new"}) {
		t.Fatalf("created %+v", u)
	}
	body := string(s.LastRequestBody("POST /v2/users"))
	if !strings.Contains(body, `"send_registration_email":false`) {
		t.Fatalf("create body %s does not say send_registration_email:false explicitly", body)
	}

	tests := []struct {
		name  string
		req   learnworlds.CreateUserRequest
		is    error
		field string
	}{
		{"email taken", learnworlds.CreateUserRequest{Email: "BO@example.com", Username: "bo2"}, hubsync.ErrConflict, "email"},
		{"username taken", learnworlds.CreateUserRequest{Email: "bo2@example.com", Username: "Bo"}, hubsync.ErrConflict, "username"},
		{"bad email", learnworlds.CreateUserRequest{Email: "not-an-email", Username: "x"}, learnworlds.ErrValidation, "email"},
		{"rule", learnworlds.CreateUserRequest{Email: "cy@example.com", Username: "cy", Fields: map[string]any{"cf_skill": "Golf"}}, learnworlds.ErrValidation, "cf_skill"},
		{"unknown custom field", learnworlds.CreateUserRequest{Email: "cy@example.com", Username: "cy", Fields: map[string]any{"cf_nope": "x"}}, learnworlds.ErrValidation, "cf_nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateUser(ctx, tt.req)
			var apiErr *learnworlds.APIError
			if !errors.Is(err, tt.is) || !errors.As(err, &apiErr) || len(apiErr.Fields[tt.field]) == 0 {
				t.Fatalf("err = %v, want %v with a message for %q", err, tt.is, tt.field)
			}
		})
	}
	if _, err := c.CreateUser(ctx, learnworlds.CreateUserRequest{Email: "x@example.com"}); err == nil || !strings.Contains(err.Error(), "username") {
		t.Fatalf("missing username: err = %v", err)
	}
}

func TestUpdateUserAndTags(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	ann, _ := s.AddUser(learnworldstest.User{Email: "ann@example.com", Username: "ann", Tags: []string{"a"}})
	c := newClient(t, s, nil)
	ctx := t.Context()
	email := "ann.new@example.com"
	u, err := c.UpdateUser(ctx, ann.ID, learnworlds.UpdateUserRequest{Email: &email, Fields: map[string]any{"country": "GR"}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != email || u.Fields["country"] != "GR" {
		t.Fatalf("updated %+v", u)
	}
	if _, err := c.UpdateTags(ctx, email, learnworlds.TagAttach, []string{"b", "c"}); err != nil {
		t.Fatal(err)
	}
	u, err = c.UpdateTags(ctx, ann.ID, learnworlds.TagDetach, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u.Tags, []string{"b", "c"}) {
		t.Fatalf("tags = %v, want [b c]", u.Tags)
	}
	if _, err := c.UpdateTags(ctx, ann.ID, "replace", []string{"a"}); err == nil {
		t.Fatal("unknown tag action accepted")
	}
	if _, err := c.UpdateUser(ctx, ann.ID, learnworlds.UpdateUserRequest{}); err == nil {
		t.Fatal("empty update accepted")
	}
	if _, err := c.UpdateUser(ctx, "5f0000000000000000000999", learnworlds.UpdateUserRequest{Fields: map[string]any{"bio": "x"}}); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("update of a missing user: %v", err)
	}
}

func TestLatestPayment(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	s := newFake(t, learnworldstest.WithClock(clk))
	ann, _ := s.AddUser(learnworldstest.User{Email: "ann@example.com"})
	bob, _ := s.AddUser(learnworldstest.User{Email: "bob@example.com"})
	ctx := t.Context()
	if _, err := s.Purchase(ctx, ann.ID, learnworldstest.Payment{ProductID: "c1", Price: 10}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	second, err := s.Purchase(ctx, ann.ID, learnworldstest.Payment{ProductID: "c2", Price: 20})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s, nil)
	p, err := c.LatestPayment(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != second.ID || p.When() != second.PaidAt || p.Product.ID != "c2" {
		t.Fatalf("latest = %+v, want %+v", p, second)
	}
	if _, err := c.LatestPayment(ctx, bob.ID); !errors.Is(err, hubsync.ErrNotFound) {
		t.Fatalf("no payment: err = %v, want ErrNotFound", err)
	}
}

func TestTokenIsCachedAndRemintedBeforeExpiry(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	s := newFake(t, learnworldstest.WithClock(clk), learnworldstest.WithTokenTTL(8000*time.Second))
	s.AddUser(learnworldstest.User{Email: "ann@example.com"})
	c := newClient(t, s, func(c *learnworlds.Config) { c.Clock = clk })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	drive(ctx, clk)
	for range 3 {
		if _, err := c.GetUser(ctx, "ann@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Stats().TokensMinted; n != 1 {
		t.Fatalf("minted %d tokens, want 1 cached", n)
	}
	clk.Advance(8000*time.Second - 30*time.Second) // inside the leeway: replaced before it expires
	if _, err := c.GetUser(ctx, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if n := s.Stats().TokensMinted; n != 2 {
		t.Fatalf("minted %d tokens, want 2", n)
	}
}

func TestRefusedTokenIsRemintedOnce(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusUnauthorized, http.StatusBadRequest} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			s := newFake(t, learnworldstest.WithBadTokenStatus(status))
			s.AddUser(learnworldstest.User{Email: "ann@example.com"})
			c := newClient(t, s, nil)
			ctx := t.Context()
			if _, err := c.GetUser(ctx, "ann@example.com"); err != nil {
				t.Fatal(err)
			}
			s.RevokeTokens()
			if _, err := c.GetUser(ctx, "ann@example.com"); err != nil {
				t.Fatalf("after revocation: %v", err)
			}
			if n := s.Stats().TokensMinted; n != 2 {
				t.Fatalf("minted %d, want 2", n)
			}
		})
	}
}

func TestBadCredentialsAndStaticToken(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	s.AddUser(learnworldstest.User{Email: "ann@example.com"})
	bad := newClient(t, s, func(c *learnworlds.Config) { c.ClientSecret = "wrong" })
	_, err := bad.GetUser(t.Context(), "ann@example.com")
	if !errors.Is(err, learnworlds.ErrUnauthorized) || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("bad secret: err = %v, want ErrUnauthorized without the secret", err)
	}
	static := newClient(t, s, func(c *learnworlds.Config) { c.ClientSecret = ""; c.AccessToken = s.IssueToken() })
	if _, err := static.GetUser(t.Context(), "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	s.RevokeTokens()
	if _, err := static.GetUser(t.Context(), "ann@example.com"); !errors.Is(err, learnworlds.ErrUnauthorized) {
		t.Fatalf("revoked static token: err = %v, want ErrUnauthorized", err)
	}
}

func TestRateLimit429IsRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	// The server allows 3 per 10 s while the client believes in 30: it must recover from 429s.
	s := newFake(t, learnworldstest.WithClock(clk), learnworldstest.WithRateLimit(3, 10*time.Second))
	s.Seed(5, nil)
	c := newClient(t, s, func(c *learnworlds.Config) {
		c.Clock = clk
		c.RateLimit = 30
		c.RatePer = 10 * time.Second
		c.MaxRetries = 8
	})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	drive(ctx, clk)
	for i := range 5 {
		if _, err := c.GetUser(ctx, "learner"+string(rune('0'+i))+"@example.com"); err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
	}
	st := s.Stats()
	if st.RateLimited == 0 {
		t.Fatalf("stats %+v: the test meant to provoke 429s", st)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	s := newFake(t, learnworldstest.WithClock(clk))
	s.AddUser(learnworldstest.User{Email: "ann@example.com"})
	c := newClient(t, s, func(c *learnworlds.Config) { c.Clock = clk })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	drive(ctx, clk)
	if _, err := c.GetUser(ctx, "ann@example.com"); err != nil { // mint first
		t.Fatal(err)
	}
	s.InjectFault(learnworldstest.Fault{Path: "/v2/users", Status: 429, RetryAfter: "7"})
	start := clk.Now()
	if _, err := c.GetUser(ctx, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if waited := clk.Now().Sub(start); waited < 7*time.Second || waited > 8*time.Second {
		t.Fatalf("waited %v, want the 7 s of Retry-After", waited)
	}
	// The HTTP-date form is measured against the injected clock.
	start = clk.Now()
	s.InjectFault(learnworldstest.Fault{Path: "/v2/users", Status: 429, RetryAfter: start.Add(5 * time.Second).UTC().Format(http.TimeFormat)})
	if _, err := c.GetUser(ctx, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if waited := clk.Now().Sub(start); waited < 4*time.Second || waited > 6*time.Second {
		t.Fatalf("waited %v, want about the 5 s of the Retry-After date", waited)
	}
}

// TestLongRetryAfterGoesBackToTheCaller: a Retry-After longer than MaxBackoff is not slept
// through: the *APIError comes back at once with RetryAfter set, capped at MaxRetryAfter, for the
// caller (the engine) to reschedule. With a MaxBackoff beyond MaxRetryAfter, the client waits the
// cap and no more.
func TestLongRetryAfterGoesBackToTheCaller(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header     string
		maxBackoff time.Duration
		want       time.Duration // RetryAfter of the error; 0 when the call waits and succeeds
		wantWait   time.Duration // fake time the call takes
	}{
		{"30", 0, 30 * time.Second, 0},
		{"3601", 0, learnworlds.MaxRetryAfter, 0},
		{"1000000000000", 0, learnworlds.MaxRetryAfter, 0},       // 1e12 s overflowed time.Duration
		{"9223372036854775807", 0, learnworlds.MaxRetryAfter, 0}, // and so did this
		{"Fri, 31 Dec 9999 23:59:59 GMT", 0, learnworlds.MaxRetryAfter, 0},
		{"9223372036854775807", 2 * time.Hour, 0, learnworlds.MaxRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(time.Time{})
			s := newFake(t, learnworldstest.WithClock(clk))
			s.AddUser(learnworldstest.User{Email: "ann@example.com"})
			c := newClient(t, s, func(c *learnworlds.Config) { c.Clock = clk; c.MaxBackoff = tt.maxBackoff })
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			drive(ctx, clk)
			if _, err := c.GetUser(ctx, "ann@example.com"); err != nil { // mint first
				t.Fatal(err)
			}
			s.InjectFault(learnworldstest.Fault{Path: "/v2/users", Status: 429, RetryAfter: tt.header})
			before, start := s.Stats().Requests, clk.Now()
			_, err := c.GetUser(ctx, "ann@example.com")
			if waited := clk.Now().Sub(start); waited < tt.wantWait || waited > tt.wantWait+time.Millisecond { // the limiter's spacing
				t.Errorf("the call took %v of fake time, want %v", waited, tt.wantWait)
			}
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("err = %v, want success after the capped wait", err)
				}
				return
			}
			var apiErr *learnworlds.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.RetryAfter != tt.want {
				t.Fatalf("err = %v, want a 429 APIError with RetryAfter %v", err, tt.want)
			}
			if n := s.Stats().Requests - before; n != 1 {
				t.Errorf("%d requests, want 1 (no retry)", n)
			}
		})
	}
}

func TestServerErrorsRetriedForReadsNotForCreate(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	s := newFake(t, learnworldstest.WithClock(clk))
	s.AddUser(learnworldstest.User{Email: "ann@example.com"})
	c := newClient(t, s, func(c *learnworlds.Config) { c.Clock = clk })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	drive(ctx, clk)
	s.InjectFault(learnworldstest.Fault{Method: "GET", Path: "/v2/users", Status: 503, Times: 2})
	if _, err := c.GetUser(ctx, "ann@example.com"); err != nil {
		t.Fatalf("GET after two 503s: %v", err)
	}
	s.InjectFault(learnworldstest.Fault{Method: "POST", Path: "/v2/users", Status: 500})
	_, err := c.CreateUser(ctx, learnworlds.CreateUserRequest{Email: "bo@example.com", Username: "bo"})
	var apiErr *learnworlds.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
		t.Fatalf("create after 500: err = %v, want the 500 unretried", err)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	s := newFake(t, learnworldstest.WithClock(clk))
	c := newClient(t, s, func(c *learnworlds.Config) { c.Clock = clk; c.MaxRetries = 2 })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	drive(ctx, clk)
	s.InjectFault(learnworldstest.Fault{Path: "/v2/users", Status: 429, Times: -1})
	_, err := c.GetUser(ctx, "ann@example.com")
	if !errors.Is(err, learnworlds.ErrRateLimited) {
		t.Fatalf("err = %v, want ErrRateLimited", err)
	}
	if st := s.Stats(); st.Faults != 3 {
		t.Fatalf("faults served = %d, want 1 try + 2 retries", st.Faults)
	}
}

func TestLatencyFaultAndContextCancel(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Time{})
	s := newFake(t, learnworldstest.WithClock(clk))
	s.AddUser(learnworldstest.User{Email: "ann@example.com"})
	c := newClient(t, s, nil) // real clock for the client: only the server waits on clk
	if _, err := c.GetUser(t.Context(), "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	s.InjectFault(learnworldstest.Fault{Path: "/v2/users", Latency: time.Minute})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := c.GetUser(ctx, "ann@example.com"); done <- err }()
	if err := clk.BlockUntil(t.Context(), 1); err != nil { // the server is waiting out the latency
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestUsersStopsAtTheFirstErrorMidListing(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	if err := s.Seed(1000, nil); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s, func(c *learnworlds.Config) { c.MaxRetries = -1 })
	if _, err := c.ListUsersPage(t.Context(), 1, learnworlds.ListUsersOptions{}); err != nil { // mint
		t.Fatal(err)
	}
	s.InjectFault(learnworldstest.Fault{Method: "GET", Path: "/v2/users", Status: 404, Times: -1})
	n, errs := 0, 0
	for _, err := range c.Users(t.Context(), learnworlds.ListUsersOptions{}) {
		if err != nil {
			errs++
			continue
		}
		n++
	}
	if n != 0 || errs != 1 {
		t.Fatalf("%d users and %d errors, want the first page's error alone", n, errs)
	}
	s.ClearFaults()
	// A failure on a later page ends the listing after the pages before it, with one error.
	n, errs = 0, 0
	var failed bool
	for _, err := range c.Users(t.Context(), learnworlds.ListUsersOptions{Prefetch: 2}) {
		if err != nil {
			errs++
			continue
		}
		if n++; n == 200 && !failed {
			failed = true
			s.InjectFault(learnworldstest.Fault{Method: "GET", Path: "/v2/users", Status: 404, Times: -1})
		}
	}
	if errs != 1 || n%200 != 0 || n >= 1000 {
		t.Fatalf("%d users and %d errors, want whole pages then one error", n, errs)
	}
}
