package learnworldstest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hubsync/hubsync"
)

// BuiltinFields are the sign-up fields every school has, under "fields" in the user object.
var BuiltinFields = []string{"bio", "location", "url", "fb", "twitter", "instagram", "linkedin", "skype",
	"behance", "dribbble", "github", "phone", "address", "country", "birthday", "company", "company_size",
	"university", "graduation_year"}

// utmKeys are the API's UTM keys, in the documented order.
var utmKeys = []string{"fc_utm_source", "fc_utm_medium", "fc_utm_campaign", "fc_utm_term", "fc_utm_content",
	"fc_landing", "fc_referrer", "fc_country", "lc_utm_source", "lc_utm_medium", "lc_utm_campaign",
	"lc_utm_term", "lc_utm_content", "lc_landing", "lc_referrer", "lc_country"}

// billingKeys are the billing detail keys.
var billingKeys = []string{"bf_name", "bf_address", "bf_city", "bf_postalcode", "bf_country", "bf_taxid"}

// User is a learner as the fake stores it. Zero fields are unset.
type User struct {
	ID        string
	Email     string
	Username  string
	FirstName string
	LastName  string
	// Fields holds sign-up fields (BuiltinFields, string values) and custom cf_ fields (string,
	// bool, float64).
	Fields map[string]any
	Tags   []string
	// UTMs uses the API keys (fc_utm_source ...); BillingInfo bf_name ...
	UTMs        map[string]string
	BillingInfo map[string]string
	// SubscribedForMarketingEmails is nil when the learner was never asked.
	SubscribedForMarketingEmails *bool
	// Created and LastLogin are Unix seconds; zero Created is set on insertion.
	Created     float64
	LastLogin   float64
	NPSScore    *int
	IsSuspended bool
	// Password is kept only to check the fake was given one; never answered.
	Password string
	seq      int
}

func (u *User) clone() User {
	c := *u
	if u.Fields != nil {
		c.Fields = make(map[string]any, len(u.Fields))
		for k, v := range u.Fields {
			c.Fields[k] = v
		}
	}
	c.Tags = slices.Clone(u.Tags)
	if u.UTMs != nil {
		c.UTMs = make(map[string]string, len(u.UTMs))
		for k, v := range u.UTMs {
			c.UTMs[k] = v
		}
	}
	if u.BillingInfo != nil {
		c.BillingInfo = make(map[string]string, len(u.BillingInfo))
		for k, v := range u.BillingInfo {
			c.BillingInfo[k] = v
		}
	}
	return c
}

// wireUser is the user object as the API and webhooks render it (a struct, so encoding is fast).
type wireUser struct {
	ID                           string         `json:"id"`
	Email                        string         `json:"email"`
	Username                     string         `json:"username"`
	FirstName                    string         `json:"first_name"`
	LastName                     string         `json:"last_name"`
	SubscribedForMarketingEmails *bool          `json:"subscribed_for_marketing_emails"`
	EUCustomer                   bool           `json:"eu_customer"`
	IsAdmin                      bool           `json:"is_admin"`
	IsInstructor                 bool           `json:"is_instructor"`
	IsSuspended                  *bool          `json:"is_suspended,omitempty"`
	IsReporter                   bool           `json:"is_reporter"`
	IsAffiliate                  bool           `json:"is_affiliate"`
	Role                         wireRole       `json:"role"`
	ReferrerID                   *string        `json:"referrer_id"`
	Created                      float64        `json:"created"`
	LastLogin                    *float64       `json:"last_login"`
	SignupApprovalStatus         string         `json:"signup_approval_status"`
	Fields                       map[string]any `json:"fields"`
	Tags                         []string       `json:"tags"`
	UTMs                         map[string]any `json:"utms"`
	BillingInfo                  any            `json:"billing_info"`
	NPSScore                     *int           `json:"nps_score"`
	NPSComment                   *string        `json:"nps_comment"`
}

