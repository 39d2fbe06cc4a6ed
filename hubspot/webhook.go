package hubspot

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WebhookEvent is one event of a HubSpot webhook delivery (legacy public apps, webhooks v3).
type WebhookEvent struct {
	EventID          int64     // not guaranteed unique; deduplicate on more than this
	SubscriptionID   int64     //
	PortalID         int64     // the portal (hub id) the change happened in
	AppID            int64     //
	OccurredAt       time.Time // from occurredAt (epoch ms); deliveries are not ordered
	SubscriptionType string    // e.g. contact.propertyChange (also read from eventType)
	AttemptNumber    int       // 0 on the first delivery
	ObjectID         int64     // the contact's record id
	PropertyName     string    // for propertyChange
	PropertyValue    string    // for propertyChange
	ChangeSource     string    // e.g. CRM_UI, INTEGRATION, AUTOMATION_PLATFORM, IMPORT
	ChangeFlag       string    // e.g. NEW, CREATED
	SourceID         string    // e.g. "userId:45678", or an app id for a change an app made
	PrimaryObjectID  int64     // merge events
	MergedObjectIDs  []int64   // merge events
	NewObjectID      int64     // merge events
}

type webhookWire struct {
	EventID          *int64          `json:"eventId"`
	SubscriptionID   int64           `json:"subscriptionId"`
	PortalID         int64           `json:"portalId"`
	AppID            int64           `json:"appId"`
	OccurredAt       int64           `json:"occurredAt"`
	SubscriptionType string          `json:"subscriptionType"`
	EventType        string          `json:"eventType"`
	AttemptNumber    int             `json:"attemptNumber"`
	ObjectID         int64           `json:"objectId"`
	PropertyName     string          `json:"propertyName"`
	PropertyValue    json.RawMessage `json:"propertyValue"`
	ChangeSource     string          `json:"changeSource"`
	ChangeFlag       string          `json:"changeFlag"`
	SourceID         string          `json:"sourceId"`
	PrimaryObjectID  int64           `json:"primaryObjectId"`
	MergedObjectIDs  []int64         `json:"mergedObjectIds"`
	NewObjectID      int64           `json:"newObjectId"`
}

// MaxWebhookBody is the largest webhook body ParseWebhookEvents accepts (HubSpot sends at most 100
// events per request).
const MaxWebhookBody = 4 << 20

// ParseWebhookEvents decodes a webhook delivery: a JSON array of events. It accepts the event type
// under subscriptionType or eventType, and a property value given as a string, number, boolean or
// null. It returns an error wrapping ErrInvalidInput naming what is wrong: a body that is not a
// JSON array, too large, or an event with no type or no occurredAt.
func ParseWebhookEvents(body []byte) ([]WebhookEvent, error) {
	if len(body) > MaxWebhookBody {
		return nil, fmt.Errorf("%w: webhook body of %d bytes exceeds %d", ErrInvalidInput, len(body), MaxWebhookBody)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, fmt.Errorf("%w: webhook body is not a JSON array", ErrInvalidInput)
	}
	var wire []webhookWire
	if err := json.Unmarshal(trimmed, &wire); err != nil {
		return nil, fmt.Errorf("%w: webhook body: %v", ErrInvalidInput, err)
	}
	out := make([]WebhookEvent, 0, len(wire))
	for i, w := range wire {
		typ := w.SubscriptionType
		if typ == "" {
			typ = w.EventType
		}
		if typ == "" {
			return nil, fmt.Errorf("%w: webhook event %d has neither subscriptionType nor eventType", ErrInvalidInput, i)
		}
		if w.OccurredAt <= 0 {
			return nil, fmt.Errorf("%w: webhook event %d (%s) has no occurredAt", ErrInvalidInput, i, typ)
		}
		val, err := scalarString(w.PropertyValue)
		if err != nil {
			return nil, fmt.Errorf("%w: webhook event %d (%s) propertyValue: %v", ErrInvalidInput, i, typ, err)
		}
		ev := WebhookEvent{
			SubscriptionID: w.SubscriptionID, PortalID: w.PortalID, AppID: w.AppID,
			OccurredAt: time.UnixMilli(w.OccurredAt).UTC(), SubscriptionType: typ, AttemptNumber: w.AttemptNumber,
			ObjectID: w.ObjectID, PropertyName: w.PropertyName, PropertyValue: val, ChangeSource: w.ChangeSource,
			ChangeFlag: w.ChangeFlag, SourceID: w.SourceID, PrimaryObjectID: w.PrimaryObjectID,
			MergedObjectIDs: w.MergedObjectIDs, NewObjectID: w.NewObjectID,
		}
		if w.EventID != nil {
			ev.EventID = *w.EventID
		}
		out = append(out, ev)
	}
	return out, nil
}

// scalarString renders a JSON scalar as the string HubSpot means by it.
func scalarString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '{', '[':
		return "", errors.New("an object or array, want a scalar")
	default:
		return string(raw), nil
	}
}

// Signature headers HubSpot sets on requests it sends.
const (
	HeaderSignature        = "X-HubSpot-Signature"
	HeaderSignatureVersion = "X-HubSpot-Signature-Version"
	HeaderSignatureV3      = "X-HubSpot-Signature-v3"
	HeaderTimestamp        = "X-HubSpot-Request-Timestamp"
)

// SignatureWindow is how old a v3 signature's timestamp may be.
const SignatureWindow = 5 * time.Minute

