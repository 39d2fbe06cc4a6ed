package hubspot

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Webhooks Journal (2026-03): a pull model of HubSpot's change events for an app, read with
// a client-credentials token. What HubSpot documents and what it leaves out is in
// docs/catchup.md; in short, the API's answers are specified (an entry's offset, a presigned
// url to the entry's file and the url's expiry) but the file's contents are not, so ParseJournalFile
// reads it defensively, and the comments marked "undocumented" say where the code guesses.
//
// Docs: https://developers.hubspot.com/docs/api-reference/latest/webhooks-journal/guide and
// .../webhooks-journal/journal-entries/guide (2026-03).

// ErrJournalOffset means the journal no longer has (or never had) the offset read from: HubSpot
// keeps entries for 3 days, and the 2027-03-beta reference says reading next from an expired
// offset fails with 404. The caller starts again from another source.
var ErrJournalOffset = errors.New("hubspot: journal offset expired or unknown")

// JournalScopes are the scopes a Journal asks for in its client-credentials token, as the
// journal guide names them. The 2026-03 OpenAPI document names others
// (webhooks-journal-data-access, -subscription-management, -subscription-read); the guide is
// followed, being the one that describes the client-credentials flow.
var JournalScopes = []string{
	"developer.webhooks_journal.read",
	"developer.webhooks_journal.subscriptions.read",
	"developer.webhooks_journal.subscriptions.write",
	"crm.objects.contacts.read",
}

// JournalBatchMax is the most entries one batch read asks for. The 2026-03 documents give no
// maximum (count has only a minimum of 1); the 2027-03-beta batch read says up to 100, which is
// taken as the bound.
const JournalBatchMax = 100

// Journal reads an app's Webhooks Journal and manages its subscriptions. Create it with
// NewJournal; it is safe for concurrent use.
type Journal struct {
	clientID, clientSecret string
	cfg                    config
	d                      *doer

	mu     sync.Mutex
	token  string
	expiry time.Time
}

// NewJournal returns a Journal for the app with these credentials. It uses the HTTP client, base
// URL, version, logger, clock and retry options; journal calls are exempt from the portal's
// daily and ten-secondly limits (x-hubspot-rate-limit-exemptions), so no rate limit applies
// beyond what HubSpot answers with 429 (retried as any call). Errors wrap ErrInvalidInput.
func NewJournal(clientID, clientSecret string, opts ...Option) (*Journal, error) {
	if clientID == "" || clientSecret == "" {
		return nil, fmt.Errorf("%w: journal needs the app's client id and secret", ErrInvalidInput)
	}
	cfg, base, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	j := &Journal{clientID: clientID, clientSecret: clientSecret, cfg: cfg}
	j.d = &doer{cfg: &j.cfg, base: base, token: j.accessToken}
	return j, nil
}

// accessToken returns a client-credentials token, getting a new one a minute before the last
// expires (grant_type=client_credentials on the versioned token endpoint).
func (j *Journal) accessToken(ctx context.Context) (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.cfg.clk.Now()
	if j.token != "" && now.Add(time.Minute).Before(j.expiry) {
		return j.token, nil
	}
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {j.clientID}, "client_secret": {j.clientSecret},
		"scope": {strings.Join(JournalScopes, " ")},
	}
	var tr tokenResponse
	if _, err := j.d.do(ctx, request{method: http.MethodPost, path: oauthPath(j.cfg.version, ""), form: form, noAuth: true}, &tr); err != nil {
		return "", fmt.Errorf("hubspot: journal token: %w", err)
	}
	if tr.AccessToken == "" || tr.ExpiresIn <= 0 {
		return "", errors.New("hubspot: journal token: the token endpoint answered without a usable token")
	}
	j.token, j.expiry = tr.AccessToken, now.Add(time.Duration(tr.ExpiresIn)*time.Second)
	return j.token, nil
}

// JournalSubscription is one of the app's journal subscriptions.
type JournalSubscription struct {
	ID               int64    `json:"id"`
	PortalID         int64    `json:"portalId"`
	SubscriptionType string   `json:"subscriptionType"`
	ObjectTypeID     string   `json:"objectTypeId"`
	Actions          []string `json:"actions"`
	Properties       []string `json:"properties"`
}

const journalBase = "/webhooks-journal"