type wireRole struct {
	Level string `json:"level"`
	Name  string `json:"name"`
}

// apiJSON renders u as the API does. Unset sign-up fields are left out rather than sent as null,
// because the official document types them as plain strings; clients must accept both.
func (u *User) apiJSON() wireUser {
	fields := make(map[string]any, len(u.Fields))
	for k, v := range u.Fields {
		if v != nil {
			fields[k] = v
		}
	}
	utms := make(map[string]any, len(utmKeys))
	for _, k := range utmKeys {
		if v, ok := u.UTMs[k]; ok {
			utms[k] = v
		} else {
			utms[k] = nil
		}
	}
	w := u.common()
	w.Fields, w.UTMs = fields, utms
	suspended := u.IsSuspended
	w.IsSuspended = &suspended
	return w
}

func (u *User) common() wireUser {
	w := wireUser{ID: u.ID, Email: u.Email, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName,
		SubscribedForMarketingEmails: u.SubscribedForMarketingEmails, Role: wireRole{"user", "User"},
		Created: u.Created, SignupApprovalStatus: "passed", Tags: slices.Clone(u.Tags), NPSScore: u.NPSScore}
	if w.Tags == nil {
		w.Tags = []string{}
	}
	if u.LastLogin != 0 {
		ll := u.LastLogin
		w.LastLogin = &ll
	}
	if len(u.BillingInfo) > 0 {
		b := make(map[string]any, len(billingKeys))
		for _, k := range billingKeys {
			if v, ok := u.BillingInfo[k]; ok {
				b[k] = v
			} else {
				b[k] = nil
			}
		}
		w.BillingInfo = b
	}
	return w
}

// FieldRule declares a custom field and its validation rules, as a school admin would.
type FieldRule struct {
	// Type is "string" (default), "number", "date" (yyyy-mm-dd) or "boolean".
	Type      string
	Required  bool
	MaxLength int
	// Pattern is a regular expression a string value must match in full.
	Pattern string
	// Options, when not empty, lists the only allowed values.
	Options []string
	// Min and Max bound a number when HasMin / HasMax.
	Min, Max       float64
	HasMin, HasMax bool
}

