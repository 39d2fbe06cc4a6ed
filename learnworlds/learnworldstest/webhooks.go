package learnworldstest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// SignatureHeader is the header carrying a webhook's signature.
const SignatureHeader = "Learnworlds-Webhook-Signature"

// Delivery is one webhook POST the fake made.
type Delivery struct {
	Type      string
	Body      []byte
	Signature string
	// Status is the target's answer (0 when the POST failed).
	Status int
}

// Course names a course in enroll, completion and certificate events.
type Course struct {
	ID    string
	Title string
}

// SetWebhook sets (or, with an empty target, clears) the delivery target and signature; see
// WithWebhook.
func (s *Server) SetWebhook(target, secret string, hmacSig bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL, s.hookSecret, s.hookHMAC = target, secret, hmacSig
}

// Deliveries returns the webhook deliveries made so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// Sign returns the signature header value for body under the server's webhook settings.
func (s *Server) Sign(body []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signLocked(body)
}

func (s *Server) signLocked(body []byte) string {
	if s.hookHMAC {
		m := hmac.New(sha256.New, []byte(s.hookSecret))
		m.Write(body)
		return "v1=" + hex.EncodeToString(m.Sum(nil))
	}
	return "v1=" + s.hookSecret
}

// webhookUser renders u as v2 webhooks do: every sign-up field (null when unset), first and last
// name, and UTM keys without "utm_" (fc_source, not fc_utm_source).
func (u *User) webhookJSON() wireUser {
	fields := map[string]any{}
	for _, k := range BuiltinFields {
		fields[k] = nil
	}
	for k, v := range u.Fields {
		fields[k] = v
	}
	utms := map[string]any{}
	for _, k := range utmKeys {
		wk := strings.Replace(k, "_utm_", "_", 1)
		if v, ok := u.UTMs[k]; ok {
			utms[wk] = v
		} else {
			utms[wk] = nil
		}
	}
	w := u.common()
	w.Fields, w.UTMs = fields, utms
	if w.BillingInfo == nil {
		w.BillingInfo = map[string]any{}
	}
	return w
}

// emit POSTs a signed v2 envelope to the target, when one is set. It returns an error when the
// POST fails or the target answers outside 2xx.
func (s *Server) emit(ctx context.Context, typ, trigger string, data any) error {
	s.mu.Lock()
	target := s.hookURL
	env := map[string]any{"version": 2, "type": typ, "trigger": trigger, "school_id": s.SchoolID, "data": data}
	body, err := json.Marshal(env)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("learnworldstest: encode %s webhook: %w", typ, err)
	}
	sig := s.signLocked(body)
	s.mu.Unlock()
	if target == "" {
		return nil
	}
	return s.post(ctx, target, Delivery{Type: typ, Body: body, Signature: sig})
}

// Redeliver POSTs a delivery's body and signature again, unchanged, to the current target, as
// LearnWorlds retries a delivery its target did not accept (how often and when is undocumented,
// so the test decides), and records it as a new Delivery. Errors as the emitting methods: the
// POST failed or the target answered outside 2xx; none when no target is set.
func (s *Server) Redeliver(ctx context.Context, d Delivery) error {
	s.mu.Lock()
	target := s.hookURL
	s.mu.Unlock()
	if target == "" {
		return nil
	}
	d.Status = 0
	return s.post(ctx, target, d)
}

// post sends one delivery and records it with the target's answer.
func (s *Server) post(ctx context.Context, target string, d Delivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(d.Body))
	if err != nil {
		return fmt.Errorf("learnworldstest: %s webhook: %w", d.Type, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, d.Signature)
	resp, err := s.hc.Do(req)
	if err == nil {
		d.Status = resp.StatusCode
		resp.Body.Close()
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("learnworldstest: %s webhook: %w", d.Type, err)
	}
	if d.Status < 200 || d.Status > 299 {
		return fmt.Errorf("learnworldstest: %s webhook: target answered %d", d.Type, d.Status)
	}
	return nil
}

// emitWrite emits the webhook of a change made through the API, when WithAPIWriteWebhooks is on.
// The API call's own answer does not depend on the delivery, which is only recorded.
func (s *Server) emitWrite(ctx context.Context, typ, trigger string, data any) {
	s.mu.Lock()
	on := s.hookWrites
	s.mu.Unlock()
	if on {
		_ = s.emit(ctx, typ, trigger, data)
	}
}

// withUser runs fn on the learner under the lock and returns its webhook rendering.
func (s *Server) withUser(idOrEmail string, fn func(u *User)) (wireUser, *User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookupLocked(idOrEmail)
	if u == nil {
		return wireUser{}, nil, fmt.Errorf("learnworldstest: no learner %q", idOrEmail)
	}
	if fn != nil {
		fn(u)
	}
	return u.webhookJSON(), u, nil
}

