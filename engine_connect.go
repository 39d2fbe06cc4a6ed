package hubsync

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hubsync/hubsync/hubspot"
)

// ErrBadState is returned by CompleteConnect when the callback's state is not one this engine
// issued for that school, or has expired (a CSRF attempt, or a stale browser tab).
var ErrBadState = errors.New("hubsync: OAuth state is invalid or expired")

// AuthorizeURL returns the HubSpot page to send a school's admin to. Its state parameter binds
// the flow to the school and expires after Config.StateTTL; CompleteConnect checks it.
func (e *Engine) AuthorizeURL(school SchoolID) (string, error) {
	if school == "" {
		return "", fmt.Errorf("%w: empty school id", ErrInvalidSettings)
	}
	if e.cfg.HubSpot.RedirectURL == "" {
		return "", fmt.Errorf("%w: Config.HubSpot.RedirectURL is required to connect", ErrInvalidSettings)
	}
	var nonce [12]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", fmt.Errorf("hubsync: state nonce: %w", err)
	}
	exp := e.clk.Now().Add(e.cfg.StateTTL).Unix()
	payload := base64.RawURLEncoding.EncodeToString([]byte(string(school))) + "." + strconv.FormatInt(exp, 10) + "." + hex.EncodeToString(nonce[:])
	return e.oauth.AuthorizeURL(payload + "." + e.stateMAC(payload)), nil
}

