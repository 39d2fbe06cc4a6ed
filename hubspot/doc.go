// Package hubspot is a typed client for the parts of HubSpot's public API that keep an online
// school's learners and HubSpot contacts in sync: OAuth, contacts, contact properties, timeline
// events, webhook signatures, and the rate limits that govern all of them.
//
// # Clients and portals
//
// A [Client] talks to one portal (one installed HubSpot account) with that portal's tokens, and
// owns that portal's request budget (110 requests per 10 s by default, adjusted from the
// X-HubSpot-RateLimit-Max and -Interval-Milliseconds headers) and a separate search lane (5 per
// second). Each lane keeps HubSpot's rolling-window rule itself: a request holds one of the n
// slots until the window, plus a small skew allowance, has passed since its answer arrived, so
// HubSpot never counts more than n in a window however the network delays requests, while a
// backlogged client sends n per window plus one answer time. A new client first sends one request
// and takes its X-HubSpot-RateLimit-Remaining as what others left of the window. Create one
// Client per connected portal:
//
//	oa, _ := hubspot.NewOAuth(app)
//	ts := oa.TokenSource(storedToken, saveToken) // refreshes from expires_in, persists each token
//	c, _ := hubspot.New(hubspot.WithTokenSource(ts))
//
// Both API generations work; [WithVersion] picks v3 paths (/crm/v3/objects/contacts) or the
// date-versioned ones (/crm/objects/2026-03/contacts, /oauth/2026-03/token), the default.
//
// # Errors
//
// Every method takes a context first and returns:
//   - [ErrConnectionRevoked] when HubSpot refuses the refresh token (invalid_grant /
//     BAD_REFRESH_TOKEN): the app was uninstalled or disconnected. A 401 alone is not this.
//   - *[RateLimitError] when a limit outlasts what the client waits by itself (a DAILY 429, with
//     its reset time; a 477 migration with a long Retry-After); reschedule after RetryAfter.
//   - *[APIError] for any other refusal, with status, category, sub-category, message,
//     correlation id and per-field errors. errors.Is(err, [ErrNotFound]) matches a 404.
//   - [ErrInvalidInput] (wrapped, with a message naming the problem) for input the client refuses
//     to send.
//
// Short waits are handled inside: a ten-secondly 429 pauses the portal's bucket for the window,
// 423 waits 2 s, 477 honours Retry-After, 5xx and dropped connections back off with jitter. Retries
// are bounded ([WithRetry]) and stop when the context ends. No wait read from HubSpot, slept
// through or returned as RetryAfter is longer than [MaxRetryAfter] (a day): a larger Retry-After or
// rate-limit interval, or one too large for a time.Duration, is taken as that cap, and a negative
// one or a date in the past as zero.
//
// # Batches
//
// [Client.BatchUpsertByEmail] writes up to 100 contacts per request, case-folding and
// de-duplicating emails first; when one input is bad, HubSpot either answers 207 or fails the
// whole batch, and the client isolates the bad input (by splitting when needed) so the rest are
// written. [Client.CreateTimelineEvents] does the same for timeline events, and counts an
// occurrence HubSpot already has (409) as delivered, so deterministic ids
// ([TimelineEventID]) make retries safe.
//
// # Webhooks
//
// [ParseWebhookEvents] decodes a delivery; [VerifyRequest] (or [VerifyV3], [VerifyV1],
// [VerifyV2]) checks its signature in constant time.
//
// # Testing
//
// Package hubspottest is a stateful fake HubSpot served over real HTTP, for tests, benchmarks and
// demos.
package hubspot
