// Package learnworlds is a typed client of the LearnWorlds API v2 for one school, the parser and
// signature check of LearnWorlds v2 webhooks, and [Learners], the adapter that implements the
// root package's hubsync.Learners port over the public API so the sync engine can run against a
// real school.
//
// # Client
//
// [New] takes the school's address (a learnworlds.com or custom domain; "/admin/api" is added
// when missing), the client id (sent as the Lw-Client header on every call) and either the client
// secret, from which access tokens are minted with the client-credentials grant exactly as the API
// wants it (a form field "data" holding the JSON credentials), or a static access token. Minted
// tokens are cached until a minute before expires_in and minted again once when the API refuses
// one (401, or 400 access_denied).
//
// Every call, the token request included, waits on the injected clock for a slot of the client's
// rate window (30 requests / 10 s by default, the documented limit, which [Config] can change):
// a request holds its slot until the window has passed since its answer, so the school never
// counts more than the limit in any window, and waiting calls are served in the order they came.
// A 429 {"error":"Too many requests"} is
// retried with exponential backoff, or after Retry-After when the answer has it (the API documents
// no such header), and pauses the client's other calls; a 5xx is retried for reads and idempotent
// writes, never for a create. Retry-After is read within [0, [MaxRetryAfter]] (an hour: a larger
// or overflowing value is taken as the hour, a negative one or a past date as zero), and one
// longer than [Config].MaxBackoff is not waited through: the call returns its [*APIError] at once
// with RetryAfter set. Every error answer, in any of the API's four shapes or as HTTP 200
// with success:false, becomes an [*APIError] with per-field validation messages; it matches
// hubsync.ErrNotFound, hubsync.ErrConflict, [ErrUnauthorized], [ErrRateLimited] and
// [ErrValidation] with errors.Is, and hubsync.ErrUnavailable for a 429 and every 5xx ([APIError.Is]).
// A request that gets no answer (connection refused or reset, timeout, DNS failure) returns an
// error matching hubsync.ErrUnavailable as well, through which errors.As still finds the transport
// error. Errors and logs never carry a token, a secret or a full email.
//
// Users: [Client.Users] iterates over all users 200 a page, stopping at meta.totalPages because
// the API answers a page past the end with the last page again; [Client.GetUser] takes an id or
// an email; [Client.CreateUser], [Client.UpdateUser] (never password, role or enrollments),
// [Client.UpdateTags] (attach/detach) and [Client.LatestPayment].
//
// # Webhooks
//
// [ParseWebhook] reads the v2 envelope of every documented event into an [Event] whose User is
// normalised: webhook UTM keys (fc_source) renamed to the API's (fc_utm_source), the doubly nested
// user of subscriptionPaymentPlanBought unwrapped, tag events (whose data is the user itself, with
// the full tag list) and leads read as users, ISO dates converted to Unix seconds. LearnWorlds
// sends no event id, so Event.DedupeKey is the SHA-256 of the raw body. [Verifier] checks the
// Learnworlds-Webhook-Signature header in constant time, as a static shared value by default or as
// an HMAC-SHA256 of the body, since the documentation is ambiguous; [WebhookHandler] wraps both.
//
// # Learners adapter
//
// [NewLearners] maps school ids to clients and catalog options. Learner.Values uses the flat
// keys of hubsync.LearnWorldsCatalog. Update refuses, with hubsync.ErrReadOnly naming the field,
// what the API cannot write (first and last name, sign-up date, billing details, UTMs, usage
// fields). Whether PUT merges or replaces the fields object is undocumented, so the first writes
// of a school read the learner, send the changes and check the answer: once PUT is seen to merge,
// a write is one call with the changed fields only (nothing read, so nothing changed meanwhile in
// the school is sent back older); once it is seen to replace, the wiped fields are restored at
// once and every later write reads and sends the whole object. The last purchase date costs one
// call per learner and is opt-in ([School].LastPurchaseDate); without it the catalog reports the
// field as not readable, so a row mapping it is invalid rather than never filled.
//
// [Learners.EngineWebhooks] feeds a school's webhooks to the engine. A delivery is answered 200
// only once its work is queued; with the engine's Store as dedupe, marking it seen and queueing
// its work are one transaction, so a delivery that could not be queued is taken again when
// LearnWorlds redelivers it. A userUpdated records a sign-up only for a learner created within
// [RegistrationWindow]: LearnWorlds sends the same event for every profile change.
//
// The adapter's errors tell the engine what to do with the work. When the API cannot take it now
// (a 429, a 5xx, no answer at all) the error matches hubsync.ErrUnavailable, and the engine pauses
// the school without counting an attempt; when a 429 or 503 says how long with Retry-After, the
// error is a *hubsync.RetryAfterError with that Delay (at most [MaxRetryAfter]), and the engine
// waits exactly that. A refusal the API will never accept keeps its meaning: hubsync.ErrNotFound
// (404), [ErrValidation] (422, or a 400 naming fields) and hubsync.ErrConflict (email or username
// taken), logged per record by the engine.
//
// The fake school for tests is package learnworldstest.
package learnworlds
