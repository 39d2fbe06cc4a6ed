package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/internal/ratelimit"
	"github.com/hubsync/hubsync/internal/retryafter"
)

// maxBody caps how much of a response the client reads.
const maxBody = 64 << 20

// request describes one API call for do.
type request struct {
	method  string
	path    string
	query   url.Values
	body    any        // sent as JSON when non-nil
	form    url.Values // sent form-encoded when non-nil
	search  bool       // counts against the search lane
	noAuth  bool       // OAuth endpoints authenticate with the client secret in the body
	noRetry bool       // never resend (an authorization code is single-use)
}

// response is what do hands back on any 2xx. The body is not kept: it is read into a pooled
// buffer (readBody), decoded into do's out, and the buffer reused.
type response struct {
	status int
	header http.Header
}

// bodyBuffers holds the buffers answers are read into: an answer of a batch of 100 contacts is
// tens of kilobytes, which io.ReadAll allocated again and again, doubling, for every call.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer put back in bodyBuffers; a larger one (a big property
// list) is left to the garbage collector.
const maxPooledBody = 1 << 20

// readBody reads at most maxBody bytes of r into a buffer of bodyBuffers; the caller hands it to
// releaseBody once nothing refers to its bytes (decoding copies what it keeps).
func readBody(r io.Reader) (*bytes.Buffer, error) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(io.LimitReader(r, maxBody))
	return buf, err
}

func releaseBody(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBody {
		bodyBuffers.Put(buf)
	}
}

// doer is what do needs from its owner: a Client, or an OAuth that has no token source.
type doer struct {
	cfg    *config
	base   *url.URL
	limit  *ratelimit.Window
	search *ratelimit.Window
	token  func(ctx context.Context) (string, error)
	status *statusBox // nil for OAuth
}

func (c *Client) doer() *doer {
	return &doer{cfg: &c.cfg, base: c.base, limit: c.limit, search: c.search, token: c.accessToken, status: c.status}
}

