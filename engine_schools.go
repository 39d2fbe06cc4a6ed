package hubsync

import (
	"context"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/hubsync/hubsync/hubspot"
)

// This file holds the engine's runtime state of each school, in this process: the HubSpot client
// built from the stored tokens, the pause (a rate limit, an outage, a lost connection), the count
// of consecutive outages, the cached property schema and the manual sync's read-ahead; and the
// index of schools by HubSpot portal that routes webhooks. Everything here is a cache of the store
// or a decision of this process: dropping a school's state loses nothing.

// portalIndexTTL is how long the portal -> schools index is trusted before it is rebuilt from the
// store (a connect in this process rebuilds it at once).
const portalIndexTTL = time.Minute

// portal is a connected school's HubSpot client, built from its stored connection. The client
// (and its rate limiter, the portal's budget) lives as long as the connection is to the same
// portal; its tokens can be swapped under it.
type portal struct {
	client   *hubspot.Client
	portalID int64
	tokens   *swapTokens

	mu  sync.Mutex
	gen int64 // the stored Connection.Generation this client agrees with
}

func (p *portal) setGeneration(g int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen = g
}

// generation returns the stored generation the client agrees with.
func (p *portal) generation() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen
}

// advance records that this process itself moved the stored connection from generation old to
// now (a refreshed token it persisted), so the next check does not take its own write for
// another process's. It reports false when the client no longer agrees with old.
func (p *portal) advance(old, now int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gen != old {
		return false
	}
	p.gen = now
	return true
}

// swapTokens is the token source a portal's client reads, whose source can be replaced when
// another process stored new tokens.
type swapTokens struct {
	mu sync.Mutex
	ts *hubspot.TokenSource
}

func (s *swapTokens) swap(ts *hubspot.TokenSource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ts = ts
}

func (s *swapTokens) current() *hubspot.TokenSource {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ts
}

// Token implements oauth2.TokenSource.
func (s *swapTokens) Token() (*oauth2.Token, error) { return s.current().Token() }

// TokenContext is Token with a context for a refresh (the hubspot client prefers it).
func (s *swapTokens) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	return s.current().TokenContext(ctx)
}

type schemaEntry struct {
	props   []Property
	fetched time.Time
}

// schoolRT is one school's runtime state.
type schoolRT struct {
	portal *portal // nil until built from the stored connection
	// pausedUntil pauses every lane of the school (a HubSpot rate limit, a lost connection);
	// lanePaused one lane (an LMS that is down or asked to wait).
	pausedUntil time.Time
	lanePaused  [laneCount]time.Time
	held        [laneCount]bool // a worker is on this lane of the school (the LMS lane only)
	outages     [laneCount]int  // per lane: consecutive batches failed by an unavailable HubSpot or LMS
	schema      *schemaEntry
	prefetch    *prefetch
}

// schools is the runtime state of every school this engine has touched, and the portal index.
// Its methods are safe for concurrent use.
type schools struct {
	mu sync.Mutex
	m  map[SchoolID]*schoolRT
	// byPortal maps a HubSpot portal id to the schools connected to it; rebuilt when older than
	// portalIndexTTL or after a connect.
	byPortal  map[int64][]SchoolID
	portalsAt time.Time
}

func newSchools() *schools { return &schools{m: map[SchoolID]*schoolRT{}} }

// rt returns school's state, creating it. The caller holds s.mu.
func (s *schools) rt(school SchoolID) *schoolRT {
	r := s.m[school]
	if r == nil {
		r = &schoolRT{}
		s.m[school] = r
	}
	return r
}

// client returns the school's cached HubSpot client, nil when none is built.
func (s *schools) client(school SchoolID) *portal {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.m[school]; r != nil {
		return r.portal
	}
	return nil
}

// keepClient caches p as the school's client unless another worker cached one first, and returns
// the one cached.
func (s *schools) keepClient(school SchoolID, p *portal) *portal {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rt(school)
	if r.portal == nil {
		r.portal = p
	}
	return r.portal
}

// forgetClient drops the school's client (its tokens are rebuilt from the store on next use) and
// keeps the rest of its state.
func (s *schools) forgetClient(school SchoolID, p *portal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.m[school]; r != nil && (p == nil || r.portal == p) {
		r.portal = nil
	}
}

