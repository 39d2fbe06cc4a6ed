package learnworlds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// User is a LearnWorlds user as the API (GET/list/create/update) and the v2 webhooks send it, keys
// matched exactly as LearnWorlds spells them (lower case: "EMAIL" is not the email), after
// normalisation: webhook UTM keys (fc_source) are renamed to the API's (fc_utm_source), a "utm" key
// is read as "utms", and ISO 8601 dates (the subscriptionUpdated event) become Unix seconds.
type User struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Username string `json:"username"`
	// FirstName and LastName are read-only through the API (derived from the username or the other
	// way round, depending on the school's name mode).
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`

	SubscribedForMarketingEmails *bool  `json:"subscribed_for_marketing_emails"`
	EUCustomer                   *bool  `json:"eu_customer"`
	IsAdmin                      bool   `json:"is_admin"`
	IsInstructor                 bool   `json:"is_instructor"`
	IsSuspended                  bool   `json:"is_suspended"`
	IsReporter                   bool   `json:"is_reporter"`
	IsAffiliate                  bool   `json:"is_affiliate"`
	Role                         Role   `json:"role"`
	ReferrerID                   string `json:"referrer_id,omitempty"`

	// Created and LastLogin are Unix seconds (fractional); LastLogin is 0 when the user never logged in.
	Created   float64 `json:"created"`
	LastLogin float64 `json:"last_login,omitempty"`

	SignupApprovalStatus    string `json:"signup_approval_status,omitempty"`
	EmailVerificationStatus string `json:"email_verification_status,omitempty"`

	// Fields holds the sign-up fields (bio, phone, country, birthday, ...) and custom cf_ fields.
	// Values are string, bool, float64 or nil, as sent.
	Fields map[string]any `json:"fields"`
	Tags   []string       `json:"tags"`
	// UTMs holds fc_utm_source ... lc_country; a nil value means unset.
	UTMs map[string]*string `json:"utms"`
	// BillingInfo holds bf_name ... bf_taxid; nil when the school has no billing details.
	BillingInfo map[string]*string `json:"billing_info"`
	// NPSScore is the latest NPS score (nil when none); NPSComment its comment.
	NPSScore   *float64 `json:"nps_score"`
	NPSComment *string  `json:"nps_comment"`
}

// Role is a user's role.
type Role struct {
	Level string `json:"level"`
	Name  string `json:"name"`
}

// CreatedTime returns Created as a time.Time (zero when unknown).
func (u User) CreatedTime() time.Time { return unixTime(u.Created) }

// unixTime converts fractional Unix seconds; 0 gives the zero time.
func unixTime(s float64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	sec := int64(s)
	return time.Unix(sec, int64((s-float64(sec))*1e9)).UTC()
}

// webhookUTM maps the webhook spelling of UTM keys to the API's.
var webhookUTM = map[string]string{"source": "utm_source", "medium": "utm_medium", "campaign": "utm_campaign", "term": "utm_term", "content": "utm_content"}

// normalizeUTMKey turns "fc_source" into "fc_utm_source"; other keys are returned unchanged.
func normalizeUTMKey(k string) string {
	if len(k) > 3 && (strings.HasPrefix(k, "fc_") || strings.HasPrefix(k, "lc_")) {
		if v, ok := webhookUTM[k[3:]]; ok {
			return k[:3] + v
		}
	}
	return k
}

// userWire is the fast decoding path of User: one pass of encoding/json. Anything it cannot take
// (a value of an unexpected JSON type) falls back to the slow path, which either accepts a
// documented variant or names the offending key.
type userWire struct {
	ID                           string             `json:"id"`
	Email                        string             `json:"email"`
	Username                     string             `json:"username"`
	FirstName                    *string            `json:"first_name"`
	LastName                     *string            `json:"last_name"`
	SubscribedForMarketingEmails *bool              `json:"subscribed_for_marketing_emails"`
	EUCustomer                   *bool              `json:"eu_customer"`
	IsAdmin                      *bool              `json:"is_admin"`
	IsInstructor                 *bool              `json:"is_instructor"`
	IsSuspended                  *bool              `json:"is_suspended"`
	IsReporter                   *bool              `json:"is_reporter"`
	IsAffiliate                  *bool              `json:"is_affiliate"`
	Role                         *Role              `json:"role"`
	ReferrerID                   *string            `json:"referrer_id"`
	Created                      *float64           `json:"created"`
	LastLogin                    *float64           `json:"last_login"`
	SignupApprovalStatus         *string            `json:"signup_approval_status"`
	EmailVerificationStatus      *string            `json:"email_verification_status"`
	Fields                       map[string]any     `json:"fields"`
	Tags                         []string           `json:"tags"`
	UTMs                         map[string]*string `json:"utms"`
	BillingInfo                  map[string]*string `json:"billing_info"`
	NPSScore                     *float64           `json:"nps_score"`
	NPSComment                   *string            `json:"nps_comment"`
	// Present only in variants the slow path handles.
	CreatedAt json.RawMessage `json:"created_at"`
	UTM       json.RawMessage `json:"utm"`
}

// userKeys are the object keys User reads, spelled as LearnWorlds sends them (lower case).
var userKeys = map[string]bool{
	"id": true, "email": true, "username": true, "first_name": true, "last_name": true,
	"subscribed_for_marketing_emails": true, "eu_customer": true, "is_admin": true,
	"is_instructor": true, "is_suspended": true, "is_reporter": true, "is_affiliate": true,
	"role": true, "referrer_id": true, "created": true, "last_login": true,
	"signup_approval_status": true, "email_verification_status": true, "fields": true,
	"tags": true, "utms": true, "billing_info": true, "nps_score": true, "nps_comment": true,
	"created_at": true, "utm": true,
}

// fast decodes b in one pass; ok is false when the slow path must decide. Keys are matched
// exactly, as the slow path matches them: LearnWorlds sends lower-case keys, and encoding/json's
// case-insensitive matching would read "EMAIL" or "Created" as the email or creation time (or
// not, depending on the rest of the object), so a body with a key that only folds to one of
// User's is left to the slow path, which ignores that key.
func (u *User) fast(b []byte) bool {
	var w userWire
	if json.Unmarshal(b, &w) != nil || w.CreatedAt != nil || w.UTM != nil || hasFoldedKey(b) {
		return false
	}
	for _, v := range w.Fields {
		switch v.(type) {
		case nil, string, bool, float64:
		default:
			return false
		}
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	flag := func(p *bool) bool { return p != nil && *p }
	out := User{ID: w.ID, Email: w.Email, Username: w.Username, FirstName: deref(w.FirstName), LastName: deref(w.LastName),
		SubscribedForMarketingEmails: w.SubscribedForMarketingEmails, EUCustomer: w.EUCustomer,
		IsAdmin: flag(w.IsAdmin), IsInstructor: flag(w.IsInstructor), IsSuspended: flag(w.IsSuspended),
		IsReporter: flag(w.IsReporter), IsAffiliate: flag(w.IsAffiliate), ReferrerID: deref(w.ReferrerID),
		SignupApprovalStatus: deref(w.SignupApprovalStatus), EmailVerificationStatus: deref(w.EmailVerificationStatus),
		Fields: w.Fields, Tags: w.Tags, BillingInfo: w.BillingInfo, NPSScore: w.NPSScore, NPSComment: w.NPSComment}
	if w.Role != nil {
		out.Role = *w.Role
	}
	if w.Created != nil {
		out.Created = *w.Created
	}
	if w.LastLogin != nil {
		out.LastLogin = *w.LastLogin
	}
	if w.UTMs != nil {
		out.UTMs = make(map[string]*string, len(w.UTMs))
		for k, v := range w.UTMs {
			if nk := normalizeUTMKey(k); nk != k {
				if _, api := w.UTMs[nk]; !api { // the API spelling wins when both are present
					out.UTMs[nk] = v
				}
				continue
			}
			out.UTMs[k] = v
		}
	}
	*u = out
	return true
}

// hasFoldedKey reports whether the JSON object b (already known to be valid JSON) has a top-level
// key that is not one of userKeys but equals one under Unicode case folding, as encoding/json
// matches them. It scans b once, without decoding the values: it runs for every user of every
// page a manual sync lists.
func hasFoldedKey(b []byte) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	for i++; ; i++ {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return false // the end of the object (valid JSON: "}")
		}
		end, escaped := scanString(b, i)
		if end < 0 {
			return false
		}
		if escaped {
			var key string
			if json.Unmarshal(b[i:end], &key) != nil {
				return false
			}
			if foldsToUserKey(key) {
				return true
			}
		} else if foldsToUserKey(string(b[i+1 : end-1])) {
			return true
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		if i = skipValue(b, i+1); i < 0 {
			return false
		}
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ',' {
			return false
		}
	}
}

// foldsToUserKey reports whether key is not one of userKeys but equals one under Unicode case
// folding (strings.EqualFold).
func foldsToUserKey(key string) bool {
	if userKeys[key] {
		return false
	}
	var buf [40]byte // longer than any user key
	if len(key) > len(buf) {
		return false // an ASCII key this long matches none; a non-ASCII one is longer still
	}
	lower := buf[:len(key)]
	for j := 0; j < len(key); j++ {
		c := key[j]
		if c >= 0x80 {
			// Unicode folding can map a multi-byte rune to an ASCII letter (the Kelvin sign to
			// k): compare the slow way.
			for k := range userKeys {
				if strings.EqualFold(key, k) {
					return true
				}
			}
			return false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[j] = c
	}
	return userKeys[string(lower)]
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index after the JSON string starting at b[i] (a quote), and whether it
// holds an escape; -1 when it does not end.
func scanString(b []byte, i int) (end int, escaped bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return -1, escaped
}

// skipValue returns the index after the JSON value starting at or after b[i] (valid JSON), -1
// when it does not end.
func skipValue(b []byte, i int) int {
	i = skipSpace(b, i)
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := scanString(b, i)
		return end
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end, _ := scanString(b, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	for ; i < len(b); i++ { // a number, true, false or null
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// UnmarshalJSON decodes a user from the API or a webhook, normalising as described on User. It
// rejects a body that is not a JSON object, and values of the wrong JSON type, naming the key.
func (u *User) UnmarshalJSON(b []byte) error {
	if u.fast(b) {
		return nil
	}
	return u.slow(b)
}

// slow decodes b key by key, accepting the documented variants and naming a key of the wrong type.
func (u *User) slow(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("learnworlds: user is not a JSON object: %w", err)
	}
	if raw == nil {
		// JSON null: a no-op, as encoding/json's convention for Unmarshalers has it (and as the
		// one-pass path does); "user": null in an event leaves no user.
		return nil
	}
	var out User
	str := func(key string, dst *string) error {
		v, ok := raw[key]
		if !ok || isNull(v) {
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("learnworlds: user %q is not a string", key)
		}
		return nil
	}
	boolean := func(key string, dst *bool) error {
		v, ok := raw[key]
		if !ok || isNull(v) {
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("learnworlds: user %q is not a boolean", key)
		}
		return nil
	}
	optBool := func(key string, dst **bool) error {
		var b bool
		if v, ok := raw[key]; !ok || isNull(v) {
			return nil
		}
		if err := boolean(key, &b); err != nil {
			return err
		}
		*dst = &b
		return nil
	}
	stamp := func(key string, dst *float64) error {
		v, ok := raw[key]
		if !ok || isNull(v) {
			return nil
		}
		f, err := parseStamp(v)
		if err != nil {
			return fmt.Errorf("learnworlds: user %q: %w", key, err)
		}
		*dst = f
		return nil
	}
	errs := []error{
		str("id", &out.ID), str("email", &out.Email), str("username", &out.Username),
		str("first_name", &out.FirstName), str("last_name", &out.LastName),
		optBool("subscribed_for_marketing_emails", &out.SubscribedForMarketingEmails),
		optBool("eu_customer", &out.EUCustomer),
		boolean("is_admin", &out.IsAdmin), boolean("is_instructor", &out.IsInstructor),
		boolean("is_suspended", &out.IsSuspended), boolean("is_reporter", &out.IsReporter),
		boolean("is_affiliate", &out.IsAffiliate), str("referrer_id", &out.ReferrerID),
		stamp("created", &out.Created), stamp("last_login", &out.LastLogin),
		str("signup_approval_status", &out.SignupApprovalStatus),
		str("email_verification_status", &out.EmailVerificationStatus),
	}
	if out.Created == 0 {
		errs = append(errs, stamp("created_at", &out.Created))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if v, ok := raw["role"]; ok && !isNull(v) {
		if err := json.Unmarshal(v, &out.Role); err != nil {
			return fmt.Errorf("learnworlds: user \"role\" is not an object of strings")
		}
	}
	if v, ok := raw["fields"]; ok && !isNull(v) {
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return fmt.Errorf("learnworlds: user \"fields\" is not an object")
		}
		out.Fields = make(map[string]any, len(m))
		for k, val := range m {
			switch x := val.(type) {
			case json.Number:
				f, err := x.Float64()
				if err != nil {
					return fmt.Errorf("learnworlds: user field %q: %v", k, err)
				}
				out.Fields[k] = f
			case nil, string, bool:
				out.Fields[k] = x
			default:
				// Multi-choice custom fields could arrive as lists: kept as their JSON text.
				j, _ := json.Marshal(x)
				out.Fields[k] = string(j)
			}
		}
	}
	if v, ok := raw["tags"]; ok && !isNull(v) {
		if err := json.Unmarshal(v, &out.Tags); err != nil {
			return fmt.Errorf("learnworlds: user \"tags\" is not a list of strings")
		}
	}
	utms, ok := raw["utms"]
	if !ok || isNull(utms) {
		utms, ok = raw["utm"]
	}
	if ok && !isNull(utms) {
		m, err := stringMap(utms)
		if err != nil {
			return fmt.Errorf("learnworlds: user \"utms\": %w", err)
		}
		out.UTMs = make(map[string]*string, len(m))
		for k, v := range m {
			if nk := normalizeUTMKey(k); nk != k {
				if _, api := m[nk]; !api { // the API spelling wins when both are present
					out.UTMs[nk] = v
				}
				continue
			}
			out.UTMs[k] = v
		}
	}
	if v, ok := raw["billing_info"]; ok && !isNull(v) {
		m, err := stringMap(v)
		if err != nil {
			return fmt.Errorf("learnworlds: user \"billing_info\": %w", err)
		}
		out.BillingInfo = m
	}
	if v, ok := raw["nps_score"]; ok && !isNull(v) {
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("learnworlds: user \"nps_score\" is not a number")
		}
		out.NPSScore = &f
	}
	if v, ok := raw["nps_comment"]; ok && !isNull(v) {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("learnworlds: user \"nps_comment\" is not a string")
		}
		out.NPSComment = &s
	}
	*u = out
	return nil
}

// stringMap decodes an object of string-or-null values; numbers and booleans are kept as their text.
func stringMap(b []byte) (map[string]*string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("not an object")
	}
	out := make(map[string]*string, len(m))
	for k, v := range m {
		if isNull(v) {
			out[k] = nil
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(bytes.TrimSpace(v))
		}
		out[k] = &s
	}
	return out, nil
}

// parseStamp reads a Unix timestamp (number, or numeric string) or an ISO 8601 date-time.
func parseStamp(v json.RawMessage) (float64, error) {
	var f float64
	if json.Unmarshal(v, &f) == nil {
		return f, nil
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return 0, fmt.Errorf("not a timestamp")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return float64(t.UnixNano()) / 1e9, nil
		}
	}
	return 0, fmt.Errorf("%q is neither Unix seconds nor an ISO 8601 date", truncate(s, 40))
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }
