// Package hubsync keeps an online school's learners and HubSpot CRM contacts in sync.
//
// An LMS backend embeds it (or a standalone service runs it over the public LearnWorlds API) to
// get what the LearnWorlds HubSpot integration promises: learner changes reach HubSpot within
// seconds, HubSpot contact changes come back for the fields mapped that way, lifecycle stages and
// timeline events are kept, and a manual sync backfills everything, resumable and at HubSpot's own
// rate limit.
//
// The root package holds two things: the vocabulary (pure types, no I/O, so mapping logic can be
// unit-tested in isolation and a settings screen built on them) and the [Engine], which runs the
// sync for many schools through the ports below.
//
// # The engine
//
// A host creates one [Engine] with [New] and a [Config] (Store, Queue, Learners and the HubSpot
// app; everything else defaults), runs its workers with [Engine.Run], and calls it:
//
//   - [Engine.AuthorizeURL] and [Engine.CompleteConnect] connect a school to its HubSpot portal
//     (OAuth with a signed, expiring CSRF state); [Engine.Connection] shows the connected
//     account; [Engine.Disconnect] revokes and forgets the tokens. A refresh HubSpot refuses
//     deactivates the school, tells it once through the [Notifier], and keeps its pending work.
//   - [Engine.SaveSettings] stores a school's [Settings] and returns the mapping report against
//     the portal's live property schema; [Engine.Catalog] and [Engine.Properties] list the two
//     sides a mapping row joins, for a settings screen's pickers (package settingsui is one).
//   - [Engine.LearnerChanged] on every learner change, and [Engine.Record] for every activity:
//     changes are queued durably, coalesced per learner, and sent as batch upserts of up to 100
//     contacts, only the values that changed; lifecycle stages follow [LifecycleRule]; timeline
//     events are sent once per occurrence, once-kinds once per learner.
//   - [Engine.HubSpotWebhooks] is the http.Handler for HubSpot's signed contact webhooks
//     (HubSpot -> LMS and two-way; see inbound.go for the echo and conflict rules).
//   - [Engine.StartManualSync], [Engine.ManualSync] and [Engine.CancelManualSync] run the
//     resumable backfill; [Engine.DryRun] plans one without writing anything; [Engine.Status]
//     gathers what a settings screen shows.
//   - [Engine.SyncHealth], [Engine.SyncHealthAll] and [Engine.SyncHealthSummary] list the
//     learners in sync, excluded and failing; [Engine.DeadLetters], [Engine.ReplayDead] and
//     [Engine.DiscardDead] handle the jobs the queue gave up on.
//   - Run also starts a janitor that deletes webhook dedupe records and sync log entries past
//     their [Retention] (72 hours and 30 days by default); [Engine.Prune] is one pass of it. While
//     HubSpot is down, a school's queue takes repeatable timeline events until it holds
//     Retention.MaxQueuedEvents jobs; then [Engine.Record] refuses them with [ErrQueueFull].
//   - Run also catches up after downtime ([CatchUp]): when a school's intake has been silent,
//     the process was down or a webhook reveals a gap, one catch-up reads what changed meanwhile
//     (HubSpot's Webhooks Journal or a modified-since search) through the normal paths;
//     [Engine.CatchUpSince] runs one by hand and [Engine.LastCatchUp] reports it.
//
// HubSpot's limits are respected per portal: requests are paced under the portal's rate limit,
// a 429 or an outage pauses that portal only and puts its jobs back without losing them, and live
// work goes ahead of backfill.
//
// # Directions
//
// A school's [SyncMode] is [ModeToHubSpot] (the default), [ModeToLMS] or [ModeTwoWay]. Only in
// two-way mode does each mapping row's own [Direction] count; [EffectiveDirection] applies that
// rule.
//
// # Mapping
//
// A [Mapping] row joins one LMS field (a [LearnerField] from the school's catalog, see
// [LearnWorldsCatalog]) to one HubSpot contact [Property]. Four types sync: string, number, date
// and datetime ([FieldType]), and both sides must agree. [ValidateMappings] returns a
// [MappingReport]: each row valid or invalid with machine-readable [Problem] codes (type mismatch,
// missing or archived field or property, read-only target for the row's direction, duplicate
// target, unsupported HubSpot type) and one warning when any row is invalid. Invalid rows are
// skipped; valid rows keep syncing. Email is the match key on both sides and always syncs by
// itself.
//
// # Values
//
// [ToHubSpot] and [FromHubSpot] convert values: HubSpot dates are YYYY-MM-DD (epoch milliseconds at
// midnight UTC are read too), datetimes ISO 8601 in UTC (or epoch milliseconds), LearnWorlds
// timestamps float Unix seconds, numbers plain decimals without float noise. A value that cannot
// convert is a [*ConversionError] naming the field and the kind of value, never an empty string.
//
// # Lifecycle stage
//
// [LifecycleRule] decides the stage: Lead on registration; with the school's "update lifecycle
// stage" setting on, Customer on enrolment or purchase (or on registering and purchasing at once).
// Stages only move forward, and a school's custom stages are never overwritten.
//
// # Timeline events
//
// Each [EventKind] is either once per learner (sign-up, deletion, first purchase: see
// [EventKind.Once]) or repeatable. Every [Activity] has a deterministic [Activity.OccurrenceID],
// sent to HubSpot as the event id, so a redelivered source event never becomes a second timeline
// entry; once-kinds also have an [Activity.OnceKey] for the store's ledger ([Store.ClaimOnce]).
// All kinds are on by default; [Settings.DisabledEvents] turns some off.
//
// # Settings
//
// [Settings] holds everything the seed's settings screen shows; its zero value is the seed's
// defaults ([DefaultSettings]) and [Settings.Validate] names every problem it finds.
//
// # Ports
//
// The engine reaches the outside only through interfaces declared in store.go, queue.go and
// learners.go: [Store]
// (settings, tokens, per-learner sync state, once-event ledger, webhook dedupe, checkpoints, the
// per-record sync log, sync health), [Queue] (durable leased jobs with coalescing keys and run-at
// times, dead letters to replay or discard),
// [Clock] (package clock; nil means real time) and [Learners] (the LMS side: a host implements it
// over its own database, package learnworlds implements it over the public API). Failures are
// reported with sentinel errors such as [ErrNotFound], [ErrConflict] and [ErrLeaseLost], checked
// with errors.Is. A Learners implementation tells the engine "later" with [ErrUnavailable] or
// [RetryAfter], and "never" with [Permanent]; the Learners doc comment lists what each does.
//
// A Store given a [Sealer] keeps the tokens sealed at rest (package seal's Keyring: AES-256-GCM,
// key ids, rotation); [ResealConnections] re-seals every school's tokens with the current key.
//
// Implementations: hubsynctest (fake clock, in-memory store), store/sqlitestore (the embedded
// default) and store/pgstore (many instances on one database); store/storetest is the conformance
// suite every Store and Queue must pass. Package hubspot is the typed HubSpot client and
// hubspot/hubspottest a stateful fake HubSpot; package learnworlds and learnworlds/learnworldstest
// are the same for LearnWorlds.
//
// # Where things are
//
// Vocabulary, pure (no I/O; test mapping logic and build screens on these alone):
//
//   - direction.go: SyncMode, Direction, EffectiveDirection
//   - fieldtype.go, convert.go: FieldType and value conversion (ToHubSpot, FromHubSpot)
//   - catalog.go: LearnerField, FieldIndex, the LearnWorlds field catalog
//   - mapping.go: Mapping rows, Property, ValidateMappings and its MappingReport
//   - lifecycle.go: LifecycleRule
//   - timeline.go: EventKind, Activity, OccurrenceID and OnceKey
//   - settings.go: Settings and its Validate; ValidateEmail, FoldEmail, MaskEmail
//   - errors.go: sentinel errors and the control errors (ErrUnavailable, RetryAfter, Permanent)
//   - health.go: sync health (HealthEntry, HealthStatus, Exclusion, HealthFilter) and HealthOf,
//     the rule from a sync log entry to a learner's health
//
// Ports, the interfaces the engine reaches the outside through (and their records):
//
//   - store.go: Store, Transactor, Connection, SyncState, Checkpoint, the sync log
//   - seal.go: Sealer, how stores seal tokens at rest (SealToken, OpenToken, ErrUnseal)
//   - queue.go: Queue, JobSpec, Job, MaxAttemptsDefault
//   - learners.go: Learners, Learner, NewLearner, LearnerPage
//
// The engine (I/O through the ports and package hubspot):
//
//   - hubsync.go: Config, New, Run, RunOnce, the job kinds and handleBatch
//   - engine_worker.go: the worker pools per lane, idle waits, lease heartbeats
//   - engine_reclaim.go: taking back at once the jobs of a process of this machine that died
//   - engine_schools.go: each school's runtime state in this process, and the portal index
//   - engine_failure.go: the failure policy (what an error does to the work), in one place
//   - engine_connect.go: OAuth connect, Disconnect, tokens, a lost connection
//   - engine_settings.go: SaveSettings, Settings, MappingReport, Catalog, Properties, the schema cache
//   - engine_outbound.go: LearnerChanged, Record, the LMS -> HubSpot batch (outRun)
//   - engine_tx.go: LearnerChangedTx, RecordTx: the same jobs queued in the caller's transaction
//   - engine_timeline.go: sending timeline events
//   - inbound.go: HubSpot -> LMS: webhook intake, matching, new learners (inRun)
//   - engine_manual.go: manual sync
//   - engine_manual_progress.go: manual sync progress: time worked, rate and ETA, its JSON form
//   - engine_status.go: Status for settings screens
//   - engine_status_health.go: a school's health in Status (degraded: connection lost, invalid
//     mapping rows, dead jobs)
//   - engine_metrics.go, engine_metrics_lms.go: the OpenTelemetry instruments
//     (Config.MeterProvider), the counting HubSpot transport and Learners, CountWebhooks
//   - engine_synclog.go: collecting a batch's sync log entries, written with their sync health
//   - engine_health.go: the sync health lists (SyncHealth, SyncHealthAll, SyncHealthSummary)
//   - engine_deadletters.go: dead letters listed masked, replayed, discarded; MaskEmails
//   - engine_dryrun.go: DryRun, a manual sync with a plan in place of every write
//   - engine_janitor.go: Retention, the janitor and Prune
//   - engine_bounds.go: the cap on repeatable timeline events queued during a long outage
//   - reseal.go: ResealConnections, re-sealing every school's tokens
//   - engine_catchup.go: watermarks, catch-ups after downtime (CatchUp, CheckCatchUps,
//     CatchUpSince, the optional ChangedLearners), by modified-since search
//   - engine_journal.go: catching up from HubSpot's Webhooks Journal (docs/catchup.md)
package hubsync