// do sends req, waiting on the rate limiter before every attempt and retrying retryable answers
// within the configured budget, and decodes a 2xx JSON body into out when out is not nil. A non-2xx
// answer returns *APIError or *RateLimitError; a failed token refresh returns its own error
// (ErrConnectionRevoked among them).
func (d *doer) do(ctx context.Context, req request, out any) (*response, error) {
	var payload []byte
	contentType := ""
	switch {
	case req.body != nil:
		b, err := encodeBody(req.body)
		if err != nil {
			return nil, fmt.Errorf("hubspot: encoding %s body: %w", MaskEmails(req.path), err)
		}
		payload, contentType = b, "application/json"
	case req.form != nil:
		payload, contentType = []byte(req.form.Encode()), "application/x-www-form-urlencoded"
	}
	u := *d.base
	u.Path = strings.TrimRight(u.Path, "/") + req.path
	u.RawPath = ""
	if len(req.query) > 0 {
		u.RawQuery = req.query.Encode()
	}
	lim := d.limit
	if req.search {
		lim = d.search
	}
	bo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(500*time.Millisecond),
		backoff.WithMaxInterval(8*time.Second),
		backoff.WithRandomizationFactor(0.5),
		backoff.WithMultiplier(2),
		backoff.WithMaxElapsedTime(0),
		backoff.WithClockProvider(d.cfg.clk),
	)
	// Paths can hold an email (GET .../contacts/{email}?idProperty=email): show them masked.
	shown := MaskEmails(req.path)
	log := d.cfg.logger.With(slog.String("method", req.method), slog.String("path", shown))
	for attempt := 0; ; attempt++ {
		slot, err := acquire(ctx, lim) // held until the answer arrives (pacing.go)
		if err != nil {
			return nil, err
		}
		hreq, err := http.NewRequestWithContext(ctx, req.method, u.String(), bytes.NewReader(payload))
		if err != nil {
			slot.Cancel()
			return nil, fmt.Errorf("hubspot: building %s %s: %w", req.method, shown, err)
		}
		if payload == nil {
			hreq.Body = nil
			hreq.GetBody = nil
		}
		if contentType != "" {
			hreq.Header.Set("Content-Type", contentType)
		}
		hreq.Header.Set("Accept", "application/json")
		if !req.noAuth {
			tok, err := d.token(ctx)
			if err != nil {
				slot.Cancel()
				return nil, err
			}
			hreq.Header.Set("Authorization", "Bearer "+tok)
		}
		countRequest(ctx)
		resp, err := d.cfg.httpClient.Do(hreq)
		d.answered(slot, resp, req.search)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if req.noRetry || attempt >= d.cfg.maxRetries {
				return nil, fmt.Errorf("hubspot: %s %s: %w", req.method, shown, stripURL(err))
			}
			wait := bo.NextBackOff()
			log.Debug("hubspot: transport error, retrying", slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", MaskEmails(stripURL(err).Error())))
			if err := clock.Sleep(ctx, d.cfg.clk, wait); err != nil {
				return nil, err
			}
			continue
		}
		buf, err := readBody(resp.Body)
		resp.Body.Close()
		body := buf.Bytes()
		if err != nil {
			releaseBody(buf)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if req.noRetry || attempt >= d.cfg.maxRetries {
				return nil, fmt.Errorf("hubspot: %s %s: reading response: %w", req.method, shown, err)
			}
			// The request may have been carried out; as after a transport error, it is sent
			// again (a call that must not be repeated sets noRetry).
			wait := bo.NextBackOff()
			log.Debug("hubspot: reading the answer failed, retrying", slog.Int("status", resp.StatusCode), slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", MaskEmails(err.Error())))
			if err := clock.Sleep(ctx, d.cfg.clk, wait); err != nil {
				return nil, err
			}
			continue
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if out != nil && len(bytes.TrimSpace(body)) > 0 {
				if err := decodeAnswer(body, out); err != nil {
					releaseBody(buf)
					return nil, fmt.Errorf("hubspot: decoding %s %s answer (HTTP %d): %w", req.method, shown, resp.StatusCode, err)
				}
			}
			releaseBody(buf)
			return &response{status: resp.StatusCode, header: resp.Header}, nil
		}
		apiErr, eb := newAPIError(resp.StatusCode, body)
		releaseBody(buf)
		apiErr.RetryAfter = retryAfter(resp.Header, d.cfg.clk.Now())
		wait, rlErr, retryable := d.classify(req, resp, apiErr, eb, bo)
		if !retryable {
			if rlErr != nil {
				return nil, rlErr
			}
			return nil, apiErr
		}
		if req.noRetry || attempt >= d.cfg.maxRetries || wait > d.cfg.maxWait {
			if rlErr != nil {
				return nil, rlErr
			}
			return nil, apiErr
		}
		log.Debug("hubspot: retryable answer", slog.Int("status", resp.StatusCode), slog.Int("attempt", attempt), slog.Duration("wait", wait))
		if resp.StatusCode == http.StatusTooManyRequests && lim != nil {
			// Everybody on this lane waits out the window, not just this call: the limiter's
			// Wait at the top of the loop holds this call too.
			lim.PauseUntil(d.cfg.clk.Now().Add(wait))
			continue
		}
		if err := clock.Sleep(ctx, d.cfg.clk, wait); err != nil {
			return nil, err
		}
	}
}

