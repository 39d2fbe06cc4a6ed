package learnworlds

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/internal/retryafter"
)

// maxBody bounds how much of a response is read.
const maxBody = 32 << 20

// call is one API request.
type call struct {
	method string
	// path is relative to the API base, already escaped ("/v2/users/a%40b.com").
	path  string
	query url.Values
	body  any // JSON-encoded when not nil
	// idempotent requests are repeated after a 5xx; every request is repeated after a 429, which
	// the API answers before doing anything.
	idempotent bool
}

// do sends cl with the rate limit, authentication, retries and error decoding, and decodes a
// successful JSON answer into out (when not nil). Errors: *APIError for an error answer (also a 200
// with success:false), ctx's error, a transport error (an *unreachableError, matching
// hubsync.ErrUnavailable) or a decoding error, all prefixed "learnworlds:".
func (c *Client) do(ctx context.Context, cl call, out any) error {
	var payload []byte
	if cl.body != nil {
		var err error
		if payload, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("learnworlds: encode %s %s: %w", cl.method, maskEmails(cl.path), err)
		}
	}
	target := c.base.String() + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	reminted := false
	for attempt := 0; ; attempt++ {
		tok, err := c.token(ctx)
		if err != nil {
			return err
		}
		slot, err := c.lim.Acquire(ctx) // held until the answer arrives (pacing in client.go)
		if err != nil {
			return err
		}
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, cl.method, target, rd)
		if err != nil {
			slot.Cancel()
			return fmt.Errorf("learnworlds: build %s %s: %w", cl.method, maskEmails(cl.path), err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Lw-Client", c.clientID)
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.hc.Do(req)
		slot.Done(-1) // LearnWorlds sends no count of what is left of its window
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("learnworlds: %s %s: %w", cl.method, maskEmails(cl.path), &unreachableError{scrubURLError(err)})
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("learnworlds: read %s %s: %w", cl.method, maskEmails(cl.path), &unreachableError{err})
		}
		apiErr := parseError(resp, body, cl.method, cl.path, c.clk.Now())
		if apiErr == nil {
			if out == nil || len(bytes.TrimSpace(body)) == 0 {
				return nil
			}
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("learnworlds: decode %s %s: %w", cl.method, maskEmails(cl.path), err)
			}
			return nil
		}
		// A refused token is minted again once: it may have been revoked or expired early.
		if apiErr.Is(ErrUnauthorized) && !reminted && c.invalidate(tok) {
			reminted = true
			c.log.InfoContext(ctx, "learnworlds: token refused, minting a new one", "status", apiErr.StatusCode)
			attempt--
			continue
		}
		retry := apiErr.StatusCode == http.StatusTooManyRequests || (cl.idempotent && apiErr.StatusCode >= 500)
		if !retry || attempt >= c.maxRetries || !c.waits(apiErr) {
			c.windowIfLimited(apiErr)
			return apiErr
		}
		if err := c.backoff(ctx, attempt, apiErr); err != nil {
			return err
		}
	}
}

// windowIfLimited gives a 429 that came without a Retry-After (LearnWorlds documents none) the
// client's rate window as its RetryAfter: the budget refills within it, so that is the wait to
// hand back to the caller, not a growing backoff.
func (c *Client) windowIfLimited(e *APIError) {
	if e.StatusCode == http.StatusTooManyRequests && e.RetryAfter <= 0 {
		_, per := c.lim.Limit()
		e.RetryAfter = min(per, MaxRetryAfter)
	}
}

// waits reports whether the client waits out e by itself before a retry: it does unless e carries
// a Retry-After longer than MaxBackoff, which goes back to the caller instead.
func (c *Client) waits(e *APIError) bool { return e.RetryAfter <= c.maxBackoff }

// backoff waits before try attempt+1: Retry-After when the answer had it (callers check waits
// first), else exponential from one second with jitter, capped at MaxBackoff; never more than
// MaxRetryAfter. A 429 pauses the client's rate window instead, so every call of this client
// waits it out, this one included: its next Acquire returns no earlier than the pause's end.
func (c *Client) backoff(ctx context.Context, attempt int, e *APIError) error {
	d := e.RetryAfter
	if d <= 0 {
		d = time.Second << min(attempt, 10)
		d += time.Duration(rand.Int64N(int64(d)/5 + 1)) // up to 20% jitter
		d = min(d, c.maxBackoff)
	}
	d = min(d, MaxRetryAfter)
	c.log.InfoContext(ctx, "learnworlds: retrying", "method", e.Method, "path", e.Path, "status", e.StatusCode, "attempt", attempt+1, "wait", d)
	if e.StatusCode == http.StatusTooManyRequests {
		c.lim.PauseUntil(c.clk.Now().Add(d))
		return nil
	}
	return clock.Sleep(ctx, c.clk, d)
}

// parseError returns nil for a successful answer, else the *APIError it carries. It understands all
// four documented error shapes and a 2xx whose body says "success": false.
// now is the client's clock, against which an HTTP-date Retry-After is measured.
func parseError(resp *http.Response, body []byte, method, path string, now time.Time) *APIError {
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	var shape struct {
		Success    *bool           `json:"success"`
		Error      json.RawMessage `json:"error"`
		Message    json.RawMessage `json:"message"`
		StatusCode json.RawMessage `json:"statusCode"`
		Errors     json.RawMessage `json:"errors"`
	}
	decoded := json.Unmarshal(body, &shape) == nil
	if ok && (!decoded || shape.Success == nil || *shape.Success) {
		return nil
	}
	e := &APIError{StatusCode: resp.StatusCode, Method: method, Path: maskEmails(path)}
	e.RetryAfter = retryafter.Parse(resp.Header.Get("Retry-After"), now, MaxRetryAfter)
	if !decoded {
		e.Message = http.StatusText(resp.StatusCode)
		if s := strings.TrimSpace(string(body)); s != "" && len(s) < 200 {
			e.Message = s
		}
		return e
	}
	var msgs []string
	add := func(raw json.RawMessage) {
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			msgs = append(msgs, s)
		}
	}
	add(shape.Error)
	add(shape.Message)
	if len(shape.Errors) > 0 {
		var list []struct {
			Code    json.RawMessage `json:"code"`
			Context *string         `json:"context"`
			Message string          `json:"message"`
		}
		var byField map[string]json.RawMessage
		if json.Unmarshal(shape.Errors, &list) == nil {
			for _, it := range list {
				if it.Message != "" {
					msgs = append(msgs, it.Message)
				}
				if it.Context != nil && e.Context == "" {
					e.Context = *it.Context
				}
			}
		} else if json.Unmarshal(shape.Errors, &byField) == nil {
			e.Fields = make(map[string][]string, len(byField))
			for k, v := range byField {
				e.Fields[k] = fieldMessages(v)
			}
		}
	}
	e.Message = strings.Join(msgs, "; ")
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
		if ok {
			e.Message = "the API answered success:false"
		}
	}
	return e
}

// fieldMessages flattens one field's validation messages. The documented shape is a list of objects
// {"0": "message"}; plain strings and lists of strings are accepted too.
func fieldMessages(raw json.RawMessage) []string {
	var out []string
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return []string{string(raw)}
	}
	for _, it := range list {
		if json.Unmarshal(it, &s) == nil {
			out = append(out, s)
			continue
		}
		var obj map[string]string
		if json.Unmarshal(it, &obj) == nil {
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				out = append(out, obj[k])
			}
		}
	}
	return out
}

// scrubURLError removes the URL (which may hold an email) from a transport error.
func scrubURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
