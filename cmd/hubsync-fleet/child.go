package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/store/pgstore"
)

// childConfig is what the parent hands each child, in a file: where the store, the HubSpot front
// and every school's LearnWorlds are.
type childConfig struct {
	DB, Schema               string
	HubSpotURL               string
	ClientID, ClientSecret   string
	HSRequests, LWRequests   int
	Window                   time.Duration
	Workers, BackfillWorkers int
	Schools                  []childSchool
}

type childSchool struct {
	ID                    hubsync.SchoolID
	LWURL, LWID, LWSecret string
}

// childHeader tags every HubSpot request with the child that sent it, so the front can tell when
// the killed child's portals are served again, and by whom.
const childHeader = "X-Fleet-Child"

type tagTransport struct {
	base http.RoundTripper
	tag  string
}

func (t tagTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(childHeader, t.tag)
	return t.base.RoundTrip(r)
}

// learnersFor builds the LearnWorlds adapter over every school of cfg.
func learnersFor(cfg childConfig) (*learnworlds.Learners, error) {
	schools := make(map[hubsync.SchoolID]learnworlds.School, len(cfg.Schools))
	for _, s := range cfg.Schools {
		c, err := learnworlds.New(learnworlds.Config{BaseURL: s.LWURL, ClientID: s.LWID, ClientSecret: s.LWSecret,
			RateLimit: cfg.LWRequests, RatePer: cfg.Window})
		if err != nil {
			return nil, err
		}
		schools[s.ID] = learnworlds.School{Client: c}
	}
	return learnworlds.NewLearners(schools)
}

// engineConfig is the engine of a child (tag "0".."K-1") or of the parent (tag "parent").
func engineConfig(cfg childConfig, store *pgstore.Store, learners hubsync.Learners, tag string, logw io.Writer, level slog.Level) hubsync.Config {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return hubsync.Config{
		Store: store, Queue: store, Learners: learners,
		Logger:  slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level})),
		Workers: cfg.Workers, BackfillWorkers: cfg.BackfillWorkers,
		HubSpot: hubsync.HubSpotApp{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: "http://localhost/cb",
			BaseURL: cfg.HubSpotURL, RateLimit: cfg.HSRequests, RateInterval: cfg.Window,
			HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: tagTransport{base: tr, tag: tag}}},
	}
}

// runChild is one fleet process: an engine's workers on the shared store until ctx ends.
func runChild(ctx context.Context, o options) error {
	b, err := os.ReadFile(o.child)
	if err != nil {
		return err
	}
	var cfg childConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return err
	}
	store, err := pgstore.Open(ctx, cfg.DB, pgstore.WithSchema(cfg.Schema), pgstore.WithAutoMigrate(false),
		pgstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	defer store.Close()
	learners, err := learnersFor(cfg)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if o.verboseLogs {
		level = slog.LevelInfo
	}
	eng, err := hubsync.New(engineConfig(cfg, store, learners, strconv.Itoa(o.childIndex), os.Stderr, level))
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stdout, "ready")
	if err := eng.Run(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
