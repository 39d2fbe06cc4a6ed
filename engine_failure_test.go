package hubsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hubsync/hubsync/hubspot"
)

// lmsError stands for an LMS adapter's own error type that matches ErrUnavailable with an Is
// method, as learnworlds.APIError does for 429 and 5xx (learnworlds' own test checks the real one).
type lmsError struct{ status int }

func (e *lmsError) Error() string { return fmt.Sprintf("lms: status %d", e.status) }
func (e *lmsError) Is(target error) bool {
	return target == ErrUnavailable && (e.status == 429 || e.status >= 500)
}

// TestJudge is the failure policy's one table: every kind of error either client, the stores or
// the Learners port can return, and what the engine does with the work.
func TestJudge(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	in := failureInput{now: now, outages: 3, maxBackoff: 10 * time.Minute}
	at := func(d time.Duration) time.Time { return now.Add(d) }
	outage := at(8 * time.Second) // backoff(3): 1 s doubled three times
	hs := func(code int) error {
		return fmt.Errorf("hubsync: upsert: %w", &hubspot.APIError{StatusCode: code, Message: "x"})
	}
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		name string
		err  error
		in   func(failureInput) failureInput
		want verdict
	}{
		{"success", nil, nil, verdict{act: actAck}},
		{"shutting down", hs(500), func(i failureInput) failureInput { i.stopping = true; return i },
			verdict{act: actRelease, runAt: now}},
		{"fresh token stored after a 401", &retryNow{cause: hs(401)}, nil,
			verdict{act: actRelease, runAt: now, pauseUntil: at(time.Second), whole: true}},
		{"permanent (host backend)", Permanent(errors.New("learner locked for good")), nil, verdict{act: actKill}},
		{"permanent wins over unavailable", Permanent(fmt.Errorf("x: %w", ErrUnavailable)), nil, verdict{act: actKill}},
		{"connection changed in the store", fmt.Errorf("hubspot: persisting refreshed token: %w", errConnectionChanged), nil,
			verdict{act: actRelease, runAt: now, pauseUntil: at(time.Second), whole: true}},
		{"connection lost", fmt.Errorf("x: %w", ErrConnectionLost), nil,
			verdict{act: actRelease, runAt: now, pauseUntil: at(connectionRecheck), whole: true}},
		{"tokens sealed under a key not given", fmt.Errorf("pgstore: reading the connection: %w: access_token is sealed and the store was given no key", ErrUnseal), nil,
			verdict{act: actRelease, runAt: now, pauseUntil: at(unsealRecheck), whole: true}},
		{"store refusing work (disk full)", fmt.Errorf("sqlitestore: commit: database or disk is full (%w)", ErrUnavailable), nil,
			verdict{act: actRelease, runAt: outage, pauseUntil: outage, outage: true}},
		{"not connected", ErrNotConnected, nil,
			verdict{act: actRelease, runAt: now, pauseUntil: at(connectionRecheck), whole: true}},
		{"refresh token refused", fmt.Errorf("hubspot: refresh: %w", hubspot.ErrConnectionRevoked), nil,
			verdict{act: actRelease, runAt: now, pauseUntil: at(connectionRecheck), whole: true, deactivate: true}},
		{"already deactivated, revoked inside", fmt.Errorf("%w: %w", ErrConnectionLost, hubspot.ErrConnectionRevoked), nil,
			verdict{act: actRelease, runAt: now, pauseUntil: at(connectionRecheck), whole: true}},
		{"HubSpot 429", &hubspot.RateLimitError{StatusCode: 429, RetryAfter: 7 * time.Second}, nil,
			verdict{act: actRelease, runAt: at(7 * time.Second), pauseUntil: at(7 * time.Second), whole: true}},
		{"HubSpot 477 asking for days", &hubspot.RateLimitError{StatusCode: 477, RetryAfter: 90 * time.Hour}, nil,
			verdict{act: actRelease, runAt: at(RetryAfterMax), pauseUntil: at(RetryAfterMax), whole: true}},
		{"HubSpot rate limit with a negative wait", &hubspot.RateLimitError{StatusCode: 429, RetryAfter: -time.Hour}, nil,
			verdict{act: actRelease, runAt: now, pauseUntil: now, whole: true}},
		{"LMS retry after", RetryAfter(errors.New("lms: 429"), 30*time.Second), nil,
			verdict{act: actRelease, runAt: at(30 * time.Second), pauseUntil: at(30 * time.Second)}},
		{"LMS retry after, huge", RetryAfter(errors.New("lms: 429"), 1<<62), nil,
			verdict{act: actRelease, runAt: at(RetryAfterMax), pauseUntil: at(RetryAfterMax)}},
		{"LMS retry after built by hand, negative", &RetryAfterError{Delay: -time.Second}, nil,
			verdict{act: actRelease, runAt: now, pauseUntil: now}},
		{"HubSpot 401", hs(401), nil, verdict{act: actRelease, runAt: now, recheck: true}},
		{"HubSpot 401 after the recheck", hs(401), func(i failureInput) failureInput { i.rechecked = true; return i },
			verdict{act: actRetry}},
		{"HubSpot 500", hs(500), nil, verdict{act: actRelease, runAt: outage, pauseUntil: outage, outage: true}},
		{"HubSpot 503", hs(503), nil, verdict{act: actRelease, runAt: outage, pauseUntil: outage, outage: true}},
		{"HubSpot no status (no answer)", hs(0), nil, verdict{act: actRelease, runAt: outage, pauseUntil: outage, outage: true}},
		{"HubSpot 400", hs(400), nil, verdict{act: actRetry}},
		{"HubSpot 404", hs(404), nil, verdict{act: actRetry}},
		{"HubSpot 403 (missing scope)", hs(403), nil, verdict{act: actRetry}},
		{"network: connection refused", fmt.Errorf("x: %w", opErr), nil, verdict{act: actRelease, runAt: outage, pauseUntil: outage, outage: true}},
		{"dropped connection", io.ErrUnexpectedEOF, nil, verdict{act: actRelease, runAt: outage, pauseUntil: outage, outage: true}},
		{"EOF", fmt.Errorf("x: %w", io.EOF), nil, verdict{act: actRelease, runAt: outage, pauseUntil: outage, outage: true}},
		{"timeout", fmt.Errorf("x: %w", context.DeadlineExceeded), nil, verdict{act: actRelease, runAt: outage, pauseUntil: outage, outage: true}},
		{"LMS unavailable (wrapped sentinel)", fmt.Errorf("lms: %w", ErrUnavailable), nil,
			verdict{act: actRelease, runAt: outage, pauseUntil: outage, outage: true}},
		{"LMS 503 (adapter type with Is)", &lmsError{status: 503}, nil,
			verdict{act: actRelease, runAt: outage, pauseUntil: outage, outage: true}},
		{"LMS 429 without Retry-After", &lmsError{status: 429}, nil,
			verdict{act: actRelease, runAt: outage, pauseUntil: outage, outage: true}},
		{"LMS 422", &lmsError{status: 422}, nil, verdict{act: actRetry}},
		{"LMS refuses a value", fmt.Errorf("lms: %w", ErrInvalidValue), nil, verdict{act: actRetry}},
		{"store: not found", fmt.Errorf("store: %w", ErrNotFound), nil, verdict{act: actRetry}},
		{"cancelled request", context.Canceled, nil, verdict{act: actRetry}},
		{"anything else", errors.New("boom"), nil, verdict{act: actRetry}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := in
			if tc.in != nil {
				i = tc.in(i)
			}
			if got := judge(tc.err, i); got != tc.want {
				t.Errorf("judge(%v) =\n  %+v, want\n  %+v", tc.err, got, tc.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]time.Duration{0: time.Second, 1: 2 * time.Second, 3: 8 * time.Second, 9: 512 * time.Second, 10: 10 * time.Minute, 1000: 10 * time.Minute} {
		if got := backoff(n, 10*time.Minute); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestSchemaRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&hubspot.APIError{StatusCode: 400, Errors: []hubspot.ErrorDetail{{Code: "PROPERTY_DOESNT_EXIST"}}}, true},
		{&hubspot.APIError{StatusCode: 400, Errors: []hubspot.ErrorDetail{{Code: "READ_ONLY_VALUE"}}}, true},
		{&hubspot.APIError{StatusCode: 400, Message: `Property "x" is a read only property`}, true},
		{&hubspot.APIError{StatusCode: 400, Errors: []hubspot.ErrorDetail{{Code: "INVALID_INTEGER"}}}, false},
		{&hubspot.APIError{StatusCode: http.StatusInternalServerError}, false},
		{errors.New("does not exist"), false},
	} {
		if got := schemaRefused(tc.err); got != tc.want {
			t.Errorf("schemaRefused(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
