package hubspottest

import (
	"maps"
	"net/http"
	"strings"
	"time"
)

// This file holds what a benchmark serving many portals needs: tokens that name the portal they
// belong to (so one front can serve every portal at one URL, as HubSpot's API host does), the
// server's handler for such a front, and a hook that sees every contact write as it lands.

// WithTokenPrefix makes every access token, refresh token and authorization code the server
// issues start with prefix and a dash ("p7-access-…"), so a front serving many fake portals at one
// URL can tell from a request's token which portal it is for (see [TokenPrefix]). The prefix must
// not contain a dash. Default: none ("access-…").
func WithTokenPrefix(prefix string) Option { return func(o *options) { o.tokenPrefix = prefix } }

// TokenPrefix returns the prefix a token or code of a server made WithTokenPrefix carries: the
// text before its first dash, and false when it has none.
func TokenPrefix(token string) (string, bool) {
	p, _, ok := strings.Cut(token, "-")
	return p, ok && p != ""
}

// token returns a new random token of kind ("access", "refresh", "code") with the server's prefix.
func (s *Server) token(kind string) string {
	if s.cfg.tokenPrefix != "" {
		return randomToken(s.cfg.tokenPrefix + "-" + kind)
	}
	return randomToken(kind)
}

// Handler returns the server's HTTP handler: the one its URL serves, counting, faults and rate
// limits included. A front that serves many portals at one address dispatches to it in-process.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// ContactWrite is one write of a contact's properties as it landed: an upsert, update or patch
// input, or a simulated HubSpot edit.
type ContactWrite struct {
	Email string            // the contact's primary email after the write, folded
	Props map[string]string // the properties the write carried (its email excepted)
	// Changed names the properties whose value the write changed; empty when it changed nothing
	// (the same values sent again).
	Changed []string
	At      time.Time // on the server's clock
}

// WithContactWriteHook makes the server call f after every contact write it applies, with what the
// write carried and changed, so a benchmark can time each value's arrival and count values sent
// twice. f runs with the server's lock held: it must be quick and must not call the Server's
// methods. Default: none.
func WithContactWriteHook(f func(ContactWrite)) Option { return func(o *options) { o.onWrite = f } }

// noteWriteLocked calls the write hook, when there is one.
func (s *Server) noteWriteLocked(c *contact, props map[string]string, changed []string, now time.Time) {
	if s.cfg.onWrite == nil {
		return
	}
	p := maps.Clone(props)
	delete(p, "email")
	s.cfg.onWrite(ContactWrite{Email: c.props["email"], Props: p, Changed: changed, At: now})
}
