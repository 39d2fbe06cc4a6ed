package hubspottest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hubsync/hubsync/hubspot"
)

// ChangeSource says who made a change, as HubSpot marks it on webhook events (changeSource and
// sourceId).
type ChangeSource struct {
	Source   string // changeSource: CRM_UI, AUTOMATION_PLATFORM, IMPORT, INTEGRATION...
	SourceID string // sourceId, e.g. "userId:1001"
}

// Change sources for admin calls.
var (
	// SourceCRMUI is a HubSpot user editing a contact in the CRM.
	SourceCRMUI = ChangeSource{Source: "CRM_UI", SourceID: "userId:1001"}
	// SourceWorkflow is a HubSpot workflow changing a contact.
	SourceWorkflow = ChangeSource{Source: "AUTOMATION_PLATFORM", SourceID: "workflowId:2002"}
	// SourceImport is a CSV import.
	SourceImport = ChangeSource{Source: "IMPORT", SourceID: "importId:3003"}
)

// sourceAPI marks changes our app made through the API. The fake marks them changeSource
// INTEGRATION with the app id as sourceId; the exact marker on real deliveries is unverified in
// the contract notes, so consumers should rely on the sourceId being the app id.
var sourceAPI = ChangeSource{Source: "INTEGRATION"}

// webhookState is the emitter's queue; guarded by Server.mu except deliverMu.
type webhookState struct {
	target    string
	pending   []map[string]any
	seq       int64
	delivered int // events delivered
	requests  int // delivery requests made
	failures  int // failed delivery requests
	client    *http.Client
	kick      chan struct{}
	quit      chan struct{}
	wg        sync.WaitGroup
	deliverMu sync.Mutex
	stopOnce  sync.Once
}

func (h *webhookState) stop() {
	h.stopOnce.Do(func() {
		if h.quit != nil {
			close(h.quit)
			h.wg.Wait()
		}
	})
}

// SetWebhookTarget registers the app's webhook URL. From then on every contact change is queued
// as a webhook event; a background goroutine delivers queued events as signed batches of up to
// 100 (v3 signature with the client secret, plus a v1 signature), and FlushWebhooks delivers
// synchronously.
func (s *Server) SetWebhookTarget(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks.target = url
	if s.hooks.kick == nil {
		s.hooks.client = &http.Client{Timeout: 5 * time.Second}
		s.hooks.kick = make(chan struct{}, 1)
		s.hooks.quit = make(chan struct{})
		s.hooks.wg.Add(1)
		go s.deliverLoop()
	}
}

func (s *Server) deliverLoop() {
	defer s.hooks.wg.Done()
	for {
		select {
		case <-s.hooks.quit:
			return
		case <-s.hooks.kick:
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-s.hooks.quit:
				case <-ctx.Done():
				}
				cancel()
			}()
			_ = s.FlushWebhooks(ctx) // failures stay queued for the next change or flush
			cancel()
		}
	}
}

// emitLocked queues a webhook event for c when a target is registered.
func (s *Server) emitLocked(c *contact, typ, prop string, src ChangeSource) {
	s.journalLocked(c, typ, prop, src)
	if s.hooks.target == "" {
		return
	}
	if src == sourceAPI {
		src.SourceID = strconv.FormatInt(s.cfg.appID, 10)
	}
	s.hooks.seq++
	ev := map[string]any{
		"eventId": s.hooks.seq, "subscriptionId": 1, "portalId": s.cfg.portalID, "appId": s.cfg.appID,
		"occurredAt": s.clk.Now().UnixMilli(), "subscriptionType": typ, "attemptNumber": 0, "objectId": c.id,
		"changeSource": src.Source, "sourceId": src.SourceID,
	}
	switch typ {
	case "contact.creation":
		ev["changeFlag"] = "CREATED"
	case "contact.deletion":
		ev["changeFlag"] = "DELETED"
	case "contact.propertyChange":
		ev["propertyName"], ev["propertyValue"] = prop, c.props[prop]
	}
	s.hooks.pending = append(s.hooks.pending, ev)
	select {
	case s.hooks.kick <- struct{}{}:
	default:
	}
}

