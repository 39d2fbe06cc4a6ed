package hubspot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// App is a HubSpot public app's OAuth identity and the scopes it asks for.
type App struct {
	ClientID       string
	ClientSecret   string
	RedirectURL    string   // where HubSpot sends the user back with ?code=...&state=...
	Scopes         []string // required scopes, e.g. crm.objects.contacts.read, oauth
	OptionalScopes []string // dropped by HubSpot when the portal lacks the product
}

// Validate returns an error wrapping ErrInvalidInput naming the first missing field.
func (a App) Validate() error {
	switch {
	case a.ClientID == "":
		return fmt.Errorf("%w: app has no client id", ErrInvalidInput)
	case a.ClientSecret == "":
		return fmt.Errorf("%w: app has no client secret", ErrInvalidInput)
	case a.RedirectURL == "":
		return fmt.Errorf("%w: app has no redirect URL", ErrInvalidInput)
	}
	return nil
}

// Token is one portal's OAuth grant, in the shape a host persists.
type Token struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	TokenType    string    `json:"token_type"`
	Expiry       time.Time `json:"expiry"` // computed from expires_in on the client's clock
	HubID        int64     `json:"hub_id,omitempty"`
	Scopes       []string  `json:"scopes,omitempty"`
}

// OAuth2 returns t as an *oauth2.Token.
func (t *Token) OAuth2() *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: "Bearer", Expiry: t.Expiry}
}

// TokenInfo is what token introspection says about a token.
type TokenInfo struct {
	Active    bool          // false for an unknown, expired or revoked token
	HubID     int64         // the portal id
	HubDomain string        // the portal's domain, shown as the "connected account"
	AppID     int64         // the app the token belongs to
	UserID    int64         // the installing user
	User      string        // the installing user's email (mask it before logging)
	Scopes    []string      // granted scopes
	ExpiresIn time.Duration // remaining life of an access token
	TokenUse  string        // access_token or refresh_token
}

// OAuth runs HubSpot's authorization-code flow for one app: the authorize URL, code exchange,
// refresh, introspection and revocation, on the v3 or 2026-03 token endpoints.
type OAuth struct {
	app App
	cfg config
	d   *doer
}

// NewOAuth returns an OAuth for app. It uses the HTTP client, base URL, authorize URL, version,
// logger and clock options; it returns an error wrapping ErrInvalidInput when app or an option is
// invalid.
func NewOAuth(app App, opts ...Option) (*OAuth, error) {
	if err := app.Validate(); err != nil {
		return nil, err
	}
	cfg, base, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	o := &OAuth{app: app, cfg: cfg}
	o.d = &doer{cfg: &o.cfg, base: base}
	return o, nil
}

// AuthorizeURL returns the page a portal admin opens to install the app. Scopes are joined with
// spaces and encoded as %20, as HubSpot expects; state comes back unchanged on the redirect and
// must be checked by the caller (CSRF).
//
// Docs: https://developers.hubspot.com/docs/apps/legacy-apps/authentication/working-with-oauth
func (o *OAuth) AuthorizeURL(state string) string {
	q := []string{
		"client_id=" + url.QueryEscape(o.app.ClientID),
		"redirect_uri=" + url.QueryEscape(o.app.RedirectURL),
		"scope=" + pathEscapeAll(strings.Join(o.app.Scopes, " ")),
	}
	if len(o.app.OptionalScopes) > 0 {
		q = append(q, "optional_scope="+pathEscapeAll(strings.Join(o.app.OptionalScopes, " ")))
	}
	if state != "" {
		q = append(q, "state="+url.QueryEscape(state))
	}
	return o.cfg.authorizeURL + "?" + strings.Join(q, "&")
}

// pathEscapeAll escapes s for a query value with spaces as %20 (url.QueryEscape would give "+").
func pathEscapeAll(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken  string   `json:"access_token"`
	RefreshToken string   `json:"refresh_token"`
	ExpiresIn    int64    `json:"expires_in"`
	TokenType    string   `json:"token_type"`
	HubID        int64    `json:"hub_id"`
	Scopes       []string `json:"scopes"`
}

