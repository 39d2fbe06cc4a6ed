package hubsync

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// The engine's metrics, through the OpenTelemetry metrics API. Without Config.MeterProvider every
// instrument is OTel's no-op and nothing else is wrapped, so an engine without metrics pays a
// few no-op calls per batch. Every instrument and every attribute set the hot path uses is made
// once, in newMetrics; recording a job, a request or a latency allocates nothing of ours.
//
// Names, units and attributes (a Prometheus exporter turns dots into underscores and adds
// _total to counters and the unit to names, e.g. hubsync_jobs_total, hubsync_sync_latency_seconds):
//
//	hubsync.queue.jobs           gauge      school, kind, state (ready, scheduled, leased, dead)
//	hubsync.jobs                 counter    kind, outcome (done, retried, released, dead)
//	hubsync.requests             counter    service (hubspot, lms), status (ok, 429, 4xx, 5xx, unavailable, error)
//	hubsync.hubspot.budget.used  gauge      portal: requests spent in HubSpot's current window
//	hubsync.hubspot.budget.limit gauge      portal: requests allowed per window
//	hubsync.sync.latency         histogram  direction (to_hubspot, to_lms), seconds: from queueing
//	                                        a change to its job being done
//	hubsync.webhooks             counter    source (hubspot, learnworlds), result (accepted,
//	                                        refused), reason (ok, signature, malformed, too_large,
//	                                        method, busy, not_queued, other)
//	hubsync.manual.records       gauge      school, outcome (done, created, updated, unchanged,
//	                                        skipped, failed, partial, total)
//	hubsync.manual.running       gauge      school: 1 while this process runs its manual sync
//	hubsync.schools              gauge      state (connected, lost, not_connected)
//	hubsync.connections.lost     counter    school: connections this process saw lost
//
// Labels never hold an email, a token or an error text: schools, portals and fixed words only.
// The observable gauges (queue, budget, schools) are read from the store when the host's reader
// collects, and only while Run runs.

// meterName is the instrumentation scope of the engine's instruments.
const meterName = "github.com/hubsync/hubsync"

// latencyBuckets are the bounds, in seconds, of the latency histograms: from a live change's
// fraction of a second to a backlog of hours.
var latencyBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600}

// Outcomes of a finished job, as counted by hubsync.jobs.
var jobOutcomes = [...]string{actAck: "done", actRetry: "retried", actRelease: "released", actKill: "dead"}

// Request statuses, as counted by hubsync.requests.
const (
	reqOK = iota
	req429
	req4xx
	req5xx
	reqUnavailable
	reqError
	reqStatuses
)

var requestStatusNames = [reqStatuses]string{"ok", "429", "4xx", "5xx", "unavailable", "error"}

// Webhook refusal reasons, as counted by hubsync.webhooks.
var webhookReasons = []string{"ok", "signature", "malformed", "too_large", "method", "busy", "not_queued", "other"}

// metricKinds are the job kinds with attribute sets of their own; any other kind counts as "other".
var metricKinds = []JobKind{JobContact, JobStage, JobEvent, JobInbound, JobManual, JobManualCarry, JobCatchUp}

type metrics struct {
	on bool // a MeterProvider was given

	jobs      metric.Int64Counter
	jobOpts   map[JobKind]*[len(jobOutcomes)][]metric.AddOption
	otherJobs [len(jobOutcomes)][]metric.AddOption

	requests metric.Int64Counter
	reqOpts  [2][reqStatuses][]metric.AddOption // [hubspot, lms]

	latency  metric.Float64Histogram
	toHubSpt []metric.RecordOption
	toLMS    []metric.RecordOption

	webhooks metric.Int64Counter
	hookOpts map[string]map[string][]metric.AddOption // source -> reason

	manualRecords metric.Int64Gauge
	manualRunning metric.Int64Gauge
	lost          metric.Int64Counter

	queueJobs   metric.Int64ObservableGauge
	budgetUsed  metric.Int64ObservableGauge
	budgetLimit metric.Int64ObservableGauge
	schoolsG    metric.Int64ObservableGauge
	meter       metric.Meter

	mu  sync.Mutex
	reg metric.Registration // the observable gauges' callback, while Run runs
}

const (
	svcHubSpot = 0
	svcLMS     = 1
)

func addOpt(kv ...attribute.KeyValue) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
}