// FlushWebhooks delivers every queued event now, in batches of up to 100, and returns the first
// delivery failure (a transport error or a non-2xx answer); failed events stay queued with their
// attemptNumber raised, and are dropped after 10 attempts as HubSpot gives up.
func (s *Server) FlushWebhooks(ctx context.Context) error {
	s.hooks.deliverMu.Lock()
	defer s.hooks.deliverMu.Unlock()
	for {
		s.mu.Lock()
		target := s.hooks.target
		n := min(len(s.hooks.pending), 100)
		batch := append([]map[string]any(nil), s.hooks.pending[:n]...)
		s.hooks.pending = s.hooks.pending[n:]
		now := s.clk.Now()
		s.mu.Unlock()
		if n == 0 || target == "" {
			return nil
		}
		err := s.post(ctx, target, batch, now)
		s.mu.Lock()
		s.hooks.requests++
		if err != nil {
			s.hooks.failures++
			var retry []map[string]any
			for _, ev := range batch {
				a := ev["attemptNumber"].(int) + 1
				if a < 10 {
					cp := make(map[string]any, len(ev))
					for k, v := range ev {
						cp[k] = v
					}
					cp["attemptNumber"] = a
					retry = append(retry, cp)
				}
			}
			s.hooks.pending = append(retry, s.hooks.pending...)
			s.mu.Unlock()
			return err
		}
		s.hooks.delivered += len(batch)
		s.mu.Unlock()
	}
}

func (s *Server) post(ctx context.Context, target string, batch []map[string]any, now time.Time) error {
	body, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("hubspottest: webhook target: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(hubspot.HeaderTimestamp, ts)
	req.Header.Set(hubspot.HeaderSignatureV3, hubspot.SignV3(s.cfg.clientSecret, http.MethodPost, target, body, ts))
	req.Header.Set(hubspot.HeaderSignature, hubspot.SignV1(s.cfg.clientSecret, body))
	req.Header.Set(hubspot.HeaderSignatureVersion, "v1")
	resp, err := s.hooks.client.Do(req)
	if err != nil {
		if isTimeout(err) {
			return fmt.Errorf("hubspottest: webhook delivery timed out: %w", err)
		}
		return fmt.Errorf("hubspottest: webhook delivery: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("hubspottest: webhook target answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// WebhookStats reports the emitter's counters.
type WebhookStats struct {
	Pending   int // events queued, not yet delivered
	Delivered int // events delivered with a 2xx answer
	Requests  int // delivery requests made
	Failures  int // delivery requests that failed
}

// WebhookStats returns the emitter's counters.
func (s *Server) WebhookStats() WebhookStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return WebhookStats{Pending: len(s.hooks.pending), Delivered: s.hooks.delivered, Requests: s.hooks.requests, Failures: s.hooks.failures}
}

// AdminUpsertContact changes a contact as a HubSpot user, workflow or import would (src says
// which), creating it when no contact has that email. Values are validated as HubSpot's UI does,
// but read-only-for-apps properties such as hs_additional_emails may be set. Lifecycle stages
// still only move forward. Every change is queued as a webhook event marked with src. It returns
// the record id, or an error naming the bad value or the email already taken.
func (s *Server) AdminUpsertContact(email string, props map[string]string, src ChangeSource) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.checkValueLocked("email", hubspot.FoldEmail(email)); d != nil {
		return "", errors.New("hubspottest: " + d.Message)
	}
	for k, v := range props {
		if d := s.checkValueLocked(k, v); d != nil && d.Code != "READ_ONLY_VALUE" {
			return "", errors.New("hubspottest: " + d.Message)
		}
	}
	now := s.clk.Now()
	c := s.lookupLocked(email)
	var id int64
	if c != nil {
		id = c.id
	}
	merged := map[string]string{"email": hubspot.FoldEmail(email), "hs_additional_emails": props["hs_additional_emails"]}
	if c != nil {
		merged["email"] = c.props["email"]
		if _, ok := props["hs_additional_emails"]; !ok {
			merged["hs_additional_emails"] = c.props["hs_additional_emails"]
		}
	}
	if err := s.checkEmailsLocked(id, merged); err != nil {
		return "", err
	}
	created := c == nil
	if created {
		c = s.createLocked(email, now)
		s.emitLocked(c, "contact.creation", "", src)
	}
	for _, name := range s.applyLocked(c, props, now) {
		s.emitLocked(c, "contact.propertyChange", name, src)
	}
	return strconv.FormatInt(c.id, 10), nil
}

// AdminDeleteContact archives a contact (by record id or email) as a HubSpot user would, queuing a
// contact.deletion event. It returns an error when there is no such contact.
func (s *Server) AdminDeleteContact(idOrEmail string, src ChangeSource) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c *contact
	if id, err := strconv.ParseInt(idOrEmail, 10, 64); err == nil {
		c = s.contacts[id]
	} else {
		c = s.lookupLocked(idOrEmail)
	}
	if c == nil || c.archived {
		return fmt.Errorf("hubspottest: no contact %q", idOrEmail)
	}
	c.archived = true
	s.reindexLocked(&contact{id: c.id, props: map[string]string{}}, c.props)
	s.emitLocked(c, "contact.deletion", "", src)
	return nil
}
