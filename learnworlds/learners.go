package learnworlds

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hubsync/hubsync"
)

// School configures one school of the Learners adapter.
type School struct {
	// Client talks to the school's API. Required.
	Client *Client
	// Catalog declares the school's custom cf_ fields (no API lists them) and whether billing
	// details are enabled; see hubsync.LearnWorldsCatalog.
	Catalog hubsync.CatalogOptions
	// LastPurchaseDate fills the "last_purchase_date" usage value from the learner's newest payment.
	// It costs one extra API call per learner read (GetByEmail, Update, and every learner of a
	// ListPage: a page of 200 becomes 201 calls, about 67 s of the default 30 requests / 10 s; and
	// every webhook of EngineWebhooks but a purchase's, which carries the payment), so it is off by
	// default; without it the value is absent from Learner.Values and the catalog reports the
	// field as not readable, so a mapping row sending it to HubSpot is invalid
	// (hubsync.ProblemLMSFieldUnreadable) instead of valid and always empty.
	LastPurchaseDate bool
}

type school struct {
	School
	fields []hubsync.LearnerField
	idx    hubsync.FieldIndex
	// put is what the school's PUT /v2/users/{id} does to "fields" (putUnknown at first; see
	// Update), as the first writes found out; kept across a SetSchool to the same address.
	put *putSemantics
}

// Learners implements hubsync.Learners over the public LearnWorlds API, for one or many schools.
// It is safe for concurrent use, SetSchool and RemoveSchool included.
//
// Its errors speak the engine's control language (see hubsync.ErrUnavailable): a 429 or a 5xx
// matches hubsync.ErrUnavailable, and a 429 or 503 carrying a Retry-After comes as
// hubsync.RetryAfter with that delay, so the engine pauses the school instead of counting failed
// attempts; so does a request that got no answer (connection refused, timeout, DNS failure). The
// *APIError and the transport error stay reachable with errors.As. A refusal the API will never
// accept is returned as it is: 404 matches hubsync.ErrNotFound, 422 (or a 400 naming fields)
// ErrValidation, and an email or username taken hubsync.ErrConflict.
type Learners struct {
	mu      sync.RWMutex
	schools map[hubsync.SchoolID]school
}

var _ hubsync.Learners = (*Learners)(nil)

// NewLearners returns the adapter for these schools. Errors wrap ErrConfig and name the school: a
// nil Client, or a catalog hubsync.LearnWorldsCatalog refuses (that error is wrapped too).
// An empty map is fine: schools can be added later with SetSchool.
func NewLearners(schools map[hubsync.SchoolID]School) (*Learners, error) {
	l := &Learners{schools: make(map[hubsync.SchoolID]school, len(schools))}
	for id, s := range schools {
		sc, err := newSchool(id, s)
		if err != nil {
			return nil, err
		}
		l.schools[id] = sc
	}
	return l, nil
}

// newSchool checks s and computes its catalog; errors wrap ErrConfig and name the school.
func newSchool(id hubsync.SchoolID, s School) (school, error) {
	if id == "" {
		return school{}, fmt.Errorf("%w: empty school id", ErrConfig)
	}
	if s.Client == nil {
		return school{}, fmt.Errorf("%w: school %q has no Client", ErrConfig, id)
	}
	fields, err := catalog(s)
	if err != nil {
		return school{}, fmt.Errorf("%w: school %q: %w", ErrConfig, id, err)
	}
	return school{School: s, fields: fields, idx: hubsync.IndexFields(fields), put: new(putSemantics)}, nil
}

// SetSchool adds the school, or replaces its configuration, while the adapter is in use: calls
// that start after it returns use s, calls already running finish with the configuration they
// started with. When the school's new Client is for the same API address as its old one, what
// the adapter found out about the school's PUT semantics (see Update) is kept; for another
// address it is found out again. Errors wrap ErrConfig and name the school (an empty id, a nil
// Client, a catalog hubsync.LearnWorldsCatalog refuses); the adapter is then unchanged.
func (l *Learners) SetSchool(id hubsync.SchoolID, s School) error {
	sc, err := newSchool(id, s)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.schools[id]; ok && old.Client.base.String() == s.Client.base.String() {
		sc.put = old.put
	}
	l.schools[id] = sc
	return nil
}