// newMetrics makes every instrument and attribute set once. mp nil means no metrics (no-op).
func newMetrics(mp metric.MeterProvider) *metrics {
	m := &metrics{on: mp != nil}
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	meter := mp.Meter(meterName)
	m.meter = meter
	// The API returns a usable (no-op) instrument alongside an error; the errors are about names
	// and units fixed here, so they are dropped.
	m.jobs, _ = meter.Int64Counter("hubsync.jobs", metric.WithDescription("Jobs finished, by kind and outcome (done, retried, released without counting an attempt, dead-lettered by the engine)"), metric.WithUnit("{job}"))
	m.requests, _ = meter.Int64Counter("hubsync.requests", metric.WithDescription("HubSpot HTTP requests and LMS (Learners) calls, by status; 429s apart"), metric.WithUnit("{request}"))
	m.latency, _ = meter.Float64Histogram("hubsync.sync.latency", metric.WithDescription("Time from queueing a change to its job being done, by direction"), metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(latencyBuckets...))
	m.webhooks, _ = meter.Int64Counter("hubsync.webhooks", metric.WithDescription("Webhook deliveries, accepted or refused by reason"), metric.WithUnit("{delivery}"))
	m.manualRecords, _ = meter.Int64Gauge("hubsync.manual.records", metric.WithDescription("The running or last manual sync's record counts in this process, by outcome (total: the current phase's records, -1 when unknown)"), metric.WithUnit("{record}"))
	m.manualRunning, _ = meter.Int64Gauge("hubsync.manual.running", metric.WithDescription("1 while this process runs the school's manual sync, else 0"))
	m.lost, _ = meter.Int64Counter("hubsync.connections.lost", metric.WithDescription("HubSpot connections this process saw lost (refresh refused, app uninstalled)"), metric.WithUnit("{connection}"))
	m.queueJobs, _ = meter.Int64ObservableGauge("hubsync.queue.jobs", metric.WithDescription("Jobs in the queue, by school, kind and state"), metric.WithUnit("{job}"))
	m.budgetUsed, _ = meter.Int64ObservableGauge("hubsync.hubspot.budget.used", metric.WithDescription("Requests spent in the portal's current HubSpot rate-limit window (from HubSpot's headers)"), metric.WithUnit("{request}"))
	m.budgetLimit, _ = meter.Int64ObservableGauge("hubsync.hubspot.budget.limit", metric.WithDescription("Requests the portal allows per rate-limit window"), metric.WithUnit("{request}"))
	m.schoolsG, _ = meter.Int64ObservableGauge("hubsync.schools", metric.WithDescription("Schools by connection state"), metric.WithUnit("{school}"))

	m.jobOpts = make(map[JobKind]*[len(jobOutcomes)][]metric.AddOption, len(metricKinds))
	for _, k := range metricKinds {
		var o [len(jobOutcomes)][]metric.AddOption
		for a, name := range jobOutcomes {
			o[a] = addOpt(attribute.String("kind", string(k)), attribute.String("outcome", name))
		}
		m.jobOpts[k] = &o
	}
	for a, name := range jobOutcomes {
		m.otherJobs[a] = addOpt(attribute.String("kind", "other"), attribute.String("outcome", name))
	}
	for svc, name := range [2]string{"hubspot", "lms"} {
		for s, st := range requestStatusNames {
			m.reqOpts[svc][s] = addOpt(attribute.String("service", name), attribute.String("status", st))
		}
	}
	m.toHubSpt = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("direction", "to_hubspot")))}
	m.toLMS = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("direction", "to_lms")))}
	m.hookOpts = map[string]map[string][]metric.AddOption{}
	for _, src := range []string{"hubspot", "learnworlds", "other"} {
		m.hookOpts[src] = map[string][]metric.AddOption{}
		for _, r := range webhookReasons {
			result := "refused"
			if r == "ok" {
				result = "accepted"
			}
			m.hookOpts[src][r] = addOpt(attribute.String("source", src), attribute.String("result", result), attribute.String("reason", r))
		}
	}
	return m
}

// finished counts a finished group of jobs and, for done live work, records its latency.
func (m *metrics) finished(ctx context.Context, jobs []Job, a action, now time.Time) {
	for i := range jobs {
		j := &jobs[i]
		o := m.jobOpts[j.Kind]
		if o == nil {
			m.jobs.Add(ctx, 1, m.otherJobs[a]...)
		} else {
			m.jobs.Add(ctx, 1, o[a]...)
		}
		if a != actAck || j.EnqueuedAt.IsZero() {
			continue
		}
		switch j.Kind {
		case JobContact, JobStage, JobEvent:
			m.latency.Record(ctx, now.Sub(j.EnqueuedAt).Seconds(), m.toHubSpt...)
		case JobInbound:
			m.latency.Record(ctx, now.Sub(j.EnqueuedAt).Seconds(), m.toLMS...)
		}
	}
}

