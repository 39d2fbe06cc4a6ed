package learnworlds

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hubsync/hubsync"
)

// Sentinel errors of package learnworlds. An *APIError matches the ones that fit its status with
// errors.Is, and also hubsync.ErrNotFound (404), hubsync.ErrConflict (email or username taken) and
// hubsync.ErrUnavailable (429 and every 5xx); a request that got no answer (connection refused or
// reset, timeout, DNS failure) returns an error matching hubsync.ErrUnavailable too.
var (
	// ErrUnauthorized: the API refused the credentials or the token (401, or 400 access_denied).
	ErrUnauthorized = errors.New("learnworlds: unauthorized")
	// ErrRateLimited: the API answered 429 "Too many requests" and the retries were used up.
	ErrRateLimited = errors.New("learnworlds: rate limited")
	// ErrValidation: the API rejected the input (422, or a 400 naming fields).
	ErrValidation = errors.New("learnworlds: validation failed")
	// ErrConfig: a Config or option is unusable; the message names what is wrong.
	ErrConfig = errors.New("learnworlds: invalid configuration")
	// ErrUnknownSchool: the Learners adapter has no client for the school asked for. It comes
	// wrapped in a hubsync.RetryAfterError of UnknownSchoolRetry (so it matches
	// hubsync.ErrUnavailable): the engine keeps that school's jobs until the school is set.
	ErrUnknownSchool = errors.New("learnworlds: unknown school")
)

// UnknownSchoolRetry is how long the engine waits before it tries again the jobs of a school the
// Learners adapter does not hold (as long as hubsync serve's default --schools-interval).
const UnknownSchoolRetry = 30 * time.Second

// APIError is every error answer of the LearnWorlds API, whichever of its shapes the body had
// ({"errors":[...],"success":false}; {"error":"..."}; {"statusCode":n,"error":"...","errors":{field:
// [...]}}; or HTTP 200 with success:false). Messages never hold a token; email addresses in the path
// are masked.
type APIError struct {
	// StatusCode is the HTTP status (200 when the body said success:false).
	StatusCode int
	// Method and Path are the request's (Path relative to the API base, emails masked).
	Method, Path string
	// Message joins the body's messages ("error", "message", errors[].message).
	Message string
	// Context is errors[0].context of the OAuth-style shape ("access_denied"), when present.
	Context string
	// Fields holds per-field validation messages of a 422, by field name.
	Fields map[string][]string
	// RetryAfter is the Retry-After header of a 429 or 503: zero when absent, unreadable,
	// negative or a past date, and at most MaxRetryAfter. A 429 the client returns after its own
	// retries without a Retry-After carries the client's rate window instead (10 s by default),
	// the time the school's budget takes to refill.
	RetryAfter time.Duration
}

// Error names the request, the status and the messages, field by field.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "learnworlds: %s %s: status %d", e.Method, e.Path, e.StatusCode)
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if len(e.Fields) > 0 {
		names := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(&b, "; %s: %s", k, strings.Join(e.Fields[k], " "))
		}
	}
	return maskEmails(b.String())
}

// Is matches ErrUnauthorized, ErrRateLimited, ErrValidation, hubsync.ErrNotFound (404),
// hubsync.ErrConflict (409, or a validation error saying the email or username is taken: the
// status the real API uses for a duplicate is undocumented, so both are recognised) and
// hubsync.ErrUnavailable (429 and every 5xx: the API cannot take the work now, and the engine
// waits instead of counting a failed attempt). No other status matches hubsync.ErrUnavailable: a
// 4xx the API will never accept fails the record, not the school.
func (e *APIError) Is(target error) bool {
	switch target {
	case hubsync.ErrUnavailable:
		return e.Temporary()
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || (e.StatusCode == http.StatusBadRequest && e.Context == "access_denied")
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrValidation:
		return e.StatusCode == http.StatusUnprocessableEntity || (len(e.Fields) > 0 && e.StatusCode == http.StatusBadRequest)
	case hubsync.ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case hubsync.ErrConflict:
		return e.StatusCode == http.StatusConflict || e.taken()
	}
	return false
}

// taken reports a validation answer saying the email or username already exists.
func (e *APIError) taken() bool {
	for _, k := range []string{"email", "username"} {
		for _, m := range e.Fields[k] {
			m = strings.ToLower(m)
			if strings.Contains(m, "taken") || strings.Contains(m, "exist") || strings.Contains(m, "already") {
				return true
			}
		}
	}
	return false
}

// Temporary reports whether repeating the same request later may succeed (429 and 5xx).
func (e *APIError) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || (e.StatusCode >= 500 && e.StatusCode <= 599)
}

// unreachableError is a request that got no answer from the API: the connection was refused or
// reset, it timed out, the school's host name did not resolve, or the answer broke off. Its text is
// the transport error's; it matches hubsync.ErrUnavailable, and unwraps to the transport error
// (a *net.OpError, *net.DNSError or the like), which errors.As still finds.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }

func (e *unreachableError) Unwrap() error { return e.err }

func (e *unreachableError) Is(target error) bool { return target == hubsync.ErrUnavailable }