// SubscribeContacts creates (or updates: the endpoint is an upsert) the OBJECT subscription of
// portal's contacts (object type 0-1) to creations, updates, merges and restores of properties.
// objectIds is required by the document and sent empty; that an empty list means every contact
// is undocumented (the fake reads it so).
//
// Docs: POST /webhooks-journal/subscriptions/2026-03.
func (j *Journal) SubscribeContacts(ctx context.Context, portal int64, properties []string) (JournalSubscription, error) {
	body := map[string]any{
		"subscriptionType": "OBJECT", "portalId": portal, "objectTypeId": "0-1",
		"actions": []string{"CREATE", "UPDATE", "MERGE", "RESTORE"}, "objectIds": []int64{}, "properties": properties,
	}
	var out JournalSubscription
	_, err := j.d.do(ctx, request{method: http.MethodPost, path: journalBase + "/subscriptions/2026-03", body: body}, &out)
	return out, err
}

// Subscriptions lists the app's journal subscriptions.
//
// Docs: GET /webhooks-journal/subscriptions/2026-03.
func (j *Journal) Subscriptions(ctx context.Context) ([]JournalSubscription, error) {
	var out struct {
		Results []JournalSubscription `json:"results"`
	}
	_, err := j.d.do(ctx, request{method: http.MethodGet, path: journalBase + "/subscriptions/2026-03"}, &out)
	return out.Results, err
}

// Unsubscribe deletes the app's subscriptions for portal.
//
// Docs: DELETE /webhooks-journal/subscriptions/2026-03/portals/{portalId}.
func (j *Journal) Unsubscribe(ctx context.Context, portal int64) error {
	_, err := j.d.do(ctx, request{method: http.MethodDelete, path: journalBase + "/subscriptions/2026-03/portals/" + strconv.FormatInt(portal, 10)}, nil)
	return err
}

// JournalEntry is one journal entry: its offset and the events of its file.
type JournalEntry struct {
	Offset string
	Events []JournalEvent
}

// JournalEvent is one change event of a journal file, as far as ParseJournalFile can read it.
type JournalEvent struct {
	EventID      int64
	PortalID     int64
	ObjectTypeID string
	ObjectID     int64
	OccurredAt   time.Time
	// Type is the event's subscriptionType or action ("contact.propertyChange",
	// "object.propertyChange", "UPDATE", ...), as the file says.
	Type         string
	PropertyName string
	SourceID     string
}

// Latest returns the offset of portal's newest journal entry, "" when the journal is empty.
//
// Docs: GET /webhooks-journal/journal-local/2026-03/batch/latest/{count}.
func (j *Journal) Latest(ctx context.Context, portal int64) (string, error) {
	refs, err := j.batch(ctx, portal, "latest/1")
	if err != nil || len(refs) == 0 {
		return "", err
	}
	return refs[len(refs)-1].CurrentOffset, nil
}

type journalRef struct {
	CurrentOffset string    `json:"currentOffset"`
	ExpiresAt     time.Time `json:"expiresAt"`
	URL           string    `json:"url"`
}

// batch calls one local batch endpoint (what: "earliest/N", "latest/N" or "{offset}/next/N").
func (j *Journal) batch(ctx context.Context, portal int64, what string) ([]journalRef, error) {
	var out struct {
		Status  string       `json:"status"`
		Results []journalRef `json:"results"`
	}
	// installPortalId is typed int32 in the document, though portal ids are int64 elsewhere;
	// it is sent as the decimal id whatever its size.
	q := url.Values{"installPortalId": {strconv.FormatInt(portal, 10)}}
	_, err := j.d.do(ctx, request{method: http.MethodGet, path: journalBase + "/journal-local/2026-03/batch/" + what, query: q}, &out)
	if errors.Is(err, ErrNotFound) && strings.Contains(what, "/next/") {
		return nil, fmt.Errorf("%w: %w", ErrJournalOffset, err)
	}
	return out.Results, err
}