// request counts one request to service (svcHubSpot, svcLMS) with status (req*).
func (m *metrics) request(ctx context.Context, service, status int) {
	m.requests.Add(ctx, 1, m.reqOpts[service][status]...)
}

// httpStatus maps an HTTP status to a request status.
func httpStatus(code int) int {
	switch {
	case code == http.StatusTooManyRequests:
		return req429
	case code >= 500:
		return req5xx
	case code >= 400:
		return req4xx
	case code >= 200 && code < 400:
		return reqOK
	}
	return reqError
}

// lmsStatus classifies the outcome of a Learners call. An error with an HTTPStatus() int method
// (learnworlds.APIError has one) is counted by that status; a RetryAfter is a 429; ErrNotFound
// a 4xx; ErrUnavailable unavailable.
func lmsStatus(err error) int {
	if err == nil {
		return reqOK
	}
	var hs interface{ HTTPStatus() int }
	if errors.As(err, &hs) {
		if s := httpStatus(hs.HTTPStatus()); s != reqOK {
			return s
		}
		return reqError // 200 with success:false
	}
	var ra *RetryAfterError
	switch {
	case errors.As(err, &ra):
		return req429
	case errors.Is(err, ErrNotFound):
		return req4xx
	case errors.Is(err, ErrUnavailable):
		return reqUnavailable
	}
	return reqError
}

// webhook counts one delivery from source refused for reason ("ok": accepted).
func (m *metrics) webhook(ctx context.Context, source, reason string) {
	bySrc := m.hookOpts[source]
	if bySrc == nil {
		bySrc = m.hookOpts["other"]
	}
	o := bySrc[reason]
	if o == nil {
		o = bySrc["other"]
	}
	m.webhooks.Add(ctx, 1, o...)
}

// webhookReason maps a webhook handler's answer to the reason it is counted under: the one
// policy for every webhook endpoint (HubSpot's, LearnWorlds', a host's).
func webhookReason(status int) string {
	switch {
	case status >= 200 && status < 300:
		return "ok"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "signature"
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return "malformed"
	case status == http.StatusRequestEntityTooLarge:
		return "too_large"
	case status == http.StatusMethodNotAllowed:
		return "method"
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return "busy"
	case status >= 500:
		return "not_queued"
	}
	return "other"
}

// manual records a school's manual sync progress.
func (m *metrics) manual(ctx context.Context, school SchoolID, p ManualProgress) {
	if !m.on {
		return
	}
	s := attribute.String("school", string(school))
	for _, c := range []struct {
		name string
		n    int
	}{{"done", p.Done}, {"created", p.Created}, {"updated", p.Updated}, {"unchanged", p.Unchanged},
		{"skipped", p.Skipped}, {"failed", p.Failed}, {"partial", p.Partial}, {"total", p.Total}} {
		m.manualRecords.Record(ctx, int64(c.n), metric.WithAttributes(s, attribute.String("outcome", c.name)))
	}
	running := int64(0)
	if p.State == ManualRunning {
		running = 1
	}
	m.manualRunning.Record(ctx, running, metric.WithAttributes(s))
}

// connectionLost counts a connection this process deactivated.
func (m *metrics) connectionLost(ctx context.Context, school SchoolID) {
	if m.on {
		m.lost.Add(ctx, 1, metric.WithAttributes(attribute.String("school", string(school))))
	}
}

// KindStatser is an optional interface of a Queue: StatsByKind counts a school's jobs by kind and
// state (see QueueStats), so the hubsync.queue.jobs metric can name the kind. The stores of this
// module implement it; for a Queue that does not, the metric's kind is "all".
type KindStatser interface {
	StatsByKind(ctx context.Context, school SchoolID) (map[JobKind]QueueStats, error)
}

// register starts the observable gauges' callback; unregister stops it. Run calls both.
func (e *Engine) registerMetrics() {
	m := e.metrics
	if !m.on {
		return
	}
	reg, err := m.meter.RegisterCallback(e.observe, m.queueJobs, m.budgetUsed, m.budgetLimit, m.schoolsG)
	if err != nil {
		e.log.Warn("hubsync: the metrics callback could not be registered; queue, budget and school gauges are off", "err", err)
		return
	}
	m.mu.Lock()
	m.reg = reg
	m.mu.Unlock()
}

