package hubspot_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// fixture is a fake HubSpot and a client connected to it with a minted token.
type fixture struct {
	srv    *hubspottest.Server
	client *hubspot.Client
	clk    clock.Clock
}

// newFixture starts a fake and a client for it. Traffic goes through testTransport, which checks
// it against the OpenAPI documents when the environment names them.
func newFixture(t *testing.T, version hubspot.Version, srvOpts []hubspottest.Option, clientOpts ...hubspot.Option) *fixture {
	t.Helper()
	srv := hubspottest.NewServer(srvOpts...)
	t.Cleanup(srv.Close)
	access, refresh := srv.MintToken()
	expiry, _ := srv.TokenExpiry(access)
	o, err := hubspot.NewOAuth(testApp(srv), hubspot.WithBaseURL(srv.URL), hubspot.WithHTTPClient(testHTTPClient(t)), hubspot.WithVersion(version), hubspot.WithClock(srv.Clock()))
	if err != nil {
		t.Fatal(err)
	}
	ts := o.TokenSource(&hubspot.Token{AccessToken: access, RefreshToken: refresh, Expiry: expiry}, nil)
	opts := append([]hubspot.Option{
		hubspot.WithBaseURL(srv.URL), hubspot.WithHTTPClient(testHTTPClient(t)), hubspot.WithVersion(version),
		hubspot.WithTokenSource(ts), hubspot.WithClock(srv.Clock()),
	}, clientOpts...)
	c, err := hubspot.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, client: c, clk: srv.Clock()}
}

func testApp(srv *hubspottest.Server) hubspot.App {
	return hubspot.App{
		ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret(), RedirectURL: "https://school.example.com/hubspot/callback",
		Scopes: []string{"oauth", "crm.objects.contacts.read", "crm.objects.contacts.write"}, OptionalScopes: []string{"timeline"},
	}
}

// testHTTPClient returns the HTTP client tests use against the fake.
func testHTTPClient(t *testing.T) *http.Client {
	return &http.Client{Transport: testTransport(t, http.DefaultTransport), Timeout: 30 * time.Second}
}

// autoAdvance moves a fake clock to its next timer whenever one waits, until the test ends, so
// code that waits on the clock (rate limits, backoff) runs at once.
func autoAdvance(t *testing.T, clk *clock.Fake) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for {
			if clk.BlockUntil(ctx, 1) != nil {
				return
			}
			clk.AdvanceToNext()
		}
	}()
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var versions = []hubspot.Version{hubspot.VersionV3, hubspot.Version202603}
