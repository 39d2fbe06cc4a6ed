package learnworlds_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// backend is a Store whose Queue it is too, as the engine's stores are.
type backend interface {
	hubsync.Store
	hubsync.Queue
}

// backends opens the stores the bridge is tested over: the in-memory one and SQLite, both
// Transactors.
var backends = []struct {
	name string
	open func(t *testing.T) backend
}{
	{"memory", func(*testing.T) backend { return hubsynctest.NewMemStore() }},
	{"sqlite", func(t *testing.T) backend {
		s, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "hubsync.db"), sqlitestore.WithSynchronous(sqlitestore.SyncNormal))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
}

var errQueueDown = errors.New("test: the queue is down")

// flaky is a backend whose Enqueue fails while fails is above zero (each failure counts it down),
// the Queue handed out by RunInTx included. It is no Transactor; flakyTx is.
type flaky struct {
	hubsync.Store
	hubsync.Queue
	fails *atomic.Int32
}

func (f *flaky) Enqueue(ctx context.Context, jobs ...hubsync.JobSpec) error {
	if f.fails.Add(-1) >= 0 {
		return errQueueDown
	}
	f.fails.Store(0)
	return f.Queue.Enqueue(ctx, jobs...)
}

// flakyTx is flaky over a Transactor.
type flakyTx struct {
	*flaky
	tx hubsync.Transactor
}

func (f flakyTx) RunInTx(ctx context.Context, fn func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error) error {
	return f.tx.RunInTx(ctx, func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error {
		return fn(ctx, s, &flaky{Store: s, Queue: q, fails: f.fails})
	})
}

// bridge is one school synced by a real engine over the fake HubSpot, with the school's
// LearnWorlds webhooks (from the fake school) going to EngineWebhooks over real HTTP.
type bridge struct {
	lw       *learnworldstest.Server
	hs       *hubspottest.Server
	eng      *hubsync.Engine
	learners *learnworlds.Learners
}

// bridgeOptions configure newBridge.
type bridgeOptions struct {
	store        backend // the engine's Store, Queue and the webhooks' dedupe
	lastPurchase bool
	mappings     []hubsync.Mapping      // nil: email and country
	props        []hubspottest.Property // added to the portal before the mappings are saved
	report       *hubsync.MappingReport // when set, receives the saved mappings' report
	fake         []learnworldstest.Option
	maxQueued    int // Retention.MaxQueuedEvents (0: the default)
}

const bridgeSecret = "whsec"

func newBridge(t *testing.T, o bridgeOptions) *bridge {
	t.Helper()
	ctx := t.Context()
	b := &bridge{lw: newFake(t, o.fake...), hs: hubspottest.NewServer()}
	t.Cleanup(b.hs.Close)
	b.learners = newLearners(t, b.lw, o.lastPurchase)
	const redirect = "https://lms.example/cb"
	eng, err := hubsync.New(hubsync.Config{
		Store: o.store, Queue: o.store, Learners: b.learners, Logger: slog.New(slog.DiscardHandler),
		Retention: hubsync.Retention{MaxQueuedEvents: o.maxQueued},
		HubSpot:   hubsync.HubSpotApp{ClientID: b.hs.ClientID(), ClientSecret: b.hs.ClientSecret(), RedirectURL: redirect, BaseURL: b.hs.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	b.eng = eng
	u, _ := eng.AuthorizeURL(school)
	pu, _ := url.Parse(u)
	if _, err := eng.CompleteConnect(ctx, school, b.hs.AuthorizeCode(redirect), pu.Query().Get("state")); err != nil {
		t.Fatal(err)
	}
	for _, p := range o.props {
		if err := b.hs.AddProperty(p); err != nil {
			t.Fatal(err)
		}
	}
	rows := o.mappings
	if rows == nil {
		rows = []hubsync.Mapping{{LMSField: "email", HubSpotProperty: "email"}, {LMSField: "country", HubSpotProperty: "country"}}
	}
	rep, err := eng.SaveSettings(ctx, school, hubsync.Settings{Mappings: rows})
	if err != nil {
		t.Fatal(err)
	}
	if o.report != nil {
		*o.report = rep
	}
	srv := httptest.NewServer(b.learners.EngineWebhooks(school, learnworlds.Verifier{Secret: bridgeSecret}, eng, o.store, nil))
	t.Cleanup(srv.Close)
	b.lw.SetWebhook(srv.URL, bridgeSecret, false)
	return b
}

// run processes every ready job.
func (b *bridge) run(t *testing.T) int {
	t.Helper()
	n, err := b.eng.RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
