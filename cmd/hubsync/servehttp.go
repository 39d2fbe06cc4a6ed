package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hubsync/hubsync/internal/logthrottle"
)

// The limits of serve's HTTP surface (see docs/security.md).
const (
	// readTimeoutDefault bounds how long a request may take to arrive, headers and body: a body
	// trickled in a byte at a time is cut when it runs out. HubSpot waits 5 s for an answer.
	readTimeoutDefault = 15 * time.Second
	// idleTimeoutDefault bounds how long a kept-alive connection may sit between requests.
	idleTimeoutDefault = 60 * time.Second
	// maxWebhooksDefault is how many webhook requests serve handles at once; more are answered
	// 503 with Retry-After, which HubSpot and LearnWorlds retry.
	maxWebhooksDefault = 32
	// webhookRetryAfter is the Retry-After, in seconds, of a webhook refused for the cap.
	webhookRetryAfter = "5"
	// adminTokenMin is the shortest --admin-token accepted.
	adminTokenMin = 16
)

// serveLimits are serve's HTTP settings, from flags.
type serveLimits struct {
	readTimeout, idleTimeout time.Duration
	maxWebhooks              int
	adminToken               string
	legacySignatures         bool
}

// limitFlags registers serve's HTTP flags; the returned function validates them after parsing.
func (a *app) limitFlags(fs *flag.FlagSet) func() (serveLimits, error) {
	var read, idle, maxHooks, legacy string
	var l serveLimits
	a.str(fs, &read, "read-timeout", "HUBSYNC_READ_TIMEOUT", readTimeoutDefault.String(), "longest a request may take to arrive, headers and body (a slower one is cut)")
	a.str(fs, &idle, "idle-timeout", "HUBSYNC_IDLE_TIMEOUT", idleTimeoutDefault.String(), "longest a kept-alive connection may sit idle")
	a.str(fs, &maxHooks, "max-webhooks", "HUBSYNC_MAX_WEBHOOKS", strconv.Itoa(maxWebhooksDefault), "webhook requests handled at once; more are answered 503 with Retry-After")
	a.str(fs, &l.adminToken, "admin-token", "HUBSYNC_ADMIN_TOKEN", "", "bearer token /status requires (at least 16 characters; prefer the environment variable); without it /status is off")
	a.str(fs, &legacy, "hubspot-legacy-signatures", "HUBSYNC_HUBSPOT_LEGACY_SIGNATURES", "", "true to also accept HubSpot v1/v2 webhook signatures, which have no timestamp and so allow replays (default: v3 only)")
	return func() (serveLimits, error) {
		var err error
		if l.readTimeout, err = time.ParseDuration(read); err != nil || l.readTimeout < time.Second || l.readTimeout > 10*time.Minute {
			return l, &usageError{msg: fmt.Sprintf("--read-timeout %q: want a duration from 1s to 10m", read)}
		}
		if l.idleTimeout, err = time.ParseDuration(idle); err != nil || l.idleTimeout < time.Second || l.idleTimeout > time.Hour {
			return l, &usageError{msg: fmt.Sprintf("--idle-timeout %q: want a duration from 1s to 1h", idle)}
		}
		if l.maxWebhooks, err = strconv.Atoi(maxHooks); err != nil || l.maxWebhooks < 1 || l.maxWebhooks > 10000 {
			return l, &usageError{msg: fmt.Sprintf("--max-webhooks %q: want a whole number from 1 to 10000", maxHooks)}
		}
		if l.adminToken != "" && len(l.adminToken) < adminTokenMin {
			return l, &usageError{msg: fmt.Sprintf("--admin-token is %d characters: use at least %d random ones (e.g. 32 hex digits)", len(l.adminToken), adminTokenMin)}
		}
		if legacy != "" {
			if l.legacySignatures, err = strconv.ParseBool(legacy); err != nil {
				return l, &usageError{msg: fmt.Sprintf("--hubspot-legacy-signatures %q: want true or false", legacy)}
			}
		}
		return l, nil
	}
}

// capConcurrent lets at most n requests through the handlers it guards (countedCap) at once,
// shared by all of them (make one per group of handlers); one more is answered 503 with
// Retry-After at once, so the sender retries later instead of holding a connection open.
type capConcurrent chan struct{}

// capRefuse answers a request over the cap: 503 with Retry-After.
func capRefuse(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Retry-After", webhookRetryAfter)
	http.Error(w, "hubsync: too many webhook requests at once; retry", http.StatusServiceUnavailable)
}

// requireAdmin answers h only to a request carrying "Authorization: Bearer <token>"; others get
// 401. The comparison is of the SHA-256 digests of both tokens, in constant time, so it leaks
// neither the token nor its length. Refusals are logged with the remote address, at most once
// every 10 s. An empty token turns h off: every request gets 403 naming the flag.
func requireAdmin(token string, log *slog.Logger, h http.Handler) http.Handler {
	if token == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusForbidden, map[string]any{"error": "/status is off: start serve with --admin-token (or HUBSYNC_ADMIN_TOKEN) to turn it on"})
		})
	}
	want := sha256.Sum256([]byte(token))
	refusals := logthrottle.New(nil, logthrottle.Every)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			if ok, left := refusals.Allow(); ok {
				log.Warn("hubsync: /status refused: missing or wrong admin token", "remote", r.RemoteAddr, "refusals_not_logged", left)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="hubsync"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "an admin token is required: Authorization: Bearer <token>"})
			return
		}
		h.ServeHTTP(w, r)
	})
}