// DefineField declares a custom field (name with or without "cf_"). Once any field is declared,
// create and update reject cf_ keys that are not declared (the real API's treatment of unknown
// custom fields is undocumented; rejecting them catches mapping mistakes). It returns an error for
// an empty name, an unknown type or a bad pattern.
func (s *Server) DefineField(name string, r FieldRule) error {
	name = strings.TrimSpace(name)
	if name == "" || name == "cf_" {
		return fmt.Errorf("learnworldstest: DefineField: empty name")
	}
	if !strings.HasPrefix(name, "cf_") {
		name = "cf_" + name
	}
	switch r.Type {
	case "":
		r.Type = "string"
	case "string", "number", "date", "boolean":
	default:
		return fmt.Errorf("learnworldstest: DefineField %q: unknown type %q", name, r.Type)
	}
	if r.Pattern != "" {
		if _, err := regexp.Compile("^(?:" + r.Pattern + ")$"); err != nil {
			return fmt.Errorf("learnworldstest: DefineField %q: pattern: %v", name, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fields[name] = r
	return nil
}

// DefineCatalog declares custom fields as a hubsync catalog does (hubsync.CatalogOptions.Custom),
// so a test's fake school and its Learners adapter agree: string, number and date keep their
// type, datetime becomes a number (Unix seconds, as the API takes date-times), and the rules carry
// over. It returns the first DefineField error.
func (s *Server) DefineCatalog(custom []hubsync.CustomField) error {
	for _, cf := range custom {
		typ := map[hubsync.FieldType]string{hubsync.TypeString: "string", hubsync.TypeNumber: "number",
			hubsync.TypeDate: "date", hubsync.TypeDateTime: "number"}[cf.Type]
		if typ == "" {
			return fmt.Errorf("learnworldstest: DefineCatalog %q: unknown type %q", cf.Name, cf.Type)
		}
		v := cf.Validation
		if err := s.DefineField(cf.Name, FieldRule{Type: typ, Required: v.Required, MaxLength: v.MaxLength, Pattern: v.Pattern,
			Options: v.Options, Min: v.Min, Max: v.Max, HasMin: v.HasMin, HasMax: v.HasMax}); err != nil {
			return err
		}
	}
	return nil
}

// validateLocked checks field values against built-in types and declared rules, returning the
// 422 field errors (empty when valid). creating adds Required checks.
func (s *Server) validateLocked(fields map[string]any, creating bool) map[string][]string {
	errs := map[string][]string{}
	add := func(k, msg string) { errs[k] = append(errs[k], msg) }
	for k, v := range fields {
		if strings.HasPrefix(k, "cf_") {
			rule, ok := s.fields[k]
			if !ok {
				if len(s.fields) > 0 {
					add(k, fmt.Sprintf("The '%s' field does not exist.", k))
				}
				continue
			}
			checkRule(k, v, rule, add)
			continue
		}
		if !slices.Contains(BuiltinFields, k) {
			add(k, fmt.Sprintf("The '%s' field does not exist.", k))
			continue
		}
		if _, ok := v.(string); !ok && v != nil {
			add(k, fmt.Sprintf("The '%s' field must be a string.", k))
		}
	}
	if creating {
		for k, r := range s.fields {
			if v, ok := fields[k]; r.Required && (!ok || v == nil || v == "") {
				add(k, fmt.Sprintf("The '%s' field is required.", k))
			}
		}
	}
	return errs
}

func checkRule(k string, v any, r FieldRule, add func(string, string)) {
	if v == nil || v == "" {
		if r.Required {
			add(k, fmt.Sprintf("The '%s' field is required.", k))
		}
		return
	}
	switch r.Type {
	case "boolean":
		if _, ok := v.(bool); !ok {
			add(k, fmt.Sprintf("The '%s' field must be true or false.", k))
		}
		return
	case "number":
		var n float64
		switch x := v.(type) {
		case float64:
			n = x
		case string:
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				add(k, fmt.Sprintf("The '%s' field must be a number.", k))
				return
			}
			n = f
		default:
			add(k, fmt.Sprintf("The '%s' field must be a number.", k))
			return
		}
		if r.HasMin && n < r.Min {
			add(k, fmt.Sprintf("The '%s' field must be at least %v.", k, r.Min))
		}
		if r.HasMax && n > r.Max {
			add(k, fmt.Sprintf("The '%s' field may not be greater than %v.", k, r.Max))
		}
		return
	}
	str, ok := v.(string)
	if !ok {
		add(k, fmt.Sprintf("The '%s' field must be a string.", k))
		return
	}
	if r.Type == "date" && !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(str) {
		add(k, fmt.Sprintf("The '%s' field must be a date (yyyy-mm-dd).", k))
	}
	if r.MaxLength > 0 && len([]rune(str)) > r.MaxLength {
		add(k, fmt.Sprintf("The '%s' field may not be greater than %d characters.", k, r.MaxLength))
	}
	if r.Pattern != "" && !regexp.MustCompile("^(?:"+r.Pattern+")$").MatchString(str) {
		add(k, fmt.Sprintf("The '%s' field format is invalid.", k))
	}
	if len(r.Options) > 0 && !slices.Contains(r.Options, str) {
		add(k, fmt.Sprintf("The selected '%s' is invalid.", k))
	}
}

func validationFailed(w http.ResponseWriter, errs map[string][]string) {
	out := make(map[string]any, len(errs))
	for k, msgs := range errs {
		list := make([]any, len(msgs))
		for i, m := range msgs {
			list[i] = map[string]string{"0": m}
		}
		out[k] = list
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"statusCode": 422, "error": "Validation Failed", "message": "Your input had some validation errors.", "errors": out,
	})
}

// lookupLocked finds a user by id or email (case-insensitive).
func (s *Server) lookupLocked(idOrEmail string) *User {
	if u, ok := s.byID[idOrEmail]; ok {
		return u
	}
	return s.byEmail[strings.ToLower(idOrEmail)]
}

// handleListUsers serves GET /v2/users with the documented paging: newest first, items_per_page
// 1..200 (default 20), and a page past the end answered with the last page.
func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	per, page := 20, 1
	if v := q.Get("items_per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "items_per_page must be an integer between 1 and 200"})
			return
		}
		per = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "page must be an integer"})
			return
		}
		page = max(n, 1)
	}
	var after, before float64
	if v := q.Get("registration_after"); v != "" {
		after, _ = strconv.ParseFloat(v, 64)
	}
	if v := q.Get("registration_before"); v != "" {
		before, _ = strconv.ParseFloat(v, 64)
	}
	var tags []string
	if v := q.Get("tags"); v != "" {
		tags = strings.Split(v, ",")
	}
	suspended := q.Get("include_suspended") == "true"
	s.mu.Lock()
	if after == 0 && before == 0 && len(tags) == 0 {
		// The common listing, unfiltered: when no learner is hidden, page straight into the list
		// instead of copying a million pointers for every page (benchmarks list big schools).
		hidden := 0
		if !suspended {
			for _, u := range s.users {
				if u.IsSuspended {
					hidden++
				}
			}
		}
		if hidden == 0 {
			n := len(s.users)
			pages := max(1, int(math.Ceil(float64(n)/float64(per))))
			page = min(page, pages)
			lo := min((page-1)*per, n)
			hi := min(lo+per, n)
			data := make([]wireUser, 0, hi-lo)
			for k := lo; k < hi; k++ {
				data = append(data, s.users[n-1-k].apiJSON()) // newest first
			}
			s.mu.Unlock()
			writeJSON(w, http.StatusOK, map[string]any{
				"data": data,
				"meta": map[string]any{"page": page, "totalItems": n, "totalPages": pages, "itemsPerPage": per},
			})
			return
		}
	}
	var match []*User
	for i := len(s.users) - 1; i >= 0; i-- {
		u := s.users[i]
		if (u.IsSuspended && !suspended) || (after > 0 && u.Created <= after) || (before > 0 && u.Created >= before) {
			continue
		}
		if len(tags) > 0 && !slices.ContainsFunc(tags, func(t string) bool { return slices.Contains(u.Tags, t) }) {
			continue
		}
		match = append(match, u)
	}
	pages := max(1, int(math.Ceil(float64(len(match))/float64(per))))
	page = min(page, pages)
	lo := min((page-1)*per, len(match))
	hi := min(lo+per, len(match))
	data := make([]wireUser, 0, hi-lo)
	for _, u := range match[lo:hi] {
		data = append(data, u.apiJSON())
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"data": data,
		"meta": map[string]any{"page": page, "totalItems": len(match), "totalPages": pages, "itemsPerPage": per},
	})
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	u := s.lookupLocked(id)
	var body wireUser
	if u != nil {
		body = u.apiJSON()
	}
	s.mu.Unlock()
	if u == nil {
		writeRaw(w, http.StatusNotFound, bodyNotFound)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// readBody decodes a JSON object body, recording it for LastRequestBody under route.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, route string) (map[string]json.RawMessage, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unreadable body"})
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "The body must be a JSON object"})
		return nil, false
	}
	s.mu.Lock()
	s.lastRequest[route] = json.RawMessage(b)
	s.mu.Unlock()
	return m, true
}

