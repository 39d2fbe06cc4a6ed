package hubspot_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/internal/apispec"
)

// journalHTTPClient checks journal traffic against the OpenAPI documents (when they are
// available), waiving only the presigned file download, which is outside the API.
func journalHTTPClient(t *testing.T) *http.Client {
	t.Helper()
	specs := apispec.FromEnv(t, specsEnv)
	if specs == nil {
		return &http.Client{Timeout: 10 * time.Second}
	}
	specs.Allow(http.MethodGet, "/hubspottest/journal-files/*", "a journal entry's presigned file url: outside the API, format undocumented")
	return &http.Client{Timeout: 10 * time.Second, Transport: &patchingTransport{t: t, specs: specs, base: http.DefaultTransport}}
}

func TestJournalSubscribeReadForwardAndExpiredOffset(t *testing.T) {
	t.Parallel()
	srv := hubspottest.NewServer()
	t.Cleanup(srv.Close)
	j, err := hubspot.NewJournal(srv.ClientID(), srv.ClientSecret(), hubspot.WithBaseURL(srv.URL), hubspot.WithHTTPClient(journalHTTPClient(t)), hubspot.WithClock(srv.Clock()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if _, err := j.SubscribeContacts(ctx, srv.PortalID(), []string{"email", "company"}); err != nil {
		t.Fatal(err)
	}
	subs, err := j.Subscriptions(ctx)
	if err != nil || len(subs) != 1 || subs[0].PortalID != srv.PortalID() {
		t.Fatalf("Subscriptions = %+v, %v", subs, err)
	}
	if off, err := j.Latest(ctx, srv.PortalID()); err != nil || off != "" {
		t.Fatalf("Latest of an empty journal = %q, %v", off, err)
	}
	for i := range 250 {
		if _, err := srv.AdminUpsertContact(fmt.Sprintf("j%d@school.example", i), map[string]string{"company": "Acme"}, hubspottest.SourceCRMUI); err != nil {
			t.Fatal(err)
		}
	}
	var offsets []string
	events := 0
	for e, err := range j.ReadAfter(ctx, srv.PortalID(), "") {
		if err != nil {
			t.Fatal(err)
		}
		offsets = append(offsets, e.Offset)
		for _, ev := range e.Events {
			if ev.ObjectID == 0 || ev.OccurredAt.IsZero() || ev.Type == "" {
				t.Fatalf("event read badly: %+v", ev)
			}
			events++
		}
	}
	if events != 500 || len(offsets) != 5 { // a creation and a company change per contact, 100 an entry
		t.Fatalf("read %d events in %d entries, want 500 in 5", events, len(offsets))
	}
	// Read forward from the middle: only the newer entries.
	n := 0
	for _, err := range j.ReadAfter(ctx, srv.PortalID(), offsets[2]) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("read %d entries after the third, want 2", n)
	}
	for _, err := range j.ReadAfter(ctx, srv.PortalID(), "8c1b2c9e-0000-4000-8000-000000000000") {
		if !errors.Is(err, hubspot.ErrJournalOffset) {
			t.Errorf("unknown offset: err = %v, want ErrJournalOffset", err)
		}
	}
	if err := j.Unsubscribe(ctx, srv.PortalID()); err != nil {
		t.Fatal(err)
	}
}

func TestParseJournalFileShapes(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"array":   `[{"objectId":7,"occurredAt":1700000000000,"subscriptionType":"contact.propertyChange","propertyName":"company"}]`,
		"wrapped": `{"events":[{"objectId":"7","occurredAt":"2023-11-14T22:13:20Z","action":"UPDATE","propertyName":"company"}]}`,
		"ndjson":  "{\"objectId\":7,\"occurredAt\":1700000000000,\"action\":\"UPDATE\"}\n{\"noObject\":true}\n",
	} {
		evs, err := hubspot.ParseJournalFile([]byte(body))
		if err != nil || len(evs) != 1 || evs[0].ObjectID != 7 || !evs[0].OccurredAt.Equal(time.UnixMilli(1700000000000)) {
			t.Errorf("%s: %+v, %v", name, evs, err)
		}
	}
	if _, err := hubspot.ParseJournalFile([]byte("<xml/>")); err == nil {
		t.Error("a file that is not JSON parsed")
	}
}