// RemoveSchool drops the school: calls that start after it returns fail with ErrUnknownSchool
// (calls already running finish). Removing a school the adapter does not have does nothing.
func (l *Learners) RemoveSchool(id hubsync.SchoolID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.schools, id)
}

// Schools returns the ids of the schools the adapter has now, sorted.
func (l *Learners) Schools() []hubsync.SchoolID {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Sorted(maps.Keys(l.schools))
}

// lastPurchaseOff is the label of last_purchase_date when the adapter does not read it.
const lastPurchaseOff = "Last purchase date (not read: the LearnWorlds adapter's LastPurchaseDate is off)"

// catalog is hubsync.LearnWorldsCatalog with each field readable only when the adapter delivers
// its value: last_purchase_date only with LastPurchaseDate.
func catalog(s School) ([]hubsync.LearnerField, error) {
	fields, err := hubsync.LearnWorldsCatalog(s.Catalog)
	if err != nil {
		return nil, err
	}
	for i, f := range fields {
		if f.Key == "last_purchase_date" && !s.LastPurchaseDate {
			fields[i].Readable, fields[i].Label = false, lastPurchaseOff
		}
	}
	return fields, nil
}

func (l *Learners) school(id hubsync.SchoolID) (school, error) {
	l.mu.RLock()
	s, ok := l.schools[id]
	l.mu.RUnlock()
	if !ok {
		// Not hubsync.ErrNotFound: that would tell the engine the learner is gone and write the
		// change off. A school this adapter does not hold yet (its LMS side not connected, or
		// served by another process) is work for later, as an LMS outage is: no attempt spent.
		return school{}, hubsync.RetryAfter(fmt.Errorf("learnworlds: school %q is not configured: %w", id, ErrUnknownSchool), UnknownSchoolRetry)
	}
	return s, nil
}

// Catalog returns the school's LearnWorlds field catalog: hubsync.LearnWorldsCatalog with the
// school's custom fields and billing flag, every field readable only when the adapter delivers
// its value (last_purchase_date only with School.LastPurchaseDate; without it the field is not
// readable and its label says why). Errors: ErrUnknownSchool.
func (l *Learners) Catalog(_ context.Context, id hubsync.SchoolID) ([]hubsync.LearnerField, error) {
	s, err := l.school(id)
	if err != nil {
		return nil, err
	}
	return slices.Clone(s.fields), nil
}

// GetByEmail finds a learner by email (GET /v2/users/{email}). Errors: hubsync.ErrNotFound, an
// error for an empty email, ErrUnknownSchool, *APIError.
func (l *Learners) GetByEmail(ctx context.Context, id hubsync.SchoolID, email string) (_ hubsync.Learner, err error) {
	defer func() { err = engineError(err) }()
	s, err := l.school(id)
	if err != nil {
		return hubsync.Learner{}, err
	}
	email = strings.TrimSpace(email)
	if email == "" {
		return hubsync.Learner{}, fmt.Errorf("learnworlds: GetByEmail: email is empty")
	}
	u, err := s.Client.GetUser(ctx, email)
	if err != nil {
		return hubsync.Learner{}, err
	}
	if !strings.EqualFold(u.Email, email) {
		return hubsync.Learner{}, fmt.Errorf("learnworlds: no learner has email %s: %w", MaskEmail(email), hubsync.ErrNotFound)
	}
	return s.learner(ctx, u)
}