// ReadAfter yields portal's journal entries after offset ("": from the earliest), oldest
// first, fetching batches of up to JournalBatchMax entries and each entry's file, until the
// journal has nothing newer. An offset the journal no longer has yields ErrJournalOffset. The
// first error ends the iteration, yielded with a zero entry.
func (j *Journal) ReadAfter(ctx context.Context, portal int64, offset string) iter.Seq2[JournalEntry, error] {
	return func(yield func(JournalEntry, error) bool) {
		for {
			what := "earliest/" + strconv.Itoa(JournalBatchMax)
			if offset != "" {
				what = url.PathEscape(offset) + "/next/" + strconv.Itoa(JournalBatchMax)
			}
			refs, err := j.batch(ctx, portal, what)
			if err != nil {
				yield(JournalEntry{}, err)
				return
			}
			if len(refs) == 0 {
				return
			}
			for _, ref := range refs {
				if ref.CurrentOffset == offset {
					continue // undocumented whether "next" can repeat the offset itself; skip it if so
				}
				events, err := j.file(ctx, ref)
				if err != nil {
					yield(JournalEntry{}, err)
					return
				}
				if !yield(JournalEntry{Offset: ref.CurrentOffset, Events: events}, nil) {
					return
				}
				offset = ref.CurrentOffset
			}
		}
	}
}

// file fetches and parses an entry's file. The url is presigned (the guide's example is an S3
// address), so it is fetched without the token, and an expired one is an error: the entry is
// read again from the API on the next try.
func (j *Journal) file(ctx context.Context, ref journalRef) ([]JournalEvent, error) {
	if !ref.ExpiresAt.IsZero() && !j.cfg.clk.Now().Before(ref.ExpiresAt) {
		return nil, fmt.Errorf("hubspot: journal file of offset %s expired at %v before it was read", ref.CurrentOffset, ref.ExpiresAt)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("hubspot: journal file url of offset %s: %w", ref.CurrentOffset, err)
	}
	countRequest(ctx)
	resp, err := j.cfg.httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("hubspot: journal file of offset %s: %w", ref.CurrentOffset, stripURL(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("hubspot: journal file of offset %s: %w", ref.CurrentOffset, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("hubspot: journal file of offset %s: HTTP %d", ref.CurrentOffset, resp.StatusCode)
	}
	return ParseJournalFile(body)
}

// ParseJournalFile reads a journal file. Its format is undocumented, so it accepts a JSON array
// of events, an object holding one under "events", "results" or "data", or one JSON event per
// line; an event's fields are read by the names webhook events use (objectId, occurredAt as
// epoch milliseconds or ISO 8601, subscriptionType, propertyName, sourceId, eventId, portalId),
// with "action" and "objectTypeId" too. An event without an object id is dropped; an error is
// returned only when the file is not JSON at all.
func ParseJournalFile(body []byte) ([]JournalEvent, error) {
	body = bytes.TrimSpace(body)
	var raws []json.RawMessage
	switch {
	case len(body) == 0:
		return nil, nil
	case body[0] == '[':
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, fmt.Errorf("hubspot: journal file: %w", err)
		}
	case body[0] == '{':
		var wrap map[string]json.RawMessage
		if err := json.Unmarshal(body, &wrap); err == nil {
			for _, k := range []string{"events", "results", "data"} {
				if v, ok := wrap[k]; ok && json.Unmarshal(v, &raws) == nil {
					break
				}
			}
		}
		if raws == nil { // one event per line
			sc := bufio.NewScanner(bytes.NewReader(body))
			sc.Buffer(make([]byte, 1<<20), maxBody)
			for sc.Scan() {
				if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
					raws = append(raws, append(json.RawMessage(nil), line...))
				}
			}
		}
	default:
		return nil, errors.New("hubspot: journal file is not JSON")
	}
	out := make([]JournalEvent, 0, len(raws))
	for _, raw := range raws {
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		ev := JournalEvent{
			EventID: anyInt(m["eventId"]), PortalID: anyInt(m["portalId"]), ObjectID: anyInt(m["objectId"]),
			ObjectTypeID: anyString(m["objectTypeId"]), PropertyName: anyString(m["propertyName"]),
			SourceID: anyString(m["sourceId"]), Type: anyString(m["subscriptionType"]),
		}
		if ev.Type == "" {
			ev.Type = anyString(m["action"])
		}
		switch v := m["occurredAt"].(type) {
		case float64:
			ev.OccurredAt = time.UnixMilli(int64(v)).UTC()
		case string:
			ev.OccurredAt, _ = parseHubSpotTime(v)
		}
		if ev.ObjectID != 0 {
			out = append(out, ev)
		}
	}
	return out, nil
}

func anyInt(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

func anyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatInt(int64(x), 10)
	}
	return ""
}