// Register adds a learner (as AddUser) and emits userUpdated, as a sign-up does.
func (s *Server) Register(ctx context.Context, u User) (User, error) {
	added, err := s.AddUser(u)
	if err != nil {
		return User{}, err
	}
	wu, _, _ := s.withUser(added.ID, nil)
	return added, s.emit(ctx, "userUpdated", "user_updated", map[string]any{"ip_address": "", "user": wu})
}

// Update changes a learner with fn (under the server's lock: do not call the server from fn) and
// emits userUpdated. Changing Email or Username through fn is reindexed.
func (s *Server) Update(ctx context.Context, idOrEmail string, fn func(u *User)) (User, error) {
	var out User
	wu, _, err := s.withUser(idOrEmail, func(u *User) {
		oldEmail, oldName := strings.ToLower(u.Email), strings.ToLower(u.Username)
		fn(u)
		delete(s.byEmail, oldEmail)
		delete(s.byUsername, oldName)
		s.byEmail[strings.ToLower(u.Email)] = u
		s.byUsername[strings.ToLower(u.Username)] = u
		out = u.clone()
	})
	if err != nil {
		return User{}, err
	}
	return out, s.emit(ctx, "userUpdated", "user_updated", map[string]any{"ip_address": "", "user": wu})
}

func courseJSON(c Course) map[string]any {
	return map[string]any{"id": c.ID, "title": c.Title, "access": "free", "created": 1637232215.057839}
}

// Enroll emits enrolledFreeCourse for the learner.
func (s *Server) Enroll(ctx context.Context, idOrEmail string, c Course) error {
	wu, _, err := s.withUser(idOrEmail, nil)
	if err != nil {
		return err
	}
	return s.emit(ctx, "enrolledFreeCourse", "enrolled_free", map[string]any{"ip_address": nil, "date": int64(s.stamp()), "course": courseJSON(c), "user": wu})
}

// Purchase records a payment for the learner (visible through GET /v2/payments) and emits
// productBought.
func (s *Server) Purchase(ctx context.Context, idOrEmail string, p Payment) (Payment, error) {
	var pay Payment
	wu, _, err := s.withUser(idOrEmail, func(u *User) { pay = s.addPaymentLocked(u, p) })
	if err != nil {
		return Payment{}, err
	}
	return pay, s.emit(ctx, "productBought", "new_purchase", map[string]any{"ip_address": nil, "payment": pay.json(), "user": wu})
}

// CompleteCourse emits courseCompleted.
func (s *Server) CompleteCourse(ctx context.Context, idOrEmail string, c Course) error {
	wu, _, err := s.withUser(idOrEmail, nil)
	if err != nil {
		return err
	}
	return s.emit(ctx, "courseCompleted", "course_completed", map[string]any{"completed_at": s.stamp(), "ip_address": nil, "manually_completed": false, "course": courseJSON(c), "user": wu})
}

// AwardCertificate emits awardedCertificate.
func (s *Server) AwardCertificate(ctx context.Context, idOrEmail string, c Course) error {
	var certID, email, id string
	wu, _, err := s.withUser(idOrEmail, func(u *User) {
		s.seq++
		certID, email, id = fmt.Sprintf("61%022x", s.seq), u.Email, u.ID
	})
	if err != nil {
		return err
	}
	cert := map[string]any{"attempts": 0, "course_id": c.ID, "form": map[string]any{}, "id": certID, "issued": s.stamp(),
		"score": "OK", "short_url": false, "status": "active", "title": "Certificate of " + c.Title, "type": "completion",
		"user": map[string]any{"email": email, "id": id}}
	return s.emit(ctx, "awardedCertificate", "certificate_awarded", map[string]any{"ip_address": nil, "certificate": cert, "user": wu})
}

// AddTags attaches tags and emits userTagAdded, whose data is the user itself with the full tag list.
func (s *Server) AddTags(ctx context.Context, idOrEmail string, tags ...string) error {
	wu, _, err := s.withUser(idOrEmail, func(u *User) { changeTags(u, true, tags) })
	if err != nil {
		return err
	}
	return s.emit(ctx, "userTagAdded", "user_tag_added", wu)
}

// RemoveTags detaches tags and emits userTagDeleted (data: the user itself).
func (s *Server) RemoveTags(ctx context.Context, idOrEmail string, tags ...string) error {
	wu, _, err := s.withUser(idOrEmail, func(u *User) { changeTags(u, false, tags) })
	if err != nil {
		return err
	}
	return s.emit(ctx, "userTagDeleted", "user_tag_deleted", wu)
}