// ListPage returns the page of learners at cursor: the page number ("" is page 1), 200 learners a
// page, newest first; Next is "" on the last page (meta.totalPages) and Total is meta.totalItems.
// Errors: a cursor that is not a page number (naming it), ErrUnknownSchool, *APIError.
func (l *Learners) ListPage(ctx context.Context, id hubsync.SchoolID, cursor string) (_ hubsync.LearnerPage, err error) {
	defer func() { err = engineError(err) }()
	s, err := l.school(id)
	if err != nil {
		return hubsync.LearnerPage{}, err
	}
	page := 1
	if cursor != "" {
		page, err = strconv.Atoi(cursor)
		if err != nil || page < 1 {
			return hubsync.LearnerPage{}, fmt.Errorf("learnworlds: cursor %q is not a page number", truncate(cursor, 40))
		}
	}
	p, err := s.Client.ListUsersPage(ctx, page, ListUsersOptions{PerPage: MaxUsersPerPage})
	if err != nil {
		return hubsync.LearnerPage{}, err
	}
	out := hubsync.LearnerPage{Learners: make([]hubsync.Learner, 0, len(p.Users)), Total: p.Meta.TotalItems}
	// meta.totalItems is documented as "total number of items in this page", which the examples
	// contradict; it is read as the school's total, the only reading consistent with totalPages.
	if p.Meta.TotalPages == 0 && p.Meta.TotalItems == 0 && len(p.Users) > 0 {
		out.Total = -1
	}
	for _, u := range p.Users {
		ln, err := s.learner(ctx, u)
		if err != nil {
			return hubsync.LearnerPage{}, err
		}
		out.Learners = append(out.Learners, ln)
	}
	if page < p.Meta.TotalPages && len(p.Users) > 0 {
		out.Next = strconv.Itoa(page + 1)
	}
	return out, nil
}

// Update writes values (catalog key to value) to learner id and returns the learner as stored.
// Only email, username, sign-up fields and custom cf_ fields can be written; any other catalog key
// (first/last name, sign-up date, billing, UTMs, usage) fails with hubsync.ErrReadOnly naming it,
// and a key outside the catalog or a value of the wrong type with hubsync.ErrInvalidValue, before
// any call. The API does not say whether PUT merges "fields" or replaces it (see putSemantics):
// until the school's first writes tell, Update reads the learner and sends the changed fields,
// restoring at once any other field the answer shows gone (two calls, three then); once PUT is
// known to merge, a write is one call with the changed fields only (no read, so no field changed
// meanwhile in the school can be sent back with an older value); once it is known to replace, a
// read and a write of the whole fields object (two calls). Password, role and enrollments are
// never sent.
func (l *Learners) Update(ctx context.Context, id hubsync.SchoolID, learnerID string, values map[string]any) (_ hubsync.Learner, err error) {
	defer func() { err = engineError(err) }()
	s, err := l.school(id)
	if err != nil {
		return hubsync.Learner{}, err
	}
	if strings.TrimSpace(learnerID) == "" {
		return hubsync.Learner{}, fmt.Errorf("learnworlds: Update: learner id is empty")
	}
	req, fields, err := s.writeRequest(values)
	if err != nil {
		return hubsync.Learner{}, err
	}
	if len(fields) == 0 && req.Email == nil && req.Username == nil {
		cur, err := s.Client.GetUser(ctx, learnerID)
		if err != nil {
			return hubsync.Learner{}, err
		}
		return s.learner(ctx, cur)
	}
	u, err := s.put.update(ctx, s.Client, learnerID, req, fields)
	if err != nil {
		return hubsync.Learner{}, err
	}
	return s.learner(ctx, u)
}

// writeRequest sorts values into the update request, checking writability and types.
func (s school) writeRequest(values map[string]any) (UpdateUserRequest, map[string]any, error) {
	var req UpdateUserRequest
	fields := map[string]any{}
	keys := slices.Sorted(maps.Keys(values))
	for _, k := range keys {
		val := values[k]
		f, ok := s.idx[k]
		if !ok {
			return req, nil, fmt.Errorf("learnworlds: field %q is not in the school's catalog (declare custom fields in School.Catalog): %w", k, hubsync.ErrInvalidValue)
		}
		if !f.Writable {
			return req, nil, fmt.Errorf("learnworlds: field %q (%s) cannot be written through the LearnWorlds API: %w", k, f.Category, hubsync.ErrReadOnly)
		}
		switch k {
		case "email", "username":
			str, ok := val.(string)
			if !ok || strings.TrimSpace(str) == "" {
				return req, nil, fmt.Errorf("learnworlds: field %q must be a non-empty string: %w", k, hubsync.ErrInvalidValue)
			}
			if k == "email" {
				if err := checkEmail(str); err != nil {
					return req, nil, err
				}
				req.Email = &str
			} else {
				req.Username = &str
			}
			continue
		}
		w, err := writeValue(f, val)
		if err != nil {
			return req, nil, err
		}
		fields[k] = w
	}
	return req, fields, nil
}

