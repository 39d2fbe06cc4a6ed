package hubsync

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// This file holds the engine's retention: how long the store keeps webhook dedupe records and
// the sync log, the janitor that prunes them while Run runs, and Prune, one pass of it. The cap
// on queued timeline events during a long outage, the third bound, is in engine_bounds.go.

// Defaults and floors of the Retention fields.
const (
	// WebhookRetentionDefault is how long a webhook dedupe record is kept: three times HubSpot's
	// retry window (HubSpot redelivers a webhook for up to 24 hours).
	WebhookRetentionDefault = 72 * time.Hour
	// WebhookRetentionMin is the shortest Retention.Webhooks accepted: HubSpot's 24-hour retry
	// window and an hour of margin, so a redelivery inside the window is always recognised.
	WebhookRetentionMin = 25 * time.Hour
	// SyncLogRetentionDefault is how long a sync log entry is kept.
	SyncLogRetentionDefault = 30 * 24 * time.Hour
	// JanitorEveryDefault is how often the janitor prunes.
	JanitorEveryDefault = 10 * time.Minute
	// MaxQueuedEventsDefault is the per-school cap on queued jobs beyond which Record refuses
	// repeatable timeline events (see Retention.MaxQueuedEvents): about 44 MB of jobs at the
	// 440 B an activity job was measured to take on SQLite.
	MaxQueuedEventsDefault = 100_000
)

// The floors of the fields with no contract reason for one: they catch a Duration given in the
// wrong unit (30 meaning 30 ns) before it empties the sync log, or makes the janitor spin.
const (
	syncLogRetentionMin = time.Hour
	janitorEveryMin     = time.Minute
)

// Retention bounds what would otherwise grow without limit: the webhook dedupe records, the sync
// log, and the jobs of repeatable timeline events queued while HubSpot cannot take them. Its zero
// value is the defaults.
//
// Run starts a janitor that prunes every Every: it deletes the dedupe records older than
// Webhooks and the sync log entries older than SyncLog, once when Run starts and then on every
// tick of the engine's Clock. Each process running an engine over one database prunes on its
// own; that is fine, since the deletes are idempotent (a record goes once, whoever deletes it,
// and the other processes' passes find little or nothing). Hosts that schedule their own
// maintenance turn the janitor off (Every < 0) and call Engine.Prune.
type Retention struct {
	// Webhooks is how long a webhook dedupe record (Store.MarkWebhookSeen) is kept
	// (WebhookRetentionDefault). A delivery seen again after that is processed again, which is
	// harmless for HubSpot (an inbound job reads the contact's current values) and for timeline
	// events (their occurrence ids dedupe them). It must be at least WebhookRetentionMin.
	// LearnWorlds documents no retry window for its webhooks; keep this longer than any it may
	// have.
	Webhooks time.Duration
	// SyncLog is how long a sync log entry is kept (SyncLogRetentionDefault); a negative value
	// keeps the log forever. A positive value must be at least an hour. Entries newer than it are
	// never deleted, so Status's newest failures and ListSyncLog over that period stay whole.
	SyncLog time.Duration
	// Every is how often the janitor prunes (JanitorEveryDefault); a negative value starts no
	// janitor (call Engine.Prune yourself). A positive value must be at least a minute.
	Every time.Duration
	// MaxQueuedEvents caps, per school, the jobs queued (Queue.Stats: Ready, Scheduled and
	// Leased, of every kind) beyond which Record refuses new repeatable timeline events with an
	// error wrapping ErrQueueFull (MaxQueuedEventsDefault); a negative value sets no cap. Only
	// the repeatable event's own job is refused: once-kinds (sign-up, deletion, first purchase),
	// lifecycle stages and learner changes are always queued, and the last two coalesce per
	// learner anyway. See engine_bounds.go for how the count is kept cheap.
	MaxQueuedEvents int
}

// withDefaults returns r with every zero field set to its default.
func (r Retention) withDefaults() Retention {
	if r.Webhooks == 0 {
		r.Webhooks = WebhookRetentionDefault
	}
	if r.SyncLog == 0 {
		r.SyncLog = SyncLogRetentionDefault
	}
	if r.Every == 0 {
		r.Every = JanitorEveryDefault
	}
	if r.MaxQueuedEvents == 0 {
		r.MaxQueuedEvents = MaxQueuedEventsDefault
	}
	return r
}

// validate names every field of r outside its range (zero means the default, always valid).
func (r Retention) validate() error {
	var errs []error
	if r.Webhooks != 0 && r.Webhooks < WebhookRetentionMin {
		errs = append(errs, fmt.Errorf("Config.Retention.Webhooks is %v: it must be at least %v (HubSpot redelivers a webhook for up to 24 hours), or 0 for %v",
			r.Webhooks, WebhookRetentionMin, WebhookRetentionDefault))
	}
	if r.SyncLog > 0 && r.SyncLog < syncLogRetentionMin {
		errs = append(errs, fmt.Errorf("Config.Retention.SyncLog is %v: it must be at least %v, negative to keep the log forever, or 0 for %v",
			r.SyncLog, syncLogRetentionMin, SyncLogRetentionDefault))
	}
	if r.Every > 0 && r.Every < janitorEveryMin {
		errs = append(errs, fmt.Errorf("Config.Retention.Every is %v: it must be at least %v, negative for no janitor, or 0 for %v",
			r.Every, janitorEveryMin, JanitorEveryDefault))
	}
	return errors.Join(errs...)
}

// Prune does one pass of the janitor now: it deletes the webhook dedupe records older than
// Retention.Webhooks and, unless the log is kept forever, the sync log entries older than
// Retention.SyncLog, and returns how many of each went. It is for hosts that schedule their own
// maintenance (with Retention.Every < 0) and for tests; several processes may prune one database
// at once. Both deletes are tried; the error joins the store's errors, each naming what failed.
func (e *Engine) Prune(ctx context.Context) (webhooks, logs int, err error) {
	r := e.cfg.Retention
	now := e.clk.Now()
	var errs []error
	webhooks, werr := e.cfg.Store.ForgetWebhooksBefore(ctx, now.Add(-r.Webhooks))
	if werr != nil {
		errs = append(errs, fmt.Errorf("hubsync: prune webhook dedupe records older than %v: %w", r.Webhooks, werr))
	}
	if r.SyncLog > 0 {
		var lerr error
		logs, lerr = e.cfg.Store.ForgetSyncLogBefore(ctx, now.Add(-r.SyncLog))
		if lerr != nil {
			errs = append(errs, fmt.Errorf("hubsync: prune sync log entries older than %v: %w", r.SyncLog, lerr))
		}
	}
	return webhooks, logs, errors.Join(errs...)
}

// janitor prunes (Prune) when it starts and then every Retention.Every of the engine's clock,
// until ctx ends. It logs what went at Debug and a failed pass at Warn; a failed pass is tried
// again at the next tick. A negative Every returns at once.
func (e *Engine) janitor(ctx context.Context) {
	every := e.cfg.Retention.Every
	if every < 0 {
		return
	}
	for {
		webhooks, logs, err := e.Prune(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			e.log.Warn("hubsync: janitor pass failed", "webhooks_pruned", webhooks, "sync_log_pruned", logs, "err", err)
		default:
			e.log.Debug("hubsync: janitor pass", "webhooks_pruned", webhooks, "sync_log_pruned", logs)
		}
		t := e.clk.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}
