package hubsync_test

import (
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestJudgeRealClientErrors feeds the failure policy the errors the real clients return, over
// HTTP from the fakes (TestJudge has the table of the error types themselves): what each does to
// the work. It fails when a client's error stops matching what the policy expects of it.
func TestJudgeRealClientErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	hsCall := func(f *hubspottest.Fault, closed bool) error {
		hs := hubspottest.NewServer()
		defer hs.Close()
		tok := hs.Token()
		c, err := hubspot.New(append(hs.ClientOptions(), hubspot.WithRetry(0, time.Second),
			hubspot.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok.AccessToken, Expiry: tok.Expiry})))...)
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			f.Times = 5
			hs.InjectFault(*f)
		}
		if closed {
			hs.Close()
		}
		_, err = c.ListProperties(ctx, false)
		return err
	}
	lwCall := func(f *learnworldstest.Fault, closed bool) error {
		lw := learnworldstest.NewServer()
		defer lw.Close()
		c, err := learnworlds.New(learnworlds.Config{BaseURL: lw.URL, ClientID: lw.ClientID, ClientSecret: lw.ClientSecret, MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		l, err := learnworlds.NewLearners(map[hubsync.SchoolID]learnworlds.School{school: {Client: c}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lw.AddUser(learnworldstest.User{Email: "ann@school.example"}); err != nil {
			t.Fatal(err)
		}
		if f != nil {
			f.Times = -1
			lw.InjectFault(*f)
		}
		if closed {
			lw.Close()
		}
		_, err = l.GetByEmail(ctx, school, "ann@school.example")
		return err
	}
	for _, tc := range []struct {
		name string
		err  func() error
		want string
	}{
		{"HubSpot 429", func() error { return hsCall(&hubspottest.Fault{Status: http.StatusTooManyRequests}, false) }, "release pause-school 10s"},
		{"HubSpot 429 DAILY", func() error {
			return hsCall(&hubspottest.Fault{Status: http.StatusTooManyRequests, Policy: "DAILY"}, false)
		}, "release pause-school"},
		{"HubSpot 503", func() error { return hsCall(&hubspottest.Fault{Status: http.StatusServiceUnavailable}, false) }, "release pause-lane 1s"},
		{"HubSpot 401", func() error { return hsCall(&hubspottest.Fault{Status: http.StatusUnauthorized}, false) }, "release recheck"},
		{"HubSpot 400", func() error { return hsCall(&hubspottest.Fault{Status: http.StatusBadRequest}, false) }, "retry"},
		{"HubSpot 403", func() error { return hsCall(&hubspottest.Fault{Status: http.StatusForbidden}, false) }, "retry"},
		{"HubSpot unreachable", func() error { return hsCall(nil, true) }, "release pause-lane 1s"},
		{"LearnWorlds 429", func() error { return lwCall(&learnworldstest.Fault{Status: http.StatusTooManyRequests}, false) }, "release pause-lane 10s"},
		{"LearnWorlds 429 with Retry-After", func() error {
			return lwCall(&learnworldstest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "20"}, false)
		}, "release pause-lane 20s"},
		{"LearnWorlds 500", func() error { return lwCall(&learnworldstest.Fault{Status: http.StatusInternalServerError}, false) }, "release pause-lane 1s"},
		{"LearnWorlds 503", func() error { return lwCall(&learnworldstest.Fault{Status: http.StatusServiceUnavailable}, false) }, "release pause-lane 1s"},
		{"LearnWorlds unreachable", func() error { return lwCall(nil, true) }, "release pause-lane 1s"},
		{"LearnWorlds 404", func() error {
			return lwCall(&learnworldstest.Fault{Method: http.MethodGet, Path: "/v2/users", Status: http.StatusNotFound}, false)
		}, "retry"},
		{"LearnWorlds 401 (bad credentials)", func() error {
			return lwCall(&learnworldstest.Fault{Path: "/oauth2/access_token", Status: http.StatusUnauthorized}, false)
		}, "retry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil {
				t.Fatal("the call did not fail")
			}
			got := hubsync.JudgeSummary(err)
			if len(got) < len(tc.want) || got[:len(tc.want)] != tc.want {
				t.Errorf("error %v\n judged %q, want %q", err, got, tc.want)
			}
		})
	}
}