func (e *Engine) stateMAC(payload string) string {
	m := hmac.New(sha256.New, []byte("hubsync-state:"+e.cfg.HubSpot.ClientSecret))
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// StateSchool returns the school an authorize state was issued for, after checking its signature
// and expiry. A host with one callback URL for many schools uses it to route the callback.
func (e *Engine) StateSchool(state string) (SchoolID, error) {
	i := strings.LastIndexByte(state, '.')
	if i < 0 {
		return "", ErrBadState
	}
	payload, mac := state[:i], state[i+1:]
	if !hmac.Equal([]byte(mac), []byte(e.stateMAC(payload))) {
		return "", ErrBadState
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 3 {
		return "", ErrBadState
	}
	school, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return "", ErrBadState
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || e.clk.Now().Unix() > exp {
		return "", ErrBadState
	}
	return SchoolID(school), nil
}

// CompleteConnect finishes the OAuth flow for school with the code and state HubSpot's callback
// carried: it checks state (ErrBadState), uses it up (a state is accepted once: a second callback
// with it, replayed or raced, gets ErrBadState; the record lives in the store's webhook dedupe
// table under the source "oauth-state", kept for Retention.Webhooks, which New requires to be
// longer than StateTTL), exchanges the code, reads the portal id and domain, and stores the
// connection as active. A reconnect replaces the old tokens and resumes pending work.
func (e *Engine) CompleteConnect(ctx context.Context, school SchoolID, code, state string) (Connection, error) {
	if e.cfg.HubSpot.RedirectURL == "" {
		return Connection{}, fmt.Errorf("%w: Config.HubSpot.RedirectURL is required to connect", ErrInvalidSettings)
	}
	got, err := e.StateSchool(state)
	if err != nil || got != school {
		return Connection{}, ErrBadState
	}
	if code == "" {
		return Connection{}, fmt.Errorf("%w: empty authorization code", ErrInvalidSettings)
	}
	if err := e.useState(ctx, state); err != nil {
		return Connection{}, err
	}
	tok, err := e.oauth.Exchange(ctx, code)
	if err != nil {
		return Connection{}, fmt.Errorf("hubsync: connect %s: %w", school, err)
	}
	return e.storeNewConnection(ctx, school, tok)
}

// stateSource is the Store.MarkWebhookSeen source under which used OAuth states are recorded.
const stateSource = "oauth-state"

// useState records a checked state as used: ErrBadState when it already was. The record is keyed
// by a digest of the state, so the dedupe table holds no school id or nonce in clear.
func (e *Engine) useState(ctx context.Context, state string) error {
	sum := sha256.Sum256([]byte(state))
	first, err := e.cfg.Store.MarkWebhookSeen(ctx, stateSource, hex.EncodeToString(sum[:16]), e.clk.Now())
	if err != nil {
		return fmt.Errorf("hubsync: recording the OAuth state as used: %w", err)
	}
	if !first {
		return fmt.Errorf("%w (it was already used)", ErrBadState)
	}
	return nil
}

// ConnectWithRefreshToken connects school with an existing refresh token (a headless setup, or a
// migration from another integration): it refreshes once to get an access token, then stores the
// connection as CompleteConnect does.
func (e *Engine) ConnectWithRefreshToken(ctx context.Context, school SchoolID, refreshToken string) (Connection, error) {
	if school == "" || refreshToken == "" {
		return Connection{}, fmt.Errorf("%w: school and refresh token are required", ErrInvalidSettings)
	}
	tok, err := e.oauth.Refresh(ctx, refreshToken)
	if err != nil {
		return Connection{}, fmt.Errorf("hubsync: connect %s: %w", school, err)
	}
	return e.storeNewConnection(ctx, school, tok)
}

func (e *Engine) storeNewConnection(ctx context.Context, school SchoolID, tok *hubspot.Token) (Connection, error) {
	conn := Connection{
		School:      school,
		Token:       Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry},
		PortalID:    tok.HubID,
		Active:      true,
		ConnectedAt: e.clk.Now(),
	}
	if info, err := e.oauth.Introspect(ctx, tok.AccessToken, false); err == nil {
		if info.HubID != 0 {
			conn.PortalID = info.HubID
		}
		conn.Domain = info.HubDomain
	} else {
		e.log.Warn("hubsync: token introspection failed; portal domain unknown", "school", school, "err", err)
	}
	if err := e.cfg.Store.PutConnection(ctx, conn); err != nil {
		return Connection{}, fmt.Errorf("hubsync: store connection of %s: %w", school, err)
	}
	e.schools.drop(school)
	e.log.Info("hubsync: school connected", "school", school, "portal", conn.PortalID, "domain", conn.Domain)
	e.notify()
	return conn, nil
}

// Connection returns a school's connection as stored (tokens included: do not show them).
// ErrNotConnected when the school was never connected or was disconnected.
func (e *Engine) Connection(ctx context.Context, school SchoolID) (Connection, error) {
	c, err := e.cfg.Store.GetConnection(ctx, school)
	if errors.Is(err, ErrNotFound) {
		return Connection{}, ErrNotConnected
	}
	return c, err
}

// Disconnect stops all sync for school: it revokes the refresh token at HubSpot (a failure to
// revoke is logged, not returned: the tokens are forgotten either way) and deletes the connection.
// Pending jobs stay queued and run again if the school reconnects. Other engines on the same store
// notice before their next batch of the school's work (they compare their cached connection with
// the stored Connection.Generation), so none of them writes to HubSpot for it afterwards; a batch
// already in flight in another process finishes.
func (e *Engine) Disconnect(ctx context.Context, school SchoolID) error {
	c, err := e.cfg.Store.GetConnection(ctx, school)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.Token.RefreshToken != "" {
		if err := e.oauth.Revoke(ctx, c.Token.RefreshToken); err != nil {
			e.log.Warn("hubsync: revoking the refresh token failed; forgetting it anyway", "school", school, "err", err)
		}
	}
	e.schools.drop(school)
	if err := e.cfg.Store.DeleteConnection(ctx, school); err != nil {
		return fmt.Errorf("hubsync: disconnect %s: %w", school, err)
	}
	// Dropped again: a batch that ran meanwhile may have cached the connection being deleted.
	// Other engines notice by the stored generation before their next batch (checkConnection).
	e.schools.drop(school)
	e.log.Info("hubsync: school disconnected", "school", school)
	return nil
}

// portalFor returns the school's HubSpot client, building it from the stored tokens.
// ErrNotConnected or ErrConnectionLost when it cannot be used.
func (e *Engine) portalFor(ctx context.Context, school SchoolID) (*portal, error) {
	if p := e.schools.client(school); p != nil {
		return p, nil
	}
	conn, err := e.usableConnection(ctx, school)
	if err != nil {
		return nil, err
	}
	p := &portal{portalID: conn.PortalID, gen: conn.Generation, tokens: &swapTokens{}}
	p.tokens.swap(e.tokenSource(school, p, conn))
	client, err := hubspot.New(append(e.hubspotOptions(), hubspot.WithTokenSource(p.tokens))...)
	if err != nil {
		return nil, fmt.Errorf("hubsync: HubSpot client for %s: %w", school, err)
	}
	p.client = client
	return e.schools.keepClient(school, p), nil
}

// usableConnection reads the school's connection: ErrNotConnected when there is none,
// ErrConnectionLost when it was deactivated.
func (e *Engine) usableConnection(ctx context.Context, school SchoolID) (Connection, error) {
	conn, err := e.cfg.Store.GetConnection(ctx, school)
	if errors.Is(err, ErrNotFound) {
		return Connection{}, ErrNotConnected
	}
	if err != nil {
		return Connection{}, err
	}
	if !conn.Active {
		return Connection{}, ErrConnectionLost
	}
	return conn, nil
}

// tokenSource hands out conn's tokens and persists every refresh against p's generation.
func (e *Engine) tokenSource(school SchoolID, p *portal, conn Connection) *hubspot.TokenSource {
	tok := &hubspot.Token{AccessToken: conn.Token.AccessToken, RefreshToken: conn.Token.RefreshToken, Expiry: conn.Token.Expiry, HubID: conn.PortalID}
	return e.oauth.TokenSource(tok, func(ctx context.Context, t *hubspot.Token) error {
		old := p.generation()
		gen, err := e.persistToken(ctx, school, old, t)
		if err != nil {
			return err
		}
		p.advance(old, gen)
		return nil
	})
}

// checkConnection compares the school's cached client with the store's connection record before
// a batch, so this engine notices within one batch what another process did: a disconnect or a
// deactivation (the client is dropped; the batch then meets ErrNotConnected or ErrConnectionLost
// and its jobs are kept), a reconnect to another portal (everything of the school is dropped and
// rebuilt), or a token refresh (the client keeps its rate limiter and takes the stored tokens).
func (e *Engine) checkConnection(ctx context.Context, school SchoolID) error {
	p := e.schools.client(school)
	if p == nil {
		return nil // built from the store on first use
	}
	conn, err := e.cfg.Store.GetConnection(ctx, school)
	switch {
	case errors.Is(err, ErrNotFound):
		e.log.Info("hubsync: school disconnected by another process; its jobs wait", "school", school)
		e.schools.drop(school)
	case err != nil:
		return err
	case !conn.Active || conn.PortalID != p.portalID:
		e.log.Info("hubsync: school's connection changed in the store", "school", school, "active", conn.Active, "portal", conn.PortalID)
		e.schools.drop(school)
	case conn.Generation == p.generation():
	default:
		// Another process refreshed the tokens: take them, keep the client and its budget.
		p.tokens.swap(e.tokenSource(school, p, conn))
		p.setGeneration(conn.Generation)
	}
	return nil
}

// errConnectionChanged: a refreshed token was not stored because the stored connection is no
// longer the one the client was built from (another process disconnected, reconnected or
// deactivated the school meanwhile); storing it would undo that.
var errConnectionChanged = errors.New("hubsync: the school's connection changed in the store")

// persistToken stores a refreshed token for the connection at generation gen (so a restart does
// not refresh again and a rotated refresh token is never lost) and returns the connection's new
// generation. It refuses with errConnectionChanged when the stored connection is not at gen, in
// one transaction when the store offers one.
func (e *Engine) persistToken(ctx context.Context, school SchoolID, gen int64, t *hubspot.Token) (int64, error) {
	var next int64
	put := func(ctx context.Context, s Store) error {
		conn, err := s.GetConnection(ctx, school)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: %w", errConnectionChanged, ErrNotConnected)
		}
		if err != nil {
			return err
		}
		if conn.Generation != gen || !conn.Active {
			return errConnectionChanged
		}
		refresh := t.RefreshToken
		if refresh == "" {
			refresh = conn.Token.RefreshToken // HubSpot did not rotate it
		}
		conn.Token = Token{AccessToken: t.AccessToken, RefreshToken: refresh, Expiry: t.Expiry}
		if err := s.PutConnection(ctx, conn); err != nil {
			return err
		}
		stored, err := s.GetConnection(ctx, school)
		next = stored.Generation
		return err
	}
	var err error
	if tx, ok := e.cfg.Store.(Transactor); ok {
		err = tx.RunInTx(ctx, func(ctx context.Context, s Store, _ Queue) error { return put(ctx, s) })
	} else {
		err = put(ctx, e.cfg.Store)
	}
	return next, err
}