func checkEmail(e string) error {
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e {
		return fmt.Errorf("learnworlds: %s is not a valid email address: %w", MaskEmail(e), hubsync.ErrInvalidValue)
	}
	return nil
}

// Create makes a learner from a HubSpot contact: email (validated), username (the email's local
// part when empty), the mapped Values (writable fields only: hubsync.ErrReadOnly otherwise), tags
// and the registration email when SendWelcomeEmail. Errors: hubsync.ErrConflict when the email or
// username is taken, hubsync.ErrInvalidValue, ErrValidation (with the API's per-field messages),
// ErrUnknownSchool, *APIError.
func (l *Learners) Create(ctx context.Context, id hubsync.SchoolID, nl hubsync.NewLearner) (_ hubsync.Learner, err error) {
	defer func() { err = engineError(err) }()
	s, err := l.school(id)
	if err != nil {
		return hubsync.Learner{}, err
	}
	email := strings.TrimSpace(nl.Email)
	if err := checkEmail(email); err != nil {
		return hubsync.Learner{}, err
	}
	values := maps.Clone(nl.Values)
	delete(values, "email")
	username := strings.TrimSpace(nl.Username)
	if v, ok := values["username"].(string); ok && username == "" {
		username = strings.TrimSpace(v)
	}
	delete(values, "username")
	if username == "" {
		username = email[:strings.LastIndexByte(email, '@')]
	}
	_, fields, err := s.writeRequest(values)
	if err != nil {
		return hubsync.Learner{}, err
	}
	u, err := s.Client.CreateUser(ctx, CreateUserRequest{
		Email: email, Username: username, SendRegistrationEmail: nl.SendWelcomeEmail, Tags: nl.Tags, Fields: fields,
	})
	if err != nil {
		return hubsync.Learner{}, err
	}
	return s.learner(ctx, u)
}

// AddTags attaches tags to learner id (PUT /v2/users/{id}/tags, action attach). No tags is a no-op.
// Errors: hubsync.ErrNotFound, ErrUnknownSchool, *APIError.
func (l *Learners) AddTags(ctx context.Context, id hubsync.SchoolID, learnerID string, tags []string) (err error) {
	defer func() { err = engineError(err) }()
	s, err := l.school(id)
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		return nil
	}
	_, err = s.Client.UpdateTags(ctx, learnerID, TagAttach, tags)
	return err
}

// engineError is the adapter's one rule for what the engine should make of a failure: a 429 or
// 503 carrying a Retry-After becomes hubsync.RetryAfter(err, delay), which still matches
// hubsync.ErrUnavailable and unwraps to err. Anything else is returned as it is: other 429s and
// 5xx, and requests that got no answer, already match hubsync.ErrUnavailable; 4xx answers keep
// their meaning (hubsync.ErrNotFound, ErrValidation, hubsync.ErrConflict...).
func engineError(err error) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 &&
		(apiErr.StatusCode == http.StatusTooManyRequests || apiErr.StatusCode == http.StatusServiceUnavailable) {
		return hubsync.RetryAfter(err, apiErr.RetryAfter)
	}
	return err
}

// convert turns a user into a learner, without the last purchase date.
func (s school) convert(u User) hubsync.Learner {
	return hubsync.Learner{
		ID: u.ID, Email: u.Email, Username: u.Username, Values: learnerValues(u, s.idx),
		Tags: slices.Clone(u.Tags), Created: u.CreatedTime(),
		// The API has no cookie-consent flag; the marketing-emails opt-in is the closest signal.
		MarketingConsent: u.SubscribedForMarketingEmails != nil && *u.SubscribedForMarketingEmails,
	}
}

// learner converts a user, adding the last purchase date when configured (one payments call; a
// user without an id, a lead, has none).
func (s school) learner(ctx context.Context, u User) (hubsync.Learner, error) {
	ln := s.convert(u)
	if s.LastPurchaseDate && u.ID == "" {
		ln.Values["last_purchase_date"] = nil
	} else if s.LastPurchaseDate {
		p, err := s.Client.LatestPayment(ctx, u.ID)
		switch {
		case err == nil:
			ln.Values["last_purchase_date"] = p.When()
		case errors.Is(err, hubsync.ErrNotFound):
			ln.Values["last_purchase_date"] = nil
		default:
			return hubsync.Learner{}, err
		}
	}
	return ln, nil
}
