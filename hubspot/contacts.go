package hubspot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Contact is a HubSpot contact: its record id and the properties asked for. Every value travels as
// a string; a property that exists but is empty comes back as "".
type Contact struct {
	ID         string
	Properties map[string]string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Archived   bool
}

// Email returns the contact's primary email, case-folded.
func (c Contact) Email() string { return FoldEmail(c.Properties["email"]) }

// FoldEmail returns email trimmed and lower-cased: the form HubSpot matches emails in, and the form
// the client sends and keys results by.
func FoldEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// wireObject is SimplePublicObject / SimplePublicUpsertObject.
type wireObject struct {
	ID string `json:"id"`
	// Properties decodes a null value as "" (encoding/json stores a map element's zero value).
	Properties         map[string]string `json:"properties"`
	CreatedAt          time.Time         `json:"createdAt"`
	UpdatedAt          time.Time         `json:"updatedAt"`
	Archived           bool              `json:"archived"`
	New                *bool             `json:"new,omitempty"`
	ObjectWriteTraceID string            `json:"objectWriteTraceId,omitempty"`
}

func (w wireObject) contact() Contact {
	props := w.Properties
	if props == nil {
		props = map[string]string{}
	}
	return Contact{ID: w.ID, Properties: props, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, Archived: w.Archived}
}

// standardError is one entry of a 207 answer's errors list.
type standardError struct {
	Status   string              `json:"status"`
	Category string              `json:"category"`
	Message  string              `json:"message"`
	Context  map[string][]string `json:"context"`
	Errors   []ErrorDetail       `json:"errors"`
	ID       string              `json:"id,omitempty"`
}

func (s standardError) apiError(status int) *APIError {
	return &APIError{StatusCode: status, Category: s.Category, Message: s.Message, Context: s.Context, Errors: s.Errors}
}

// batchAnswer is BatchResponse...(WithErrors).
type batchAnswer struct {
	Status  string          `json:"status"`
	Results []wireObject    `json:"results"`
	Errors  []standardError `json:"errors"`
}

// upsertAnswer is batchAnswer for batch/upsert, whose results are read for their id,
// properties, new flag and trace id only: the timestamps are not decoded.
type upsertAnswer struct {
	Results []upsertObject  `json:"results"`
	Errors  []standardError `json:"errors"`
}