type userInput struct {
	Email                 *string        `json:"email"`
	Username              *string        `json:"username"`
	Password              *string        `json:"password"`
	SendRegistrationEmail *bool          `json:"send_registration_email"`
	Subscribed            *bool          `json:"subscribed_for_marketing_emails"`
	Fields                map[string]any `json:"fields"`
	Tags                  []string       `json:"tags"`
	UTMs                  map[string]any `json:"utms"`
}

func decodeInput(m map[string]json.RawMessage) (userInput, error) {
	b, _ := json.Marshal(m)
	var in userInput
	if err := json.Unmarshal(b, &in); err != nil {
		return in, err
	}
	return in, nil
}

func validEmail(e string) bool {
	a, err := mail.ParseAddress(e)
	return err == nil && a.Address == e && strings.Contains(e[strings.LastIndexByte(e, '@'):], ".")
}

// handleCreateUser serves POST /v2/users: email and username required, both unique
// (case-insensitively), fields validated; a duplicate is a 422 naming the field.
func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	m, ok := s.readBody(w, r, "POST /v2/users")
	if !ok {
		return
	}
	in, err := decodeInput(m)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "Invalid body: " + err.Error()})
		return
	}
	errs := map[string][]string{}
	if in.Email == nil || *in.Email == "" {
		errs["email"] = append(errs["email"], "The 'Email' field is required.")
	} else if !validEmail(*in.Email) {
		errs["email"] = append(errs["email"], "The 'Email' must be a valid email address.")
	}
	if in.Username == nil || strings.TrimSpace(*in.Username) == "" {
		errs["username"] = append(errs["username"], "The 'Username' field is required.")
	}
	s.mu.Lock()
	if in.Email != nil && s.byEmail[strings.ToLower(*in.Email)] != nil {
		errs["email"] = append(errs["email"], "The email has already been taken.")
	}
	if in.Username != nil && s.byUsername[strings.ToLower(*in.Username)] != nil {
		errs["username"] = append(errs["username"], "The username has already been taken.")
	}
	for k, v := range s.validateLocked(in.Fields, true) {
		errs[k] = append(errs[k], v...)
	}
	if len(errs) > 0 {
		s.mu.Unlock()
		validationFailed(w, errs)
		return
	}
	u := &User{Email: *in.Email, Username: *in.Username, Fields: in.Fields, Tags: dedupe(in.Tags), SubscribedForMarketingEmails: in.Subscribed}
	if in.Password != nil {
		u.Password = *in.Password
	}
	for k, v := range in.UTMs {
		if s, ok := v.(string); ok {
			if u.UTMs == nil {
				u.UTMs = map[string]string{}
			}
			u.UTMs[k] = s
		}
	}
	s.insertLocked(u)
	body, hook := u.apiJSON(), u.webhookJSON()
	s.mu.Unlock()
	s.emitWrite(r.Context(), "userUpdated", "user_updated", map[string]any{"ip_address": "", "user": hook})
	writeJSON(w, http.StatusCreated, body)
}

