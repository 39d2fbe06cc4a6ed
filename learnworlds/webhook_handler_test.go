package learnworlds_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// TestFakeWebhooksThroughHandler registers, updates, enrolls, charges, completes, tags and
// certifies a learner on the fake and checks what the handler receives, under both schemes.
func TestFakeWebhooksThroughHandler(t *testing.T) {
	t.Parallel()
	for _, scheme := range []learnworlds.SignatureScheme{learnworlds.SignatureStatic, learnworlds.SignatureHMACSHA256} {
		t.Run(map[learnworlds.SignatureScheme]string{0: "static", 1: "hmac"}[scheme], func(t *testing.T) {
			t.Parallel()
			events := make(chan learnworlds.Event, 16)
			v := learnworlds.Verifier{Secret: "whsec", Scheme: scheme}
			hook := httptest.NewServer(learnworlds.WebhookHandler(v, nil, func(_ context.Context, ev learnworlds.Event) error {
				events <- ev
				return nil
			}))
			t.Cleanup(hook.Close)
			s := newFake(t, learnworldstest.WithWebhook(hook.URL, "whsec", scheme == learnworlds.SignatureHMACSHA256))
			ctx := t.Context()
			u, err := s.Register(ctx, learnworldstest.User{Email: "ann@example.com", Username: "ann",
				UTMs: map[string]string{"fc_utm_source": "Facebook"}})
			if err != nil {
				t.Fatal(err)
			}
			course := learnworldstest.Course{ID: "go-101", Title: "Go 101"}
			steps := []struct {
				want learnworlds.EventType
				do   func() error
			}{
				{learnworlds.EventUserUpdated, func() error { return nil }},
				{learnworlds.EventUserUpdated, func() error {
					_, err := s.Update(ctx, u.ID, func(u *learnworldstest.User) { u.Fields = map[string]any{"phone": "123"} })
					return err
				}},
				{learnworlds.EventEnrolledFreeCourse, func() error { return s.Enroll(ctx, u.ID, course) }},
				{learnworlds.EventProductBought, func() error {
					_, err := s.Purchase(ctx, u.ID, learnworldstest.Payment{ProductID: "go-101", Price: 49})
					return err
				}},
				{learnworlds.EventCourseCompleted, func() error { return s.CompleteCourse(ctx, u.ID, course) }},
				{learnworlds.EventUserTagAdded, func() error { return s.AddTags(ctx, u.ID, "vip", "alumni") }},
				{learnworlds.EventUserTagDeleted, func() error { return s.RemoveTags(ctx, u.ID, "vip") }},
				{learnworlds.EventAwardedCertificate, func() error { return s.AwardCertificate(ctx, u.ID, course) }},
			}
			for _, st := range steps {
				if err := st.do(); err != nil {
					t.Fatalf("%s: %v", st.want, err)
				}
				ev := <-events
				if ev.Type != st.want || ev.User == nil || ev.User.ID != u.ID || ev.User.Email != "ann@example.com" {
					t.Fatalf("got %s for %+v, want %s for the learner", ev.Type, ev.User, st.want)
				}
				if s := ev.User.UTMs["fc_utm_source"]; s == nil || *s != "Facebook" {
					t.Fatalf("%s: UTMs not normalised: %v", ev.Type, ev.User.UTMs)
				}
				switch ev.Type {
				case learnworlds.EventProductBought:
					if ev.Payment == nil || ev.Payment.Price != 49 {
						t.Fatalf("payment = %+v", ev.Payment)
					}
				case learnworlds.EventUserTagDeleted:
					if strings.Join(ev.User.Tags, ",") != "alumni" {
						t.Fatalf("tags after delete = %v", ev.User.Tags)
					}
				case learnworlds.EventAwardedCertificate:
					if ev.Certificate == nil || ev.Certificate.CourseID != "go-101" {
						t.Fatalf("certificate = %+v", ev.Certificate)
					}
				}
			}
			if got := s.Deliveries(); len(got) != len(steps) {
				t.Fatalf("%d deliveries, want %d", len(got), len(steps))
			}
		})
	}
}

func TestWebhookHandlerAnswers(t *testing.T) {
	t.Parallel()
	v := learnworlds.Verifier{Secret: "whsec"}
	failing := errors.New("store down")
	h := learnworlds.WebhookHandler(v, nil, func(_ context.Context, ev learnworlds.Event) error {
		if ev.User.Email == "fail@example.com" {
			return failing
		}
		return nil
	})
	ok := `{"version":2,"type":"userUpdated","data":{"user":{"email":"a@example.com"}}}`
	tests := []struct {
		name, method, sig, body string
		want                    int
	}{
		{"ok", "POST", "v1=whsec", ok, 200},
		{"get", "GET", "v1=whsec", ok, 405},
		{"bad signature", "POST", "v1=nope", ok, 401},
		{"garbage", "POST", "v1=whsec", `{`, 400},
		{"legacy version", "POST", "v1=whsec", `{"type":"userUpdated","data":{}}`, 200},
		{"handler fails", "POST", "v1=whsec", `{"version":2,"type":"userUpdated","data":{"user":{"email":"fail@example.com"}}}`, 500},
		{"too large", "POST", "v1=whsec", `{"x":"` + strings.Repeat("a", learnworlds.MaxWebhookBody) + `"}`, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, "/lw", strings.NewReader(tt.body))
			req.Header.Set(learnworlds.SignatureHeader, tt.sig)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status = %d (%s), want %d", rec.Code, rec.Body, tt.want)
			}
			if strings.Contains(rec.Body.String(), "fail@example.com") {
				t.Fatalf("answer leaks an email: %s", rec.Body)
			}
		})
	}
	_ = http.MethodPost
}
