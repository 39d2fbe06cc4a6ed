package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/learnworlds"
)

// runServe runs the engine's workers and the HTTP endpoints until SIGINT or SIGTERM:
//
//	POST /hubspot/webhooks      HubSpot contact webhooks (v3 signature with the client secret)
//	POST /learnworlds/webhooks  LearnWorlds webhooks (needs --learnworlds-webhook-secret)
//	GET  /healthz               {"ok":true} while the store answers; open, says nothing else
//	GET  /status                the school's status (the JSON of "hubsync status --json"),
//	                            with "Authorization: Bearer <--admin-token>"; off without one
//	     /settings/             the school's settings page, behind the same --admin-token (the
//	                            browser asks for it as a password); off without one
//
// A request must arrive whole within --read-timeout, an idle connection closes after
// --idle-timeout, and at most --max-webhooks webhook requests run at once (more get 503 with
// Retry-After). See docs/security.md.
func runServe(ctx context.Context, a *app, args []string) error {
	fs := a.flags("[--listen ADDR] [--public-url URL]")
	var listen, public string
	a.str(fs, &listen, "listen", "HUBSYNC_LISTEN", "127.0.0.1:8080", "address to serve on (\":8080\" for every interface)")
	a.str(fs, &public, "public-url", "HUBSYNC_PUBLIC_URL", "", "the HubSpot webhook URL exactly as registered in the app, when behind a proxy or TLS terminator (its signature covers the URL)")
	workers := fs.Int("workers", hubsync.WorkersDefault, "engine workers")
	limitsOf := a.limitFlags(fs)
	journal := journalFlag(a, fs)
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
	if *workers < 1 {
		return &usageError{msg: "--workers must be at least 1"}
	}
	scheme := learnworlds.SignatureStatic
	switch a.cfg.lwHookScheme {
	case "static":
	case "hmac":
		scheme = learnworlds.SignatureHMACSHA256
	default:
		return &usageError{msg: fmt.Sprintf("--learnworlds-webhook-scheme %q: want static or hmac", a.cfg.lwHookScheme)}
	}
	opts := engineOptions{needLW: true, workers: *workers, journal: useJournal}
	if limits.adminToken != "" {
		opts.redirectURL = settingsRedirectURL(public, listen) // the settings page's Connect
	}
	e, err := a.open(ctx, opts)
	if err != nil {
		return err
	}
	defer e.close()
	eng, school := e.eng, hubsync.SchoolID(a.cfg.school)
	if _, err := eng.Connection(ctx, school); err != nil {
		a.log.Warn("hubsync: the school has no HubSpot connection yet; run \"hubsync connect\"", "school", school, "err", err)
	}

	mux := http.NewServeMux()
	hooks := make(capConcurrent, limits.maxWebhooks) // one cap for both webhook endpoints
	mux.Handle("/hubspot/webhooks", hooks.wrap(eng.HubSpotWebhooks(hubsync.WebhookOptions{PublicURL: public, AllowV1V2: limits.legacySignatures})))
	if limits.legacySignatures {
		a.log.Warn("hubsync: --hubspot-legacy-signatures is on: HubSpot v1/v2 signatures, which have no timestamp, are accepted")
	}
	if a.cfg.lwHookSecret != "" {
		mux.Handle("/learnworlds/webhooks", hooks.wrap(e.learners.EngineWebhooks(school, learnworlds.Verifier{Secret: a.cfg.lwHookSecret, Scheme: scheme}, eng, e.store, a.log)))
	} else {
		a.log.Warn("hubsync: --learnworlds-webhook-secret is not set; /learnworlds/webhooks is off and LearnWorlds changes reach HubSpot only through \"hubsync sync\"")
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := e.store.Stats(r.Context(), school); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ok": false, "error": "store unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	mux.Handle("GET /status", requireAdmin(limits.adminToken, a.log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := eng.Status(r.Context(), school)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": explain(err)})
			return
		}
		writeJSON(w, http.StatusOK, st)
	})))
	if limits.adminToken == "" {
		a.log.Info("hubsync: /status and /settings/ are off; set --admin-token (or HUBSYNC_ADMIN_TOKEN) to turn them on")
	} else if err := mountSettings(mux, eng, school, limits.adminToken, a.cfg.hsSecret, a.log); err != nil {
		return err
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
	go func() { engineDone <- eng.Run(workCtx) }()

	base := "http://" + ln.Addr().String()
	fmt.Fprintf(a.stdout, "Serving school %q on %s\n", school, base)
	fmt.Fprintf(a.stdout, "  HubSpot webhooks:     %s/hubspot/webhooks\n", base)
	if a.cfg.lwHookSecret != "" {
		fmt.Fprintf(a.stdout, "  LearnWorlds webhooks: %s/learnworlds/webhooks\n", base)
	}
	fmt.Fprintf(a.stdout, "  health: %s/healthz  status: %s/status\n", base, base)
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