// handleUpdateUser serves PUT /v2/users/{id}: email, username, fields (merged key by key, or
// replaced whole with WithFieldsReplaced: the real API's behaviour is undocumented), tags (replaced), subscribed_for_marketing_emails.
// A body with "password" or "role" is refused with 400: hubsync must never send them.
func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request, id string) {
	m, ok := s.readBody(w, r, "PUT /v2/users/{id}")
	if !ok {
		return
	}
	for _, k := range []string{"password", "role", "enrollments"} {
		if _, bad := m[k]; bad {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": fmt.Sprintf("The fake refuses %q in a user update: hubsync must never change it", k)})
			return
		}
	}
	in, err := decodeInput(m)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "Invalid body: " + err.Error()})
		return
	}
	s.mu.Lock()
	u := s.lookupLocked(id)
	if u == nil {
		s.mu.Unlock()
		writeRaw(w, http.StatusNotFound, bodyNotFound)
		return
	}
	errs := s.validateLocked(in.Fields, false)
	if in.Email != nil {
		if !validEmail(*in.Email) {
			errs["email"] = append(errs["email"], "The 'Email' must be a valid email address.")
		} else if o := s.byEmail[strings.ToLower(*in.Email)]; o != nil && o != u {
			errs["email"] = append(errs["email"], "The email has already been taken.")
		}
	}
	if in.Username != nil {
		if strings.TrimSpace(*in.Username) == "" {
			errs["username"] = append(errs["username"], "The 'Username' field is required.")
		} else if o := s.byUsername[strings.ToLower(*in.Username)]; o != nil && o != u {
			errs["username"] = append(errs["username"], "The username has already been taken.")
		}
	}
	if len(errs) > 0 {
		s.mu.Unlock()
		validationFailed(w, errs)
		return
	}
	s.applyLocked(u, in)
	body, hook := u.apiJSON(), u.webhookJSON()
	s.mu.Unlock()
	s.emitWrite(r.Context(), "userUpdated", "user_updated", map[string]any{"ip_address": "", "user": hook})
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) applyLocked(u *User, in userInput) {
	if in.Email != nil {
		delete(s.byEmail, strings.ToLower(u.Email))
		u.Email = *in.Email
		s.byEmail[strings.ToLower(u.Email)] = u
	}
	if in.Username != nil {
		delete(s.byUsername, strings.ToLower(u.Username))
		u.Username = *in.Username
		s.byUsername[strings.ToLower(u.Username)] = u
	}
	if s.replaceFlds && in.Fields != nil {
		u.Fields = map[string]any{}
	}
	for k, v := range in.Fields {
		if u.Fields == nil {
			u.Fields = map[string]any{}
		}
		u.Fields[k] = v
	}
	if in.Tags != nil {
		u.Tags = dedupe(in.Tags)
	}
	if in.Subscribed != nil {
		u.SubscribedForMarketingEmails = in.Subscribed
	}
}

