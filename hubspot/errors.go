package hubspot

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrConnectionRevoked means HubSpot refused the refresh token (invalid_grant /
	// BAD_REFRESH_TOKEN): the app was uninstalled or the token revoked. The install is over; do not
	// retry. A 401 on an ordinary call is not this error.
	ErrConnectionRevoked = errors.New("hubspot: connection revoked (refresh token refused)")
	// ErrNotFound means the object asked for does not exist (HTTP 404).
	ErrNotFound = errors.New("hubspot: not found")
	// ErrBadSignature means a webhook request's signature does not match its content.
	ErrBadSignature = errors.New("hubspot: webhook signature mismatch")
	// ErrStaleRequest means a v3-signed webhook request's timestamp is outside the 5-minute window.
	ErrStaleRequest = errors.New("hubspot: webhook timestamp outside the accepted window")
	// ErrInvalidInput means the caller passed something the client refuses to send; the error's
	// text names what was wrong.
	ErrInvalidInput = errors.New("hubspot: invalid input")
)

// ErrorDetail is one entry of an error body's "errors" list, often naming a property.
type ErrorDetail struct {
	Message     string              `json:"message"`
	Code        string              `json:"code,omitempty"`
	In          string              `json:"in,omitempty"`
	SubCategory string              `json:"subCategory,omitempty"`
	Context     map[string][]string `json:"context,omitempty"`
}

// APIError is a non-2xx answer from HubSpot, decoded from the documented error body. Every field
// of that body is optional (HubSpot says so), so any of them may be empty.
type APIError struct {
	StatusCode    int                 // HTTP status
	Category      string              // e.g. VALIDATION_ERROR, CONFLICT, EXPIRED_AUTHENTICATION
	SubCategory   string              // a finer category, when given
	Message       string              // HubSpot's message (email addresses in it are masked by Error)
	CorrelationID string              // quote it in a HubSpot support ticket
	Context       map[string][]string // e.g. {"propertyName": ["discount"]}
	Errors        []ErrorDetail       // per-field errors
	RetryAfter    time.Duration       // from a Retry-After header (477 and friends): zero when absent, bad or past, at most MaxRetryAfter
}

// Error returns "hubspot: <status> <category>: <message>", with email addresses masked.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hubspot: HTTP %d", e.StatusCode)
	if e.Category != "" {
		b.WriteString(" " + e.Category)
	}
	if e.SubCategory != "" {
		b.WriteString("/" + e.SubCategory)
	}
	if e.Message != "" {
		b.WriteString(": " + MaskEmails(e.Message))
	}
	for _, d := range e.Errors {
		if d.Code != "" || d.Message != "" {
			b.WriteString("; " + d.Code)
			if d.Message != "" && d.Message != e.Message {
				b.WriteString(" " + MaskEmails(d.Message))
			}
		}
	}
	if e.CorrelationID != "" {
		b.WriteString(" (correlation id " + e.CorrelationID + ")")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.StatusCode == http.StatusNotFound
}

// RateLimitError means HubSpot limited the portal for longer than the client waits by itself: a
// daily limit (Reset is the time it resets), or a window longer than the configured maximum wait.
// The caller reschedules the work after RetryAfter.
type RateLimitError struct {
	StatusCode int           // 429, or 423/477 when a lock or a migration outlasted the wait budget
	Policy     string        // policyName from the 429 body: DAILY, TEN_SECONDLY_ROLLING, SECONDLY...
	RetryAfter time.Duration // how long from now to wait before trying again, at most MaxRetryAfter
	Reset      time.Time     // when the limit resets, on the client's clock (a daily reset may lie beyond RetryAfter)
	Message    string        // HubSpot's message
}

// Error returns "hubspot: rate limited (<policy>), retry after <d>".
func (e *RateLimitError) Error() string {
	p := e.Policy
	if p == "" {
		p = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("hubspot: rate limited (%s), retry after %v", p, e.RetryAfter.Round(time.Millisecond))
}

// errorBody is HubSpot's error document: the CRM shape (category...), the 429 shape (errorType,
// policyName) and the OAuth shape (error, error_description, status) in one.
type errorBody struct {
	Status           string              `json:"status"`
	Message          string              `json:"message"`
	CorrelationID    string              `json:"correlationId"`
	Category         string              `json:"category"`
	SubCategory      json.RawMessage     `json:"subCategory"` // a string in Error, an object in StandardError
	Context          map[string][]string `json:"context"`
	Errors           []ErrorDetail       `json:"errors"`
	ErrorType        string              `json:"errorType"`
	PolicyName       string              `json:"policyName"`
	OAuthError       string              `json:"error"`
	ErrorDescription string              `json:"error_description"`
}

func (b *errorBody) subCategory() string {
	var s string
	if json.Unmarshal(b.SubCategory, &s) == nil {
		return s
	}
	return ""
}

// newAPIError decodes an error answer; a body that is not JSON still gives an error with the status.
func newAPIError(status int, body []byte) (*APIError, *errorBody) {
	var eb errorBody
	_ = json.Unmarshal(body, &eb) // best effort: HubSpot says every field is optional
	e := &APIError{
		StatusCode:    status,
		Category:      eb.Category,
		SubCategory:   eb.subCategory(),
		Message:       eb.Message,
		CorrelationID: eb.CorrelationID,
		Context:       eb.Context,
		Errors:        eb.Errors,
	}
	if e.Category == "" {
		e.Category = eb.ErrorType
	}
	if e.Category == "" && eb.OAuthError != "" {
		e.Category = eb.OAuthError
	}
	if e.Category == "" && eb.Status != "" && eb.Status != "error" {
		e.Category = eb.Status // the legacy OAuth body: {"status":"BAD_REFRESH_TOKEN",...}
	}
	if e.Message == "" {
		e.Message = eb.ErrorDescription
	}
	return e, &eb
}