func (e *Engine) unregisterMetrics() {
	m := e.metrics
	m.mu.Lock()
	reg := m.reg
	m.reg = nil
	m.mu.Unlock()
	if reg != nil {
		_ = reg.Unregister()
	}
}

// observe reports the observable gauges: each school's queue by kind and state and connection
// state, and each portal's budget. A store that fails is logged at debug level and skipped: a
// scrape never fails for it.
func (e *Engine) observe(ctx context.Context, o metric.Observer) error {
	m := e.metrics
	schools, err := e.cfg.Store.ListSchools(ctx)
	if err != nil {
		e.log.Debug("hubsync: metrics: listing schools failed", "err", err)
		return nil
	}
	var connected, lost, none int64
	ks, byKind := e.cfg.Queue.(KindStatser)
	for _, school := range schools {
		sa := attribute.String("school", string(school))
		switch c, err := e.cfg.Store.GetConnection(ctx, school); {
		case err == nil && c.Active:
			connected++
		case err == nil:
			lost++
		case errors.Is(err, ErrNotFound):
			none++
		}
		stats := map[JobKind]QueueStats{}
		if byKind {
			if stats, err = ks.StatsByKind(ctx, school); err != nil {
				continue
			}
			for _, k := range metricKinds { // a kind with no job reads 0, not absent
				if _, ok := stats[k]; !ok {
					stats[k] = QueueStats{}
				}
			}
		} else {
			st, err := e.cfg.Queue.Stats(ctx, school)
			if err != nil {
				continue
			}
			stats["all"] = st
		}
		for kind, st := range stats {
			ka := attribute.String("kind", string(kind))
			for _, s := range []struct {
				state string
				n     int
			}{{"ready", st.Ready}, {"scheduled", st.Scheduled}, {"leased", st.Leased}, {"dead", st.Dead}} {
				o.ObserveInt64(m.queueJobs, int64(s.n), metric.WithAttributes(sa, ka, attribute.String("state", s.state)))
			}
		}
	}
	o.ObserveInt64(m.schoolsG, connected, metric.WithAttributes(attribute.String("state", "connected")))
	o.ObserveInt64(m.schoolsG, lost, metric.WithAttributes(attribute.String("state", "lost")))
	o.ObserveInt64(m.schoolsG, none, metric.WithAttributes(attribute.String("state", "not_connected")))
	for _, p := range e.schools.portals() {
		pa := metric.WithAttributes(attribute.String("portal", strconv.FormatInt(p.portalID, 10)))
		n, _ := p.client.RateLimit()
		if rs := p.client.RateLimitStatus(); !rs.At.IsZero() && rs.Max > 0 {
			n = rs.Max
			if rs.Remaining >= 0 {
				o.ObserveInt64(m.budgetUsed, int64(rs.Max-rs.Remaining), pa)
			}
		}
		o.ObserveInt64(m.budgetLimit, int64(n), pa)
	}
	return nil
}

// portals returns the HubSpot clients of every school with one, each portal once.
func (s *schools) portals() []*portal {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[int64]bool{}
	var out []*portal
	for _, rt := range s.m {
		if p := rt.portal; p != nil && !seen[p.portalID] {
			seen[p.portalID] = true
			out = append(out, p)
		}
	}
	return out
}

// countingTransport counts every HubSpot HTTP request by status.
type countingTransport struct {
	base http.RoundTripper
	m    *metrics
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	switch {
	case err != nil:
		t.m.request(r.Context(), svcHubSpot, reqUnavailable)
	default:
		t.m.request(r.Context(), svcHubSpot, httpStatus(resp.StatusCode))
	}
	return resp, err
}

// instrumentHTTP returns c with its transport counting requests.
func (m *metrics) instrumentHTTP(c *http.Client) *http.Client {
	cc := *c
	base := cc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cc.Transport = &countingTransport{base: base, m: m}
	return &cc
}

// CountWebhooks returns h counting each delivery it answers in the hubsync.webhooks metric under
// source ("hubspot", "learnworlds"; another name counts as "other"), by the status it answers:
// 2xx accepted; refused 401/403 signature, 400/422 malformed, 413 too_large, 405 method, 429/503
// busy, other 5xx not_queued. HubSpotWebhooks counts itself; wrap the LearnWorlds handler, or a
// host's own, with it. Without Config.MeterProvider it returns h.
func (e *Engine) CountWebhooks(source string, h http.Handler) http.Handler {
	if !e.metrics.on {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		e.metrics.webhook(r.Context(), source, webhookReason(sw.status))
	})
}

// statusWriter remembers the status a handler answers.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
