package hubsync

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// This file declares a school's stored LMS connection (where its LearnWorlds API is, the
// credentials to call it, how its webhooks are signed) and LMSConnections, the optional port a
// Store implements to keep it, so that one process can serve every school of a store with no
// per-school configuration. Its secrets are sealed at rest exactly as the HubSpot tokens are
// (seal.go).

// LMSConnection is a school's connection to its LMS: the LearnWorlds API address and
// credentials, and the webhook signature. A store with a Sealer keeps ClientSecret, AccessToken
// and WebhookSecret sealed (SealLMSConnection); the other fields are plain.
type LMSConnection struct {
	School SchoolID
	// BaseURL is the school's address or API URL (learnworlds.Config.BaseURL). Required.
	BaseURL string
	// ClientID is the API client id. Required.
	ClientID string
	// ClientSecret mints access tokens; AccessToken is a static token used as is. One of the two
	// is required.
	ClientSecret string
	AccessToken  string
	// WebhookSecret verifies the school's webhooks; empty means the school's webhooks are not
	// accepted.
	WebhookSecret string
	// WebhookScheme is how the school signs webhooks: LMSWebhookStatic ("" means it too) or
	// LMSWebhookHMAC.
	WebhookScheme string
	// UpdatedAt is when the connection was stored: set by the store from its clock on
	// PutLMSConnection (the value given is ignored).
	UpdatedAt time.Time
}

// The webhook signature schemes of LMSConnection.WebhookScheme (learnworlds.SignatureStatic and
// SignatureHMACSHA256).
const (
	LMSWebhookStatic = "static"
	LMSWebhookHMAC   = "hmac"
)

// Validate checks that c can be stored: a school, an absolute http(s) BaseURL, a ClientID, a
// ClientSecret or AccessToken, and a known WebhookScheme. Errors wrap ErrInvalidValue and name
// the field, never a secret.
func (c LMSConnection) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: LMS connection of school %q: %s", ErrInvalidValue, c.School, fmt.Sprintf(format, args...))
	}
	if c.School == "" {
		return fmt.Errorf("%w: LMS connection: empty school id", ErrInvalidValue)
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("base URL %q is not an absolute http(s) URL", c.BaseURL)
	}
	if c.ClientID == "" {
		return bad("the client id is empty")
	}
	if c.ClientSecret == "" && c.AccessToken == "" {
		return bad("neither a client secret nor an access token is set")
	}
	switch c.WebhookScheme {
	case "", LMSWebhookStatic, LMSWebhookHMAC:
	default:
		return bad("webhook scheme %q: want %s or %s", c.WebhookScheme, LMSWebhookStatic, LMSWebhookHMAC)
	}
	return nil
}

// LMSConnections is the optional port of a Store that keeps each school's LMSConnection (every
// store of this module implements it: sqlitestore, pgstore, hubsynctest.MemStore). It is not part
// of Store, so a host's own Store still satisfies Store; a command that needs stored LMS
// connections asks for it with a type assertion. Inside RunInTx the Store handed to the function
// implements it too when the outer one does.
type LMSConnections interface {
	// PutLMSConnection stores c (c.Validate must pass), replacing the school's, with UpdatedAt
	// set to the store's now. With a Sealer the secrets are sealed first (SealLMSConnection); a
	// sealing failure stores nothing. A school with an LMS connection is listed by ListSchools.
	PutLMSConnection(ctx context.Context, c LMSConnection) error
	// GetLMSConnection returns the school's LMS connection, secrets opened; ErrNotFound when
	// there is none, an error wrapping ErrUnseal when a sealed secret does not open.
	GetLMSConnection(ctx context.Context, school SchoolID) (LMSConnection, error)
	// DeleteLMSConnection forgets the school's LMS connection; a missing one is not an error.
	DeleteLMSConnection(ctx context.Context, school SchoolID) error
}

// The secret fields of an LMSConnection, as the associated data names them.
const (
	fieldLMSClientSecret  = "lms_client_secret"
	fieldLMSAccessToken   = "lms_access_token"
	fieldLMSWebhookSecret = "lms_webhook_secret"
)

// lmsAAD binds a sealed LMS secret to its field and school; it differs from every HubSpot
// token's, so neither opens in the other's place.
func lmsAAD(school SchoolID, field string) []byte {
	return []byte("hubsync lms connection secret\x00" + field + "\x00" + string(school))
}

// lmsSecrets are the secret fields of c, with their names.
func lmsSecrets(c *LMSConnection) []struct {
	field string
	p     *string
} {
	return []struct {
		field string
		p     *string
	}{{fieldLMSClientSecret, &c.ClientSecret}, {fieldLMSAccessToken, &c.AccessToken}, {fieldLMSWebhookSecret, &c.WebhookSecret}}
}

// SealLMSConnection returns c with ClientSecret, AccessToken and WebhookSecret in their stored
// form, as SealToken does for HubSpot tokens: sealed with s (SealedPrefix and base64url), bound
// to the school and the field; empty ones stay empty; with a nil s they stay plain; one that
// already starts with SealedPrefix is refused with an error wrapping ErrInvalidValue. Errors
// name the school and field, never the secret. Every LMSConnections store calls it before
// writing.
func SealLMSConnection(ctx context.Context, s Sealer, c LMSConnection) (LMSConnection, error) {
	for _, f := range lmsSecrets(&c) {
		v, err := sealValue(ctx, s, c.School, f.field, *f.p, lmsAAD(c.School, f.field))
		if err != nil {
			return LMSConnection{}, err
		}
		*f.p = v
	}
	return c, nil
}

// OpenLMSConnection returns c, as a store read it, with its sealed secrets opened by s, as
// OpenToken does: plain ones are returned as they are, and one that does not open is an error
// wrapping ErrUnseal naming the school and field. Every LMSConnections store calls it after
// reading.
func OpenLMSConnection(ctx context.Context, s Sealer, c LMSConnection) (LMSConnection, error) {
	for _, f := range lmsSecrets(&c) {
		v, err := openValue(ctx, s, c.School, f.field, *f.p, lmsAAD(c.School, f.field))
		if err != nil {
			return LMSConnection{}, err
		}
		*f.p = v
	}
	return c, nil
}

// countLMSSecrets is how many of c's secrets are set.
func countLMSSecrets(c LMSConnection) int {
	n := 0
	for _, f := range lmsSecrets(&c) {
		if *f.p != "" {
			n++
		}
	}
	return n
}
