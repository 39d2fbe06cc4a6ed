package hubspottest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type codeGrant struct {
	redirectURI string
	scopes      []string
	expires     time.Time
}

type accessGrant struct {
	expires time.Time
	refresh string
	scopes  []string
}

// DefaultScopes are granted when an authorization names none.
var DefaultScopes = []string{"oauth", "crm.objects.contacts.read", "crm.objects.contacts.write", "crm.schemas.contacts.read", "timeline"}

// AuthorizeCode returns an authorization code, as if a portal admin approved the app for
// redirectURI with scopes (DefaultScopes when none). The code is single-use and lives 10 minutes.
func (s *Server) AuthorizeCode(redirectURI string, scopes ...string) string {
	if len(scopes) == 0 {
		scopes = DefaultScopes
	}
	code := s.token("code")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = codeGrant{redirectURI: redirectURI, scopes: scopes, expires: s.clk.Now().Add(10 * time.Minute)}
	return code
}

// MintToken installs the app without the browser dance and returns a fresh access token (valid
// for the token TTL) and its refresh token.
func (s *Server) MintToken() (accessToken, refreshToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	refreshToken = s.token("refresh")
	s.refresh[refreshToken] = true
	return s.issueLocked(refreshToken, DefaultScopes), refreshToken
}

// TokenExpiry returns when the access token's validity ends, and false for an unknown token.
func (s *Server) TokenExpiry(accessToken string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.access[accessToken]
	return g.expires, ok
}

// Uninstall removes the app from the portal: every access token stops working and every refresh
// is answered 400 invalid_grant / BAD_REFRESH_TOKEN.
func (s *Server) Uninstall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.refresh {
		s.refresh[t] = false
	}
	s.access = map[string]accessGrant{}
}

// ExpireAccessTokens makes every access token expired now, as if the TTL had passed.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	for t, g := range s.access {
		g.expires = now
		s.access[t] = g
	}
}

func (s *Server) issueLocked(refresh string, scopes []string) string {
	tok := s.token("access")
	s.access[tok] = accessGrant{expires: s.clk.Now().Add(s.cfg.tokenTTL), refresh: refresh, scopes: scopes}
	return tok
}

// checkAuthLocked validates the bearer token; it returns status 0 when the request may proceed.
func (s *Server) checkAuthLocked(r *http.Request, now time.Time) (int, string, string) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return http.StatusUnauthorized, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
	}
	g, ok := s.access[tok]
	if !ok {
		return http.StatusUnauthorized, "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
	}
	if !now.Before(g.expires) {
		ago := int(now.Sub(g.expires) / time.Second)
		return http.StatusUnauthorized, "EXPIRED_AUTHENTICATION", fmt.Sprintf("The OAuth token used to make this call expired %d second(s) ago.", ago)
	}
	return 0, "", ""
}

// handleAuthorize auto-approves: it redirects to redirect_uri with a code and the state.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if q.Get("client_id") != s.cfg.clientID || err != nil || redirect.Scheme == "" {
		http.Error(w, "hubspottest: bad client_id or redirect_uri", http.StatusBadRequest)
		return
	}
	code := s.AuthorizeCode(redirect.String(), strings.Fields(q.Get("scope"))...)
	rq := redirect.Query()
	rq.Set("code", code)
	if st := q.Get("state"); st != "" {
		rq.Set("state", st)
	}
	redirect.RawQuery = rq.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (s *Server) oauthError(w http.ResponseWriter, oauthErr, status, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"error": oauthErr, "error_description": msg, "status": status, "message": msg,
		"correlationId": newUUID(), "category": status,
	})
}