// handleTags serves PUT /v2/users/{id}/tags {"tags":[...],"action":"attach"|"detach"}.
func (s *Server) handleTags(w http.ResponseWriter, r *http.Request, id string) {
	m, ok := s.readBody(w, r, "PUT /v2/users/{id}/tags")
	if !ok {
		return
	}
	var in struct {
		Tags   []string `json:"tags"`
		Action string   `json:"action"`
	}
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, &in); err != nil || in.Tags == nil || (in.Action != "attach" && in.Action != "detach") {
		validationFailed(w, map[string][]string{"action": {"The 'tags' list and an 'action' of attach or detach are required."}})
		return
	}
	s.mu.Lock()
	u := s.lookupLocked(id)
	if u == nil {
		s.mu.Unlock()
		writeRaw(w, http.StatusNotFound, bodyNotFound)
		return
	}
	changeTags(u, in.Action == "attach", in.Tags)
	body, hook := u.apiJSON(), u.webhookJSON()
	s.mu.Unlock()
	if in.Action == "attach" {
		s.emitWrite(r.Context(), "userTagAdded", "user_tag_added", hook)
	} else {
		s.emitWrite(r.Context(), "userTagDeleted", "user_tag_deleted", hook)
	}
	writeJSON(w, http.StatusOK, body)
}

func changeTags(u *User, attach bool, tags []string) {
	if attach {
		u.Tags = dedupe(append(u.Tags, tags...))
		return
	}
	u.Tags = slices.DeleteFunc(u.Tags, func(t string) bool { return slices.Contains(tags, t) })
}

func dedupe(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// insertLocked assigns id, creation time and sequence, and indexes u.
func (s *Server) insertLocked(u *User) {
	s.seq++
	u.seq = s.seq
	if u.ID == "" {
		u.ID = fmt.Sprintf("5f%022x", s.seq)
	}
	if u.Created == 0 {
		u.Created = s.stamp()
	}
	s.users = append(s.users, u)
	s.byID[u.ID] = u
	s.byEmail[strings.ToLower(u.Email)] = u
	s.byUsername[strings.ToLower(u.Username)] = u
}
