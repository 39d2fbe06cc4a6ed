package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/internal/logthrottle"
)

// serve's operational endpoints: /healthz (liveness), /readyz (the store answers) and /metrics
// (Prometheus text; see metrics.go). /metrics is behind a bearer token, --metrics-token or
// --admin-token: it names the schools and portals and shows their traffic, which /healthz and
// /readyz do not, and a scraper given --metrics-token can read it without being able to change
// settings through /settings/. Without either token /metrics answers 403.

// opsFlags registers serve's --metrics-token.
func (a *app) opsFlags(fs *flag.FlagSet, metricsToken *string) {
	a.str(fs, metricsToken, "metrics-token", "HUBSYNC_METRICS_TOKEN", "", "bearer token /metrics requires (at least 16 characters; --admin-token is accepted too); without either /metrics is off")
}

// readyTimeout bounds /readyz's look at the store.
const readyTimeout = 2 * time.Second

// opsEndpoints holds what /healthz reports: whether the engine's workers run.
type opsEndpoints struct {
	stopped atomic.Bool // the engine's Run returned
}

// mount mounts /healthz, /readyz and, with a token, /metrics.
func (o *opsEndpoints) mount(mux *http.ServeMux, st hubsync.Queue, school hubsync.SchoolID, metrics http.Handler, adminToken, metricsToken string, log *slog.Logger) {
	// Liveness: 200 while the process can work (its workers run), even while the store or
	// HubSpot is down: restarting would not help, and the engine resumes by itself.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if o.stopped.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ok": false, "error": "stopping"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	// Readiness: 503 while the store does not answer (the webhooks could not be queued).
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if o.stopped.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ok": false, "error": "stopping"})
			return
		}
		if _, err := st.Stats(ctx, school); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ok": false, "error": "store unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	mux.Handle("GET /metrics", requireBearer([]string{metricsToken, adminToken}, "/metrics", log, metrics))
}

// checkMetricsToken refuses a short --metrics-token.
func checkMetricsToken(t string) error {
	if t != "" && len(t) < adminTokenMin {
		return &usageError{msg: fmt.Sprintf("--metrics-token is %d characters: use at least %d random ones (e.g. 32 hex digits)", len(t), adminTokenMin)}
	}
	return nil
}

// requireBearer answers h only to "Authorization: Bearer <t>" for one of the non-empty tokens,
// compared as SHA-256 digests in constant time (as requireAdmin does); 401 otherwise, refusals
// logged at most once every 10 s. With no token at all every request gets 403.
func requireBearer(tokens []string, what string, log *slog.Logger, h http.Handler) http.Handler {
	var want [][32]byte
	for _, t := range tokens {
		if t != "" {
			want = append(want, sha256.Sum256([]byte(t)))
		}
	}
	if len(want) == 0 {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusForbidden, map[string]any{"error": what + " is off: start serve with --metrics-token or --admin-token to turn it on"})
		})
	}
	refusals := logthrottle.New(nil, logthrottle.Every)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		match := 0
		for _, wt := range want {
			match |= subtle.ConstantTimeCompare(sum[:], wt[:])
		}
		if !ok || match != 1 {
			if ok, left := refusals.Allow(); ok {
				log.Warn("hubsync: "+what+" refused: missing or wrong token", "remote", r.RemoteAddr, "refusals_not_logged", left)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="hubsync"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "a token is required: Authorization: Bearer <token>"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// countedCap is c.wrap(h) with the cap's refusals counted in the webhook metric under source
// (h counts the deliveries it answers itself: HubSpotWebhooks does, and the LearnWorlds handler
// is wrapped in Engine.CountWebhooks).
func countedCap(eng *hubsync.Engine, source string, c capConcurrent, h http.Handler) http.Handler {
	refused := eng.CountWebhooks(source, http.HandlerFunc(capRefuse))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case c <- struct{}{}:
			defer func() { <-c }()
			h.ServeHTTP(w, r)
		default:
			refused.ServeHTTP(w, r)
		}
	})
}