// handleToken serves the token endpoint (v3 and 2026-03): authorization_code and refresh_token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.oauthError(w, "invalid_request", "BAD_REQUEST", "could not parse form body")
		return
	}
	f := r.PostForm
	if len(r.URL.Query()) > 0 {
		s.oauthError(w, "invalid_request", "BAD_REQUEST", "parameters must be sent in the form body")
		return
	}
	if f.Get("client_id") != s.cfg.clientID {
		s.oauthError(w, "invalid_client", "BAD_CLIENT_ID", "missing or unknown client id")
		return
	}
	if f.Get("client_secret") != s.cfg.clientSecret {
		s.oauthError(w, "invalid_client", "BAD_CLIENT_SECRET", "missing or invalid client secret")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	var refresh string
	var scopes []string
	switch f.Get("grant_type") {
	case "authorization_code":
		c, ok := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code"))
		if !ok || !now.Before(c.expires) {
			s.oauthError(w, "invalid_grant", "BAD_AUTH_CODE", "missing or unknown auth code")
			return
		}
		if c.redirectURI != "" && f.Get("redirect_uri") != c.redirectURI {
			s.oauthError(w, "invalid_grant", "BAD_REDIRECT_URI", "redirect_uri does not match the authorization")
			return
		}
		refresh, scopes = s.token("refresh"), c.scopes
		s.refresh[refresh] = true
	case "refresh_token":
		refresh = f.Get("refresh_token")
		if !s.refresh[refresh] {
			s.oauthError(w, "invalid_grant", "BAD_REFRESH_TOKEN", "refresh token is invalid, expired or revoked")
			return
		}
		scopes = DefaultScopes
	case "client_credentials":
		s.handleClientCredentialsLocked(w, f) // journal.go
		return
	default:
		s.oauthError(w, "unsupported_grant_type", "BAD_GRANT_TYPE", "grant_type must be authorization_code, refresh_token or client_credentials")
		return
	}
	access := s.issueLocked(refresh, scopes)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access, "refresh_token": refresh, "expires_in": int64(s.cfg.tokenTTL / time.Second),
		"token_type": "bearer", "hub_id": s.cfg.portalID, "scopes": scopes, "token_use": "access_token", "user_id": 1001,
	})
}

// handleIntrospect serves token introspection; an unknown token gets 200 {"active": false}.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != s.cfg.clientID || r.PostForm.Get("client_secret") != s.cfg.clientSecret {
		s.oauthError(w, "invalid_client", "BAD_CLIENT_ID", "missing or unknown client credentials")
		return
	}
	tok := r.PostForm.Get("token")
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	base := map[string]any{
		"active": true, "app_id": s.cfg.appID, "client_id": s.cfg.clientID, "hub_id": s.cfg.portalID,
		"hub_domain": s.cfg.hubDomain, "scopes": DefaultScopes, "token": tok, "token_type": "bearer",
		"user": "admin@" + s.cfg.hubDomain, "user_id": 1001,
	}
	if g, ok := s.access[tok]; ok && now.Before(g.expires) {
		base["token_use"] = "access_token"
		base["expires_in"] = int64(g.expires.Sub(now) / time.Second)
		base["is_private_distribution"] = false
		base["signed_access_token"] = map[string]any{
			"appId": s.cfg.appID, "appInstallId": "install-1", "audience": "public", "expiresAt": g.expires.UnixMilli(),
			"hubId": s.cfg.portalID, "hublet": "na1", "installingUserId": 1001, "isPrivateDistribution": false,
			"isServiceAccount": false, "isUserLevel": false, "newSignature": "sig", "scopeToScopeGroupPks": "",
			"scopes": strings.Join(DefaultScopes, " "), "signature": "sig", "trialScopeToScopeGroupPks": "",
			"trialScopes": "", "userId": 1001,
		}
		writeJSON(w, http.StatusOK, base)
		return
	}
	if s.refresh[tok] {
		base["token_use"] = "refresh_token"
		writeJSON(w, http.StatusOK, base)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"active": false})
}

// handleRevoke revokes a refresh token (HubSpot: access tokens already issued keep working).
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != s.cfg.clientID || r.PostForm.Get("client_secret") != s.cfg.clientSecret {
		s.oauthError(w, "invalid_client", "BAD_CLIENT_ID", "missing or unknown client credentials")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.refresh[r.PostForm.Get("token")]; ok {
		s.refresh[r.PostForm.Get("token")] = false
	}
	w.WriteHeader(http.StatusNoContent)
}