// decodeJSON decodes an answer of its own with the faster decoder of go-json-experiment (a
// third of the allocations of encoding/json on a batch of contacts), set to read what
// encoding/json reads: names matched case-insensitively, duplicate names and invalid UTF-8
// accepted, unknown members ignored, null as the zero value.
func (a *upsertAnswer) decodeJSON(b []byte) error {
	return jsonv2.Unmarshal(b, a, jsonv2.MatchCaseInsensitiveNames(true),
		jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

// upsertObject is the part of a SimplePublicUpsertObject an upsert result keeps.
type upsertObject struct {
	ID string `json:"id"`
	// Properties decodes a null value as "" (encoding/json stores a map element's zero value).
	Properties         map[string]string `json:"properties"`
	New                bool              `json:"new"`
	ObjectWriteTraceID string            `json:"objectWriteTraceId"`
}

// upsertBody is the batch/upsert request body.
type upsertBody struct {
	Inputs []upsertInputWire `json:"inputs"`
}

// encodeJSON encodes the body with go-json-experiment's encoder, set to write the bytes
// encoding/json writes (sorted keys, HTML and JS characters escaped, a nil map as null);
// invalid UTF-8 is replaced by U+FFFD as encoding/json does, written raw where encoding/json
// writes \ufffd. FuzzUpsertBodyEncode compares the two.
func (b upsertBody) encodeJSON() ([]byte, error) {
	return jsonv2.Marshal(b, jsonv2.Deterministic(true), jsonv2.FormatNilMapAsNull(true),
		jsontext.EscapeForHTML(true), jsontext.EscapeForJS(true), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
}

// UpsertInput is one contact to create or update, matched by email.
type UpsertInput struct {
	Email      string
	Properties map[string]string // internal property names to values; "" clears a value
}

// UpsertResult is the outcome for one input of [Client.BatchUpsertByEmail].
type UpsertResult struct {
	Email      string            // the case-folded email the input was sent as
	ID         string            // the contact's record id, when written
	Created    bool              // true when HubSpot created the contact, false when it updated one
	Properties map[string]string // the properties as HubSpot answered them (lifecyclestage may differ from what was sent)
	Err        error             // why this input was not written (*APIError or ErrInvalidInput), nil on success
}

// BatchUpsertByEmail creates or updates up to [BatchLimit] contacts matched by email, in as few
// requests as HubSpot allows. Emails are case-folded and de-duplicated first (the properties of
// repeated emails are merged, later inputs winning). It returns one result per input, in input
// order; inputs that share an email share a result.
//
// One bad input does not sink the others: HubSpot either answers 207 with per-input errors, or
// (upserting by email does not support partial success) fails the whole batch with 400/409; then
// the batch is split in halves until the bad input is alone, and the rest are written. The bad
// input's result carries the *APIError naming the reason.
//
// The returned error is for the call as a whole: ErrInvalidInput for more than BatchLimit inputs,
// *RateLimitError, ErrConnectionRevoked, *APIError for an answer that is no input's fault (401, 403,
// 5xx after retries), or the context's error. Results are then incomplete.
//
// Docs: https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/guide
// (POST /crm/objects/2026-03/contacts/batch/upsert or /crm/v3/objects/contacts/batch/upsert).
func (c *Client) BatchUpsertByEmail(ctx context.Context, inputs []UpsertInput) ([]UpsertResult, error) {
	if len(inputs) > BatchLimit {
		return nil, fmt.Errorf("%w: %d upsert inputs, at most %d per batch", ErrInvalidInput, len(inputs), BatchLimit)
	}
	type slot struct {
		res   *UpsertResult
		props map[string]string
		owned bool // props is the slot's own map, not an input's (read only here)
	}
	byEmail := make(map[string]*slot, len(inputs))
	order := make([]string, 0, len(inputs))
	out := make([]*UpsertResult, len(inputs))
	for i, in := range inputs {
		email := FoldEmail(in.Email)
		if err := checkEmail(email); err != nil {
			out[i] = &UpsertResult{Email: email, Err: fmt.Errorf("%w: input %d: %v", ErrInvalidInput, i, err)}
			continue
		}
		s, ok := byEmail[email]
		switch {
		case !ok: // the usual case: the input's own map is sent, not copied
			s = &slot{res: &UpsertResult{Email: email}, props: in.Properties}
			if s.props == nil {
				s.props, s.owned = map[string]string{}, true // sent as {}, not null
			}
			byEmail[email] = s
			order = append(order, email)
		default: // a second input of the email: merged into a map of the slot's own
			if !s.owned {
				s.props, s.owned = maps.Clone(s.props), true
			}
			maps.Copy(s.props, in.Properties)
		}
		out[i] = s.res
	}
	pending := make([]upsertItem, 0, len(order))
	for _, e := range order {
		pending = append(pending, upsertItem{email: e, props: byEmail[e].props, res: byEmail[e].res})
	}
	err := c.upsertChunk(ctx, pending)
	results := make([]UpsertResult, len(out))
	for i, r := range out {
		results[i] = *r
	}
	return results, err
}

// checkEmail rejects what cannot be an email before it costs a request.
func checkEmail(email string) error {
	at := strings.LastIndexByte(email, '@')
	switch {
	case email == "":
		return errors.New("empty email")
	case at <= 0 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n,;<>"):
		return fmt.Errorf("malformed email %q", MaskEmail(email))
	}
	return nil
}

type upsertItem struct {
	email string
	props map[string]string
	res   *UpsertResult
}

type upsertInputWire struct {
	ID                 string            `json:"id"`
	IDProperty         string            `json:"idProperty"`
	Properties         map[string]string `json:"properties"`
	ObjectWriteTraceID string            `json:"objectWriteTraceId"`
}

// upsertChunk sends items and, when HubSpot refuses the whole batch because of its content, splits
// it to isolate the inputs at fault.
func (c *Client) upsertChunk(ctx context.Context, items []upsertItem) error {
	if len(items) == 0 {
		return nil
	}
	wire := make([]upsertInputWire, len(items))
	for i, it := range items {
		wire[i] = upsertInputWire{ID: it.email, IDProperty: "email", Properties: it.props, ObjectWriteTraceID: strconv.Itoa(i)}
	}
	var ans upsertAnswer
	_, err := c.doer().do(ctx, request{method: http.MethodPost, path: c.contactsPath() + "/batch/upsert", body: upsertBody{Inputs: wire}}, &ans)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && inputFault(ae.StatusCode) {
			if len(items) == 1 {
				items[0].res.Err = ae
				return nil
			}
			mid := len(items) / 2
			if err := c.upsertChunk(ctx, items[:mid]); err != nil {
				return err
			}
			return c.upsertChunk(ctx, items[mid:])
		}
		return err
	}
	done := make([]bool, len(items))
	byEmail := map[string]int{}
	for i, it := range items {
		byEmail[it.email] = i
	}
	for pos, r := range ans.Results {
		i := matchResult(r.ObjectWriteTraceID, r.Properties, byEmail, len(items))
		if i < 0 && len(ans.Results) == len(items) && len(ans.Errors) == 0 {
			i = pos // no trace id, no email: fall back to order, which HubSpot keeps in practice
		}
		if i < 0 || done[i] {
			continue
		}
		done[i] = true
		props := r.Properties
		if props == nil {
			props = map[string]string{}
		}
		items[i].res.ID, items[i].res.Properties = r.ID, props
		items[i].res.Created = r.New
	}
	var unclaimed []upsertItem
	var lastErr *APIError
	for _, se := range ans.Errors {
		lastErr = se.apiError(http.StatusBadRequest) // a 207 entry stands for the input's own refusal
		i := matchError(se, byEmail)
		if i < 0 || done[i] {
			continue
		}
		done[i] = true
		items[i].res.Err = se.apiError(http.StatusBadRequest)
	}
	for i, it := range items {
		if !done[i] {
			unclaimed = append(unclaimed, it)
		}
	}
	switch {
	case len(unclaimed) == 0:
		return nil
	case lastErr == nil:
		for _, it := range unclaimed {
			it.res.Err = errors.New("hubspot: batch upsert answered without a result for this input")
		}
		return nil
	case len(unclaimed) == 1:
		unclaimed[0].res.Err = lastErr
		return nil
	case len(unclaimed) == len(items):
		// Errors that name no input: split so each error lands on its input.
		mid := len(items) / 2
		if err := c.upsertChunk(ctx, items[:mid]); err != nil {
			return err
		}
		return c.upsertChunk(ctx, items[mid:])
	default:
		return c.upsertChunk(ctx, unclaimed)
	}
}

// inputFault reports whether a whole-batch refusal can be caused by one input's content.
func inputFault(status int) bool {
	return status == http.StatusBadRequest || status == http.StatusConflict || status == http.StatusUnprocessableEntity
}

func matchResult(trace string, props map[string]string, byEmail map[string]int, n int) int {
	if i, err := strconv.Atoi(trace); err == nil && i >= 0 && i < n {
		return i
	}
	if e, ok := props["email"]; ok {
		if i, ok := byEmail[FoldEmail(e)]; ok {
			return i
		}
	}
	return -1
}

func matchError(se standardError, byEmail map[string]int) int {
	for _, key := range []string{"objectWriteTraceId", "ids", "id", "email"} {
		for _, v := range se.Context[key] {
			if key == "objectWriteTraceId" {
				if i, err := strconv.Atoi(v); err == nil && i >= 0 && i < len(byEmail) {
					return i
				}
				continue
			}
			if i, ok := byEmail[FoldEmail(v)]; ok {
				return i
			}
		}
	}
	return -1
}

// withProps returns props with extra appended when missing.
func withProps(props []string, extra ...string) []string {
	out := append([]string(nil), props...)
	for _, e := range extra {
		found := false
		for _, p := range out {
			found = found || p == e
		}
		if !found {
			out = append(out, e)
		}
	}
	return out
}

// GetContact returns one contact by record id. It returns an error matching ErrNotFound when there
// is none, and the errors of any call.
//
// Docs: https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/guide
// (GET /crm/objects/2026-03/contacts/{contactId}).
func (c *Client) GetContact(ctx context.Context, id string, properties []string) (*Contact, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: empty contact id", ErrInvalidInput)
	}
	return c.getContact(ctx, id, "", properties)
}

// GetContactByEmail returns one contact by email (idProperty=email). It returns an error matching
// ErrNotFound when there is none, and the errors of any call.
//
// Docs: https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/guide
// (GET /crm/objects/2026-03/contacts/{email}?idProperty=email).
func (c *Client) GetContactByEmail(ctx context.Context, email string, properties []string) (*Contact, error) {
	f := FoldEmail(email)
	if err := checkEmail(f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return c.getContact(ctx, f, "email", properties)
}

func (c *Client) getContact(ctx context.Context, id, idProperty string, properties []string) (*Contact, error) {
	q := url.Values{}
	if len(properties) > 0 {
		q.Set("properties", strings.Join(properties, ","))
	}
	if idProperty != "" {
		q.Set("idProperty", idProperty)
	}
	var w wireObject
	if _, err := c.doer().do(ctx, request{method: http.MethodGet, path: c.contactsPath() + "/" + url.PathEscape(id), query: q}, &w); err != nil {
		return nil, err
	}
	ct := w.contact()
	return &ct, nil
}
