package hubspottest

import (
	"github.com/hubsync/hubsync/hubspot"
)

// App returns the installed app's identity for hubspot.NewOAuth, with redirectURL and the
// default scopes.
func (s *Server) App(redirectURL string) hubspot.App {
	return hubspot.App{ClientID: s.cfg.clientID, ClientSecret: s.cfg.clientSecret, RedirectURL: redirectURL, Scopes: DefaultScopes}
}

// Token installs the app (see MintToken) and returns the grant as a hubspot.Token, with the expiry
// and hub id a code exchange would give: the quickest way to a connected client in a test.
func (s *Server) Token() *hubspot.Token {
	access, refresh := s.MintToken()
	expiry, _ := s.TokenExpiry(access)
	return &hubspot.Token{AccessToken: access, RefreshToken: refresh, TokenType: "bearer", Expiry: expiry, HubID: s.cfg.portalID, Scopes: DefaultScopes}
}

// ClientOptions returns the hubspot options that point a client or an OAuth at this server:
// base URL, authorize URL and the server's clock.
func (s *Server) ClientOptions() []hubspot.Option {
	return []hubspot.Option{hubspot.WithBaseURL(s.URL), hubspot.WithAuthorizeURL(s.URL + "/oauth/authorize"), hubspot.WithClock(s.clk)}
}