// SignV1 returns the v1 signature: hex(sha256(secret + body)).
func SignV1(secret string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(secret))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// SignV2 returns the v2 signature: hex(sha256(secret + method + uri + body)), uri being the full
// URL exactly as requested.
func SignV2(secret, method, uri string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(secret + method + uri))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// SignV3 returns the v3 signature: base64(HMAC-SHA256(secret, method + uri + body + timestamp)),
// with uri decoded as [DecodeV3URI] does and timestamp in epoch milliseconds.
func SignV3(secret, method, uri string, body []byte, timestamp string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(method + DecodeV3URI(uri)))
	m.Write(body)
	m.Write([]byte(timestamp))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// v3Decoded are the only escapes HubSpot's v3 signature decodes in the URI.
var v3Decoded = strings.NewReplacer(
	"%3A", ":", "%2F", "/", "%3F", "?", "%40", "@", "%21", "!", "%24", "$", "%27", "'",
	"%28", "(", "%29", ")", "%2A", "*", "%2C", ",", "%3B", ";",
)

// DecodeV3URI decodes exactly the escapes HubSpot's v3 signature decodes (%3A, %2F, %3F, %40,
// %21, %24, %27, %28, %29, %2A, %2C, %3B) and leaves every other escape as it is.
func DecodeV3URI(uri string) string { return v3Decoded.Replace(uri) }

// VerifyV1 checks a v1 signature in constant time. It returns ErrBadSignature on a mismatch, and
// ErrInvalidInput for an empty secret (anyone can compute a signature made with no secret).
// A v1 signature carries no timestamp: a captured delivery verifies forever.
func VerifyV1(secret string, body []byte, signature string) error {
	if secret == "" {
		return errNoSecret
	}
	return compare(SignV1(secret, body), strings.ToLower(strings.TrimSpace(signature)))
}

// VerifyV2 checks a v2 signature in constant time. It returns ErrBadSignature on a mismatch, and
// ErrInvalidInput for an empty secret. Like v1, it carries no timestamp.
func VerifyV2(secret, method, uri string, body []byte, signature string) error {
	if secret == "" {
		return errNoSecret
	}
	return compare(SignV2(secret, method, uri, body), strings.ToLower(strings.TrimSpace(signature)))
}

// VerifyV3 checks a v3 signature: the timestamp (epoch ms) must be within [SignatureWindow] of now
// (ErrStaleRequest otherwise, also for a malformed timestamp) and the HMAC must match in constant
// time (ErrBadSignature otherwise). An empty secret returns ErrInvalidInput.
func VerifyV3(secret, method, uri string, body []byte, timestamp, signature string, now time.Time) error {
	if secret == "" {
		return errNoSecret
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not epoch milliseconds", ErrStaleRequest, truncate(timestamp, 32))
	}
	age := now.Sub(time.UnixMilli(ms))
	if age > SignatureWindow || age < -SignatureWindow {
		return fmt.Errorf("%w: timestamp is %v away from now", ErrStaleRequest, age.Round(time.Second))
	}
	return compare(SignV3(secret, method, uri, body, strings.TrimSpace(timestamp)), strings.TrimSpace(signature))
}

// errNoSecret is what every Verify function returns for an empty secret.
var errNoSecret = fmt.Errorf("%w: the webhook secret (the app's client secret) is empty", ErrInvalidInput)

// VerifyRequestV3 checks the v3 signature of a request HubSpot sent, and only that: a request
// without the X-HubSpot-Signature-v3 header is refused with ErrBadSignature even when it carries
// a valid v1 or v2 signature, since those have no timestamp and so allow replays. publicURL and
// body are as for [VerifyRequest]. It returns ErrBadSignature, ErrStaleRequest, ErrInvalidInput
// (an empty secret) or nil. This is the check hubsync's own webhook handler makes by default.
func VerifyRequestV3(r *http.Request, publicURL string, body []byte, secret string, now time.Time) error {
	if secret == "" {
		return errNoSecret
	}
	sig := r.Header.Get(HeaderSignatureV3)
	if sig == "" {
		return fmt.Errorf("%w: no %s header (v1 and v2 signatures are not accepted)", ErrBadSignature, HeaderSignatureV3)
	}
	return VerifyV3(secret, r.Method, publicURL, body, r.Header.Get(HeaderTimestamp), sig, now)
}

// VerifyRequest checks the signature of a request HubSpot sent, whichever version it carries
// (v3 first, then v2 or v1 as X-HubSpot-Signature-Version says). publicURL is the URL HubSpot
// called, scheme, host, path and query included (behind a proxy, r.URL alone is not it); body is
// the raw body read from r. It returns ErrBadSignature, ErrStaleRequest, ErrInvalidInput (an empty
// secret: anyone could sign with it), or nil. v1 and v2 carry no timestamp, so a captured request
// verifies again later: prefer [VerifyRequestV3] unless the app still sends only v1 or v2.
func VerifyRequest(r *http.Request, publicURL string, body []byte, secret string, now time.Time) error {
	if secret == "" {
		return errNoSecret
	}
	if r.Header.Get(HeaderSignatureV3) != "" {
		return VerifyRequestV3(r, publicURL, body, secret, now)
	}
	sig := r.Header.Get(HeaderSignature)
	if sig == "" {
		return fmt.Errorf("%w: no signature header", ErrBadSignature)
	}
	switch v := strings.ToLower(r.Header.Get(HeaderSignatureVersion)); v {
	case "v1", "":
		return VerifyV1(secret, body, sig)
	case "v2":
		return VerifyV2(secret, r.Method, publicURL, body, sig)
	default:
		return fmt.Errorf("%w: unknown signature version %q", ErrBadSignature, truncate(v, 16))
	}
}

func compare(want, got string) error {
	if subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return ErrBadSignature
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