// classify decides what a non-2xx answer means: how long to wait before retrying, the typed error
// to return if the wait is not taken, and whether the answer is retryable at all. Every wait, and
// the RetryAfter of the typed error, is at most MaxRetryAfter.
func (d *doer) classify(req request, resp *http.Response, apiErr *APIError, eb *errorBody, bo backoff.BackOff) (time.Duration, *RateLimitError, bool) {
	now := d.cfg.clk.Now()
	limited := func(code int, policy string, wait time.Duration, msg string) (time.Duration, *RateLimitError, bool) {
		wait = min(wait, MaxRetryAfter)
		return wait, &RateLimitError{StatusCode: code, Policy: policy, RetryAfter: wait, Reset: now.Add(wait), Message: msg}, true
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		policy := eb.PolicyName
		if policy == "DAILY" {
			// Reset is the true midnight; RetryAfter stops at the cap (a 25-hour day when the
			// clocks go back), and a retry then meets the limit again.
			reset := nextMidnight(now, d.cfg.dailyReset)
			return 0, &RateLimitError{StatusCode: code, Policy: policy, RetryAfter: min(reset.Sub(now), MaxRetryAfter), Reset: reset, Message: eb.Message}, false
		}
		return limited(code, policy, max(d.windowFor(req, resp.Header, eb), apiErr.RetryAfter), eb.Message)
	case code == http.StatusLocked: // 423: a high-volume lock on the object, held for 2 s
		return limited(code, "LOCKED", max(2*time.Second, apiErr.RetryAfter), apiErr.Message)
	case code == 477: // Migration in Progress, with Retry-After in seconds (up to about a day)
		return limited(code, "MIGRATION_IN_PROGRESS", max(apiErr.RetryAfter, time.Second), apiErr.Message)
	case code == 500 || code == 502 || code == 503 || code == 504 || code == 521 || code == 523 || code == 524:
		return min(max(bo.NextBackOff(), apiErr.RetryAfter), MaxRetryAfter), nil, true
	default: // 4xx, and 522/525/526, which HubSpot says need support, not retries
		return 0, nil, false
	}
}

// windowFor returns how long a non-daily 429 makes the lane wait: a search or "secondly" limit
// lasts a second; otherwise the interval HubSpot announced, or the configured one.
func (d *doer) windowFor(req request, h http.Header, eb *errorBody) time.Duration {
	msg := strings.ToLower(eb.Message)
	secondly := eb.PolicyName == "SECONDLY" ||
		(eb.PolicyName == "" && strings.Contains(msg, "secondly") && !strings.Contains(msg, "ten_secondly"))
	if req.search || secondly {
		if d.search == nil {
			return DefaultSearchInterval
		}
		_, per := d.search.Limit()
		return per
	}
	if per, ok := headerInterval(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); ok {
		return per
	}
	if d.limit == nil {
		return DefaultInterval
	}
	_, per := d.limit.Limit()
	return per
}

// observeLimits adopts the limit HubSpot announces. Headers may be missing (HubSpot omits them
// when it cannot gather them), and then nothing changes.
func (d *doer) observeLimits(h http.Header) {
	s, ok := rateHeaders(h)
	if !ok || d.limit == nil {
		return
	}
	d.limit.SetLimit(s.Max, s.Interval)
	if d.status != nil {
		s.At = d.cfg.clk.Now()
		d.status.set(s)
	}
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date, within [0, MaxRetryAfter]:
// zero when absent, bad, negative or in the past; MaxRetryAfter when longer or too large for a
// time.Duration.
func retryAfter(h http.Header, now time.Time) time.Duration {
	return retryafter.Parse(h.Get("Retry-After"), now, MaxRetryAfter)
}

// nextMidnight returns the next midnight after now in loc. HubSpot resets daily limits at midnight
// in the account's time zone.
func nextMidnight(now time.Time, loc *time.Location) time.Time {
	l := now.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
}

// stripURL removes the URL from a *url.Error: URLs carry no secret here, but the error text stays
// short and never leaks a query string.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// answerDecoder is an answer type that decodes itself (upsertAnswer).
type answerDecoder interface{ decodeJSON(b []byte) error }

// decodeAnswer decodes a 2xx answer's body into out, with out's own decoder when it has one.
func decodeAnswer(b []byte, out any) error {
	if d, ok := out.(answerDecoder); ok {
		return d.decodeJSON(b)
	}
	return json.Unmarshal(b, out)
}

// bodyEncoder is a request body type that encodes itself (upsertBody).
type bodyEncoder interface{ encodeJSON() ([]byte, error) }

// encodeBody encodes a request body, with its own encoder when it has one.
func encodeBody(body any) ([]byte, error) {
	if e, ok := body.(bodyEncoder); ok {
		return e.encodeJSON()
	}
	return json.Marshal(body)
}