// Exchange trades the code from the redirect for a token. The code is single-use, so a failed
// exchange is never resent. It returns *APIError when HubSpot refuses the code.
//
// Docs: https://developers.hubspot.com/docs/api-reference/legacy/authentication/manage-oauth-tokens
// (POST /oauth/2026-03/token or /oauth/v3/token, grant_type=authorization_code).
func (o *OAuth) Exchange(ctx context.Context, code string) (*Token, error) {
	if code == "" {
		return nil, fmt.Errorf("%w: empty authorization code", ErrInvalidInput)
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {o.app.ClientID},
		"client_secret": {o.app.ClientSecret},
		"redirect_uri":  {o.app.RedirectURL},
		"code":          {code},
	}
	return o.token(ctx, form, true)
}

// Refresh trades a refresh token for a new access token. A refusal with invalid_grant or
// BAD_REFRESH_TOKEN returns an error matching both ErrConnectionRevoked and *APIError.
//
// Docs: https://developers.hubspot.com/docs/api-reference/legacy/authentication/manage-oauth-tokens
// (grant_type=refresh_token; no redirect_uri is sent, as the versioned endpoint expects).
func (o *OAuth) Refresh(ctx context.Context, refreshToken string) (*Token, error) {
	if refreshToken == "" {
		return nil, fmt.Errorf("%w: empty refresh token", ErrInvalidInput)
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {o.app.ClientID},
		"client_secret": {o.app.ClientSecret},
		"refresh_token": {refreshToken},
	}
	tok, err := o.token(ctx, form, false)
	if err != nil {
		return nil, err
	}
	if tok.RefreshToken == "" {
		// HubSpot does not document rotation; keep the old refresh token when none comes back.
		tok.RefreshToken = refreshToken
	}
	return tok, nil
}

func (o *OAuth) token(ctx context.Context, form url.Values, noRetry bool) (*Token, error) {
	var tr tokenResponse
	_, err := o.d.do(ctx, request{method: http.MethodPost, path: oauthPath(o.cfg.version, ""), form: form, noAuth: true, noRetry: noRetry}, &tr)
	if err != nil {
		var ae *APIError
		if form.Get("grant_type") == "refresh_token" && errors.As(err, &ae) && isRevoked(ae) {
			return nil, fmt.Errorf("%w: %w", ErrConnectionRevoked, ae)
		}
		return nil, err
	}
	if tr.AccessToken == "" {
		return nil, errors.New("hubspot: token endpoint answered without an access token")
	}
	if tr.ExpiresIn <= 0 {
		return nil, fmt.Errorf("hubspot: token endpoint answered expires_in %d", tr.ExpiresIn)
	}
	return &Token{
		AccessToken:  tr.AccessToken,
		RefreshToken: tr.RefreshToken,
		TokenType:    tr.TokenType,
		Expiry:       o.cfg.clk.Now().Add(time.Duration(tr.ExpiresIn) * time.Second),
		HubID:        tr.HubID,
		Scopes:       tr.Scopes,
	}, nil
}

// isRevoked reports whether a token-endpoint error means the grant is gone for good.
func isRevoked(ae *APIError) bool {
	if ae.StatusCode != http.StatusBadRequest && ae.StatusCode != http.StatusUnauthorized {
		return false
	}
	return ae.Category == "invalid_grant" || ae.Category == "BAD_REFRESH_TOKEN" ||
		strings.Contains(ae.Message, "BAD_REFRESH_TOKEN") || ae.SubCategory == "BAD_REFRESH_TOKEN"
}

// introspection is the introspect endpoint's answer (access or refresh token flavour).
type introspection struct {
	Active    bool     `json:"active"`
	HubID     int64    `json:"hub_id"`
	HubDomain string   `json:"hub_domain"`
	AppID     int64    `json:"app_id"`
	UserID    int64    `json:"user_id"`
	User      string   `json:"user"`
	Scopes    []string `json:"scopes"`
	ExpiresIn int64    `json:"expires_in"`
	TokenUse  string   `json:"token_use"`
}