// connectionLost deactivates a school whose refresh was refused, tells the school once, and keeps
// its pending work. Safe to call from many workers at once: the store's once-ledger makes the
// email go out exactly once per connection.
func (e *Engine) connectionLost(ctx context.Context, school SchoolID, cause error) {
	e.schools.forgetClient(school, nil)
	conn, err := e.cfg.Store.GetConnection(ctx, school)
	if err != nil {
		e.log.Error("hubsync: connection lost, but reading it failed", "school", school, "err", err)
		return
	}
	if conn.Active {
		conn.Active = false
		conn.DeactivatedAt = e.clk.Now()
		conn.DeactivatedReason = "HubSpot refused the refresh token: the app was uninstalled or access was revoked"
		if err := e.cfg.Store.PutConnection(ctx, conn); err != nil {
			e.log.Error("hubsync: could not deactivate school", "school", school, "err", err)
			return
		}
		e.log.Warn("hubsync: HubSpot connection lost; school deactivated until reconnected", "school", school, "err", cause)
		e.metrics.connectionLost(ctx, school)
	}
	// The ledger key names this connection; the claimant token is unique to this call, so of
	// all the workers (and engines) that see the loss exactly one wins.
	key := "connection-lost|" + strconv.FormatInt(conn.ConnectedAt.UnixNano(), 10)
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	me := hex.EncodeToString(nonce[:])
	owner, err := e.cfg.Store.ClaimOnce(ctx, school, key, me)
	if err != nil || owner != me {
		return
	}
	// Only the claim's winner gets here, once per connection.
	if e.cfg.Notifier == nil {
		return
	}
	to := ""
	if s, err := e.cfg.Store.GetSettings(ctx, school); err == nil {
		to = s.NotifyEmail
	}
	if err := e.cfg.Notifier.ConnectionLost(ctx, school, to, conn.DeactivatedReason); err != nil {
		e.log.Error("hubsync: notifying the school of the lost connection failed", "school", school, "err", err)
		return
	}
	conn.NotifiedAt = e.clk.Now()
	if err := e.cfg.Store.PutConnection(ctx, conn); err != nil {
		e.log.Warn("hubsync: could not record the notification time", "school", school, "err", err)
	}
}
