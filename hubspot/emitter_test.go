package hubspot_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
)

// receiver is a webhook endpoint that verifies and parses HubSpot deliveries.
type receiver struct {
	t      *testing.T
	secret string
	failN  atomic.Int32 // answer 500 to this many more deliveries
	mu     sync.Mutex
	events []hubspot.WebhookEvent
	srv    *httptest.Server
}

func newReceiver(t *testing.T, secret string) *receiver {
	rc := &receiver{t: t, secret: secret}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		public := "http://" + r.Host + r.URL.RequestURI()
		if err := hubspot.VerifyRequest(r, public, body, rc.secret, time.Now()); err != nil {
			t.Errorf("delivery failed verification: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if hubspot.VerifyV1(rc.secret, body, r.Header.Get(hubspot.HeaderSignature)) != nil {
			t.Errorf("v1 signature of the delivery does not verify")
		}
		if rc.failN.Add(-1) >= 0 {
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		evs, err := hubspot.ParseWebhookEvents(body)
		if err != nil {
			t.Errorf("parse: %v", err)
		}
		rc.mu.Lock()
		rc.events = append(rc.events, evs...)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) take() []hubspot.WebhookEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := rc.events
	rc.events = nil
	return out
}

// flush delivers everything queued, retrying failed deliveries a few times.
func flush(t *testing.T, srv *hubspottest.Server) {
	t.Helper()
	for range 5 {
		if srv.FlushWebhooks(ctxT(t)) == nil && srv.WebhookStats().Pending == 0 {
			return
		}
	}
	t.Fatalf("webhooks still pending: %+v", srv.WebhookStats())
}

func TestWebhookEmitter(t *testing.T) {
	t.Parallel()
	f := newFixture(t, hubspot.DefaultVersion, nil)
	rc := newReceiver(t, f.srv.ClientSecret())
	f.srv.SetWebhookTarget(rc.srv.URL + "/hubspot/webhooks?school=a%3Ab")

	// A HubSpot user creates a contact in the CRM.
	id, err := f.srv.AdminUpsertContact("Ui@Example.com", map[string]string{"firstname": "Uma"}, hubspottest.SourceCRMUI)
	if err != nil {
		t.Fatal(err)
	}
	flush(t, f.srv)
	evs := rc.take()
	if len(evs) != 2 {
		t.Fatalf("got %d events, want creation and firstname change: %+v", len(evs), evs)
	}
	for _, e := range evs {
		if strconv.FormatInt(e.ObjectID, 10) != id || e.ChangeSource != "CRM_UI" || e.PortalID != f.srv.PortalID() || e.AppID != f.srv.AppID() {
			t.Fatalf("event %+v", e)
		}
	}
	if evs[0].SubscriptionType != "contact.creation" || evs[1].SubscriptionType != "contact.propertyChange" ||
		evs[1].PropertyName != "firstname" || evs[1].PropertyValue != "Uma" {
		t.Fatalf("events %+v", evs)
	}

	// Our app changes it through the API: the event carries our app as its source.
	if _, err := f.client.BatchUpsertByEmail(ctxT(t), []hubspot.UpsertInput{{Email: "ui@example.com", Properties: map[string]string{"lastname": "Ng"}}}); err != nil {
		t.Fatal(err)
	}
	// A workflow moves the lifecycle stage; a failing endpoint gets the delivery again.
	rc.failN.Store(1)
	if _, err := f.srv.AdminUpsertContact("ui@example.com", map[string]string{"lifecyclestage": "customer"}, hubspottest.SourceWorkflow); err != nil {
		t.Fatal(err)
	}
	flush(t, f.srv)
	evs = rc.take()
	var api, wf *hubspot.WebhookEvent
	for i := range evs {
		switch evs[i].PropertyName {
		case "lastname":
			api = &evs[i]
		case "lifecyclestage":
			wf = &evs[i]
		}
	}
	if api == nil || api.ChangeSource != "INTEGRATION" || api.SourceID != strconv.FormatInt(f.srv.AppID(), 10) {
		t.Fatalf("API change event %+v, want our app as source", api)
	}
	if wf == nil || wf.ChangeSource != "AUTOMATION_PLATFORM" || wf.PropertyValue != "customer" {
		t.Fatalf("workflow event %+v, want an AUTOMATION_PLATFORM change", wf)
	}
	// The batch the endpoint refused (whichever it was: the background emitter races the flush)
	// came again with its attemptNumber raised.
	retried := false
	for _, e := range evs {
		retried = retried || e.AttemptNumber >= 1
	}
	if !retried {
		t.Fatalf("no redelivered event among %+v", evs)
	}
	if st := f.srv.WebhookStats(); st.Failures < 1 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Deleting sends contact.deletion.
	if err := f.srv.AdminDeleteContact(id, hubspottest.SourceCRMUI); err != nil {
		t.Fatal(err)
	}
	flush(t, f.srv)
	if evs := rc.take(); len(evs) != 1 || evs[0].SubscriptionType != "contact.deletion" {
		t.Fatalf("deletion events %+v", evs)
	}
	if _, ok := f.srv.Contact("ui@example.com"); ok {
		t.Fatal("deleted contact still found")
	}
}