// Introspect asks HubSpot about a token (an access token, or a refresh token when refresh is true):
// the portal id and domain among others. An unknown token is not an error: it gives Active false.
// It returns *APIError on any other refusal.
//
// Docs: https://developers.hubspot.com/docs/api-reference/legacy/authentication/manage-oauth-tokens
// (POST /oauth/2026-03/token/introspect or /oauth/v3/token/introspect).
func (o *OAuth) Introspect(ctx context.Context, token string, refresh bool) (*TokenInfo, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: empty token to introspect", ErrInvalidInput)
	}
	hint := "access_token"
	if refresh {
		hint = "refresh_token"
	}
	form := url.Values{
		"client_id":       {o.app.ClientID},
		"client_secret":   {o.app.ClientSecret},
		"token":           {token},
		"token_type_hint": {hint},
	}
	var in introspection
	if _, err := o.d.do(ctx, request{method: http.MethodPost, path: oauthPath(o.cfg.version, "/introspect"), form: form, noAuth: true}, &in); err != nil {
		return nil, err
	}
	return &TokenInfo{
		Active: in.Active, HubID: in.HubID, HubDomain: in.HubDomain, AppID: in.AppID, UserID: in.UserID,
		User: in.User, Scopes: in.Scopes, ExpiresIn: time.Duration(in.ExpiresIn) * time.Second, TokenUse: in.TokenUse,
	}, nil
}

// Revoke revokes a refresh token (disconnect). Access tokens already issued live until they
// expire. It returns *APIError when HubSpot refuses.
//
// Docs: https://developers.hubspot.com/docs/api-reference/legacy/authentication/manage-oauth-tokens
// (POST /oauth/2026-03/token/revoke or /oauth/v3/token/revoke).
func (o *OAuth) Revoke(ctx context.Context, refreshToken string) error {
	if refreshToken == "" {
		return fmt.Errorf("%w: empty refresh token to revoke", ErrInvalidInput)
	}
	form := url.Values{
		"client_id":       {o.app.ClientID},
		"client_secret":   {o.app.ClientSecret},
		"token":           {refreshToken},
		"token_type_hint": {"refresh_token"},
	}
	_, err := o.d.do(ctx, request{method: http.MethodPost, path: oauthPath(o.cfg.version, "/revoke"), form: form, noAuth: true}, nil)
	return err
}

// RefreshMargin is how long before expiry a [TokenSource] refreshes.
const RefreshMargin = 2 * time.Minute

// TokenSource hands out a portal's access token, refreshing it from expires_in (never on a 401),
// one refresh at a time, and calls a persist callback with every new token. It implements
// oauth2.TokenSource; the Client uses its context-aware TokenContext.
type TokenSource struct {
	o       *OAuth
	persist func(context.Context, *Token) error

	mu  sync.Mutex // held across a refresh: one refresh at a time per portal
	tok Token
}

// TokenSource returns a TokenSource starting from tok. persist (may be nil) is called with each
// refreshed token before it is used; if persist fails, the refresh fails with its error, so a token
// is never used that the host could not store.
func (o *OAuth) TokenSource(tok *Token, persist func(context.Context, *Token) error) *TokenSource {
	return &TokenSource{o: o, persist: persist, tok: *tok}
}

// Token returns a valid access token, refreshing first when it is about to expire.
func (ts *TokenSource) Token() (*oauth2.Token, error) { return ts.TokenContext(context.Background()) }

// TokenContext is Token with a context for the refresh call. It returns an error matching
// ErrConnectionRevoked when HubSpot refuses the refresh token, and the persist callback's error
// when it fails.
func (ts *TokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.tok.AccessToken != "" && ts.o.cfg.clk.Now().Add(RefreshMargin).Before(ts.tok.Expiry) {
		return ts.tok.OAuth2(), nil
	}
	if ts.tok.RefreshToken == "" {
		return nil, errors.New("hubspot: access token expired and no refresh token is held")
	}
	nt, err := ts.o.Refresh(ctx, ts.tok.RefreshToken)
	if err != nil {
		return nil, err
	}
	if nt.HubID == 0 {
		nt.HubID = ts.tok.HubID
	}
	if ts.persist != nil {
		if err := ts.persist(ctx, nt); err != nil {
			return nil, fmt.Errorf("hubspot: persisting refreshed token: %w", err)
		}
	}
	ts.tok = *nt
	return ts.tok.OAuth2(), nil
}

// Current returns a copy of the token held now.
func (ts *TokenSource) Current() Token {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.tok
}

// contextTokenSource is a token source whose refresh honours a context.
type contextTokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// accessToken returns the bearer token for the next request.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	var (
		t   *oauth2.Token
		err error
	)
	if cts, ok := c.cfg.tokens.(contextTokenSource); ok {
		t, err = cts.TokenContext(ctx)
	} else {
		t, err = c.cfg.tokens.Token()
	}
	if err != nil {
		return "", err
	}
	if t == nil || t.AccessToken == "" {
		return "", errors.New("hubspot: token source gave an empty access token")
	}
	return t.AccessToken, nil
}