// drop forgets everything of one school: client, pause, outages, schema and read-ahead, and
// makes the portal index stale. Used when the school's connection changed (connected,
// reconnected, disconnected, or changed by another process).
func (s *schools) drop(school SchoolID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.m[school]; r != nil {
		// A worker in the middle of a batch still holds its lane: keep that, forget the rest.
		s.m[school] = &schoolRT{held: r.held}
	}
	s.portalsAt = time.Time{}
}

// pause makes workers skip school until until (a later pause wins).
func (s *schools) pause(school SchoolID, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rt(school); until.After(r.pausedUntil) {
		r.pausedUntil = until
	}
}

// pauseLane makes workers skip one lane of school until until (a later pause wins).
func (s *schools) pauseLane(school SchoolID, l lane, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rt(school); until.After(r.lanePaused[l]) {
		r.lanePaused[l] = until
	}
}

// excluded lists the schools whose work of lane l waits at now (for DequeueOptions.Exclude): the
// school paused, or that lane of it, or its LMS lane held by another worker. laneCount stands for
// "every lane": a school with any lane paused or held.
func (s *schools) excluded(l lane, now time.Time) []SchoolID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SchoolID
	for id, r := range s.m {
		if r.pausedUntil.After(now) || r.waits(l, now) {
			out = append(out, id)
		}
	}
	return out
}

// waits reports whether lane l of the school waits at now (any lane, for laneCount).
func (r *schoolRT) waits(l lane, now time.Time) bool {
	if l == laneCount {
		for x := range laneCount {
			if r.waits(x, now) {
				return true
			}
		}
		return false
	}
	return r.lanePaused[l].After(now) || r.held[l]
}

// nextPauseEnd is the earliest end of a pause after now, so an idle worker wakes when paused work
// may run again.
func (s *schools) nextPauseEnd(now time.Time) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, r := range s.m {
		consider(r.pausedUntil)
		for _, t := range r.lanePaused {
			consider(t)
		}
	}
	return next, !next.IsZero()
}

// hold marks lane l of school taken by one worker; false when another worker holds it.
func (s *schools) hold(school SchoolID, l lane) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rt(school)
	if r.held[l] {
		return false
	}
	r.held[l] = true
	return true
}

func (s *schools) unhold(school SchoolID, l lane) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.m[school]; r != nil {
		r.held[l] = false
	}
}

// outage counts one more consecutive batch of lane l failed by an unavailable service.
func (s *schools) outage(school SchoolID, l lane) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rt(school).outages[l]++
}

// outages returns the count of consecutive outages of lane l of the school.
func (s *schools) outages(school SchoolID, l lane) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.m[school]; r != nil {
		return r.outages[l]
	}
	return 0
}

// recovered resets the outage count of lane l after a batch that worked.
func (s *schools) recovered(school SchoolID, l lane) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.m[school]; r != nil {
		r.outages[l] = 0
	}
}

// schema returns the school's cached property schema when it is younger than ttl.
func (s *schools) schema(school SchoolID, now time.Time, ttl time.Duration) ([]Property, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.m[school]; r != nil && r.schema != nil && now.Sub(r.schema.fetched) < ttl {
		return r.schema.props, true
	}
	return nil, false
}

func (s *schools) keepSchema(school SchoolID, props []Property, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rt(school).schema = &schemaEntry{props: props, fetched: now}
}

// invalidateSchema makes the next schema read go to HubSpot.
func (s *schools) invalidateSchema(school SchoolID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.m[school]; r != nil {
		r.schema = nil
	}
}

// takePrefetch returns the school's read-ahead when it is for cursor, and forgets it either way
// when it is.
func (s *schools) takePrefetch(school SchoolID, cursor string) *prefetch {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.m[school]
	if r == nil || r.prefetch == nil || r.prefetch.cursor != cursor {
		return nil
	}
	pf := r.prefetch
	r.prefetch = nil
	return pf
}

func (s *schools) keepPrefetch(school SchoolID, pf *prefetch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rt(school).prefetch = pf
}

// portalSchools returns the schools connected to portal from the index; ok is false when the
// index is stale or does not know the portal (another process may have connected it since).
func (s *schools) portalSchools(portal int64, now time.Time) ([]SchoolID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.portalsAt) >= portalIndexTTL {
		return nil, false
	}
	ids, ok := s.byPortal[portal]
	return ids, ok
}

func (s *schools) keepPortalIndex(idx map[int64][]SchoolID, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byPortal, s.portalsAt = idx, now
}
