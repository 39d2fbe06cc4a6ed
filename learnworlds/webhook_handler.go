package learnworlds

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/internal/logthrottle"
)

// MaxWebhookBody is the largest webhook body WebhookHandler reads.
const MaxWebhookBody = 1 << 20

// WebhookHandler returns an http.Handler for LearnWorlds webhook deliveries: it accepts only POST
// (405), reads at most MaxWebhookBody bytes (413), verifies the signature with v (401), parses the
// v2 envelope (400; 200 for an unsupported version, which a retry would not fix, logged), and calls fn
// with the event: fn's error answers 500 so that LearnWorlds may redeliver, nil answers 200. fn
// should be fast and idempotent (deduplicate on Event.DedupeKey). A refused signature is logged
// at warn level with the remote address, at most once every 10 s (the line counts the refusals
// left out), so an attack shows without flooding the log. A nil log discards.
func WebhookHandler(v Verifier, log *slog.Logger, fn func(ctx context.Context, ev Event) error) http.Handler {
	return webhookHandler(v, log, nil, fn)
}

// webhookHandler is WebhookHandler timing its log throttle by clk (nil means real time).
func webhookHandler(v Verifier, log *slog.Logger, clk clock.Clock, fn func(ctx context.Context, ev Event) error) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	refusals := logthrottle.New(clk, logthrottle.Every)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "learnworlds: webhooks are POSTed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxWebhookBody+1))
		if err != nil {
			http.Error(w, "learnworlds: unreadable body", http.StatusBadRequest)
			return
		}
		if len(body) > MaxWebhookBody {
			http.Error(w, "learnworlds: webhook body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := v.Verify(r.Header.Get(SignatureHeader), body); err != nil {
			if ok, left := refusals.Allow(); ok {
				log.WarnContext(r.Context(), "learnworlds: webhook refused: bad signature", "remote", r.RemoteAddr, "err", err, "refusals_not_logged", left)
			}
			http.Error(w, "learnworlds: bad signature", http.StatusUnauthorized)
			return
		}
		ev, err := ParseWebhook(body)
		if errors.Is(err, ErrUnsupportedVersion) {
			log.WarnContext(r.Context(), "learnworlds: webhook of an unsupported version ignored", "err", err)
			w.WriteHeader(http.StatusOK)
			return
		}
		if err != nil {
			log.WarnContext(r.Context(), "learnworlds: webhook not understood", "err", err)
			http.Error(w, maskEmails(err.Error()), http.StatusBadRequest)
			return
		}
		if err := fn(r.Context(), ev); err != nil {
			log.ErrorContext(r.Context(), "learnworlds: webhook handling failed", "type", ev.Type, "err", err)
			http.Error(w, "learnworlds: handling failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}
