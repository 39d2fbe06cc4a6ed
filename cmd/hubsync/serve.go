package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hubsync/hubsync"
)

// runServe runs the engine's workers and the HTTP endpoints until SIGINT or SIGTERM, for every
// school of the store that has a LearnWorlds connection (or those --schools names; --school
// alone serves that one school as before many schools), looking at the store again every
// --schools-interval for schools connected or disconnected since (serve_schools.go):
//
//	POST /hubspot/webhooks      HubSpot contact webhooks of every school (v3 signature with the
//	                            client secret), routed to the schools by portal id
//	POST /learnworlds/webhooks/{school}
//	                            the school's LearnWorlds webhooks (signed with its stored
//	                            webhook secret); /learnworlds/webhooks is the --school one's
//	GET  /healthz               {"ok":true} while the workers run; open, says nothing else
//	GET  /readyz                {"ok":true} while the store answers, 503 otherwise; open
//	GET  /metrics               Prometheus metrics, with "Authorization: Bearer <--metrics-token
//	                            or --admin-token>"; off without one (serve_ops.go)
//	GET  /status                every school's status (the JSON array of "hubsync status
//	                            --json"), with "Authorization: Bearer <--admin-token>"; off
//	                            without one; with --school, that school's document
//	GET  /status/{school}       one school's status (the JSON of "hubsync status --json --school")
//	     /settings/             an index of the schools' settings pages, /settings/{school}/,
//	                            behind the same --admin-token (the browser asks for it as a
//	                            password); off without one. With --school, that school's page.
//
// A request must arrive whole within --read-timeout, an idle connection closes after
// --idle-timeout, and at most --max-webhooks webhook requests run at once (more get 503 with
// Retry-After). See docs/security.md.
func runServe(ctx context.Context, a *app, args []string) error {
	fs := a.flags("[--listen ADDR] [--public-url URL] [--schools A,B] [--schools-interval D]")
	var listen, public, schoolsFlag, intervalFlag string
	a.str(fs, &listen, "listen", "HUBSYNC_LISTEN", "127.0.0.1:8080", "address to serve on (\":8080\" for every interface)")
	a.str(fs, &public, "public-url", "HUBSYNC_PUBLIC_URL", "", "the HubSpot webhook URL exactly as registered in the app, when behind a proxy or TLS terminator (its signature covers the URL)")
	a.str(fs, &schoolsFlag, "schools", "HUBSYNC_SCHOOLS", "", "serve only these schools, comma-separated (default: every school of the store with a LearnWorlds connection)")
	a.str(fs, &intervalFlag, "schools-interval", "HUBSYNC_SCHOOLS_INTERVAL", schoolsIntervalDefault.String(), "how often to look at the store for schools connected or disconnected since")
	workers := fs.Int("workers", hubsync.WorkersDefault, "engine workers (shared by every school)")
	limitsOf := a.limitFlags(fs)
	journal := journalFlag(a, fs)
	var metricsToken string
	a.opsFlags(fs, &metricsToken)
	if err := a.parse(fs, args, slog.LevelInfo); err != nil {
		return err
	}
	limits, err := limitsOf()
	if err != nil {
		return err
	}
	useJournal, err := journal()
	if err != nil {
		return err
	}
	if err := checkMetricsToken(metricsToken); err != nil {
		return err
	}
	if *workers < 1 {
		return &usageError{msg: "--workers must be at least 1"}
	}
	if err := checkWebhookScheme(a.cfg.lwHookScheme); err != nil {
		return err
	}
	named, err := parseSchools(schoolsFlag)
	if err != nil {
		return err
	}
	interval, err := time.ParseDuration(intervalFlag)
	if err != nil || interval < 10*time.Millisecond || interval > 24*time.Hour {
		return &usageError{msg: fmt.Sprintf("--schools-interval %q: want a duration from 10ms to 24h, e.g. 30s", intervalFlag)}
	}
	// --school alone: that one school, every URL as before many schools.
	single := named == nil && a.schoolGiven
	if single {
		named = []hubsync.SchoolID{hubsync.SchoolID(a.cfg.school)}
	}
	exporter := newMetricsExporter()
	defer exporter.shutdown(context.WithoutCancel(ctx))
	opts := engineOptions{workers: *workers, journal: useJournal, meters: exporter.provider, multi: true}
	if limits.adminToken != "" {
		opts.redirectURL = settingsRedirectURL(public, listen) // the settings pages' Connect
	}
	e, err := a.open(ctx, opts)
	if err != nil {
		return err
	}
	defer e.close()
	eng, school := e.eng, hubsync.SchoolID(a.cfg.school)
	csrf := sha256.Sum256([]byte("hubsync-settings-csrf\x00" + limits.adminToken + "\x00" + a.cfg.hsSecret))
	set := &schoolSet{a: a, e: e, log: a.log, named: named, adminToken: limits.adminToken, csrf: csrf[:],
		served: map[hubsync.SchoolID]*servedSchool{}, warned: map[hubsync.SchoolID]bool{}}
	if a.cfg.lwFlagsGiven() {
		set.flagSchool = school
	}
	if _, _, err := set.refresh(ctx); err != nil {
		return err
	}
	served := set.ids()
	for _, id := range served {
		if _, err := eng.Connection(ctx, id); err != nil {
			a.log.Warn("hubsync: the school has no HubSpot connection yet; run \"hubsync connect\"", "school", id, "err", err)
		}
	}
	if len(served) == 0 {
		a.log.Warn("hubsync: no school to serve yet (none has a LearnWorlds connection); connect one with \"hubsync connect --school ID\" and its --learnworlds-* flags: serve picks it up within --schools-interval")
	}

	mux := http.NewServeMux()
	hooks := make(capConcurrent, limits.maxWebhooks) // one cap for every webhook endpoint
	mux.Handle("/hubspot/webhooks", countedCap(eng, "hubspot", hooks, eng.HubSpotWebhooks(hubsync.WebhookOptions{PublicURL: public, AllowV1V2: limits.legacySignatures})))
	if limits.legacySignatures {
		a.log.Warn("hubsync: --hubspot-legacy-signatures is on: HubSpot v1/v2 signatures, which have no timestamp, are accepted")
	}
	mux.Handle("/learnworlds/webhooks/{school}", countedCap(eng, "learnworlds", hooks, set.lwWebhooks("")))
	mux.Handle("/learnworlds/webhooks", countedCap(eng, "learnworlds", hooks, set.lwWebhooks(school)))
	for _, id := range served {
		if sv := set.get(id); sv != nil && sv.hooks == nil {
			a.log.Warn("hubsync: the school has no LearnWorlds webhook secret; its /learnworlds/webhooks/{school} is off and its LearnWorlds changes reach HubSpot only through \"hubsync sync\"", "school", id)
		}
	}
	var ops opsEndpoints
	ops.mount(mux, e.store, school, exporter, limits.adminToken, metricsToken, a.log)
	list, one := set.status(single)
	mux.Handle("GET /status", requireAdmin(limits.adminToken, a.log, list))
	mux.Handle("GET /status/{school}", requireAdmin(limits.adminToken, a.log, one))
	switch {
	case limits.adminToken == "":
		a.log.Info("hubsync: /status and /settings/ are off; set --admin-token (or HUBSYNC_ADMIN_TOKEN) to turn them on")
	case single:
		if err := mountSettings(mux, eng, school, limits.adminToken, a.cfg.hsSecret, a.log); err != nil {
			return err
		}
	default:
		mux.Handle(settingsPath+"/", set.settings())
	}

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (pick another --listen address)", listen, err)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: min(10*time.Second, limits.readTimeout),
		ReadTimeout:       limits.readTimeout, // headers and body: a trickled body is cut
		IdleTimeout:       limits.idleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()
	workCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()
	engineDone := make(chan error, 1)
	go func() { engineDone <- eng.Run(workCtx); ops.stopped.Store(true) }()
	if !single {
		go set.run(workCtx, interval)
	}

	base := "http://" + ln.Addr().String()
	if single {
		fmt.Fprintf(a.stdout, "Serving school %q on %s\n", school, base)
	} else {
		fmt.Fprintf(a.stdout, "Serving schools %s (%d; more as they are connected) on %s\n", termSafe(joinIDs(served)), len(served), base)
	}
	fmt.Fprintf(a.stdout, "  HubSpot webhooks:     %s/hubspot/webhooks (every school, routed by portal)\n", base)
	fmt.Fprintf(a.stdout, "  LearnWorlds webhooks: %s/learnworlds/webhooks/{school}\n", base)
	fmt.Fprintf(a.stdout, "  health: %s/healthz  ready: %s/readyz  status: %s/status (one school: /status/{school})  metrics: %s/metrics\n", base, base, base, base)
	if limits.adminToken != "" {
		fmt.Fprintf(a.stdout, "  settings page:        %s%s/ (OAuth redirect URL for the HubSpot app: %s)\n", base, settingsPath, opts.redirectURL)
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-serveDone:
	}
	fmt.Fprintln(a.stdout, "Shutting down: finishing requests in flight and releasing jobs ...")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	stopWorkers()
	<-engineDone
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	fmt.Fprintln(a.stdout, "Stopped.")
	return nil
}

// joinIDs is the schools' ids separated by commas, "none" for none.
func joinIDs(ids []hubsync.SchoolID) string {
	if len(ids) == 0 {
		return "none"
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return strings.Join(out, ", ")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
