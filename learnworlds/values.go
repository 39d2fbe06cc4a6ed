package learnworlds

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hubsync/hubsync"
)

// dateLayout is how LearnWorlds writes dates (birthday, date custom fields).
const dateLayout = "2006-01-02"

// learnerValues maps a user to Learner.Values keys (see hubsync.LearnWorldsCatalog): top-level
// email/username/first_name/last_name/created, fields.* under their own keys, billing_info.bf_*,
// utms.* (API spelling), last_login and nps_score. Empty strings and nulls become nil. Values of
// date fields ("yyyy-mm-dd") become time.Time at UTC midnight, number fields sent as strings
// (graduation_year) become float64; a value that does not parse is kept as sent, so the engine's
// conversion reports it rather than this adapter guessing.
func learnerValues(u User, idx hubsync.FieldIndex) map[string]any {
	v := make(map[string]any, 16+len(u.Fields)+len(u.UTMs)+len(u.BillingInfo))
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	v["email"] = str(u.Email)
	v["username"] = str(u.Username)
	v["first_name"] = str(u.FirstName)
	v["last_name"] = str(u.LastName)
	v["created"] = nilIfZero(u.Created)
	v["last_login"] = nilIfZero(u.LastLogin)
	if u.NPSScore != nil {
		v["nps_score"] = *u.NPSScore
	} else {
		v["nps_score"] = nil
	}
	for k, val := range u.Fields {
		v[k] = readValue(idx[k].Type, val)
	}
	for k, val := range u.UTMs {
		v[k] = strPtr(val)
	}
	for k, val := range u.BillingInfo {
		v[k] = strPtr(val)
	}
	return v
}

func nilIfZero(f float64) any {
	if f == 0 {
		return nil
	}
	return f
}

func strPtr(p *string) any {
	if p == nil || *p == "" {
		return nil
	}
	return *p
}

// readValue converts a field value as sent into the catalog type's Go form where it parses.
func readValue(t hubsync.FieldType, val any) any {
	s, isStr := val.(string)
	if isStr && s == "" {
		return nil
	}
	switch t {
	case hubsync.TypeDate:
		if isStr {
			if d, err := time.Parse(dateLayout, strings.TrimSpace(s)); err == nil {
				return d
			}
		}
	case hubsync.TypeNumber:
		if isStr {
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				return f
			}
		}
	case hubsync.TypeDateTime:
		if isStr {
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				return f
			}
			if d, err := time.Parse(time.RFC3339, strings.TrimSpace(s)); err == nil {
				return d
			}
		}
	}
	return val
}

// writeValue converts a Learner value into what the API's "fields" object takes for field f.
// Sign-up fields are documented as strings, so numbers and dates are sent as text there; custom
// number and datetime fields take JSON numbers (datetimes as Unix seconds, as the API documents for
// input datetimes). nil is sent as "" to clear (whether null clears is undocumented). Errors wrap
// hubsync.ErrInvalidValue and name the field and the value's type.
func writeValue(f hubsync.LearnerField, val any) (any, error) {
	custom := f.Category == hubsync.CategoryCustom
	bad := func(why string) error {
		return fmt.Errorf("learnworlds: field %q (%s): %s: %w", f.Key, f.Type, why, hubsync.ErrInvalidValue)
	}
	if val == nil {
		return "", nil
	}
	switch f.Type {
	case hubsync.TypeString:
		switch x := val.(type) {
		case string:
			return x, nil
		case bool:
			if custom {
				return x, nil // checkbox custom fields are booleans
			}
			return strconv.FormatBool(x), nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		}
	case hubsync.TypeNumber:
		var n float64
		switch x := val.(type) {
		case float64:
			n = x
		case int64:
			n = float64(x)
		case string:
			p, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, bad(fmt.Sprintf("%q is not a number", truncate(x, 40)))
			}
			n = p
		default:
			return nil, bad(fmt.Sprintf("a %T is not a number", val))
		}
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, bad("not a finite number")
		}
		if custom {
			return n, nil
		}
		return strconv.FormatFloat(n, 'f', -1, 64), nil
	case hubsync.TypeDate:
		switch x := val.(type) {
		case time.Time:
			return x.UTC().Format(dateLayout), nil
		case float64:
			return unixTime(x).Format(dateLayout), nil
		case int64:
			return time.Unix(x, 0).UTC().Format(dateLayout), nil
		case string:
			if _, err := time.Parse(dateLayout, x); err != nil {
				return nil, bad(fmt.Sprintf("%q is not a yyyy-mm-dd date", truncate(x, 40)))
			}
			return x, nil
		}
	case hubsync.TypeDateTime:
		switch x := val.(type) {
		case time.Time:
			return float64(x.UnixNano()) / 1e9, nil
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			if t, err := time.Parse(time.RFC3339, x); err == nil {
				return float64(t.UnixNano()) / 1e9, nil
			}
			return nil, bad(fmt.Sprintf("%q is not an RFC 3339 date-time", truncate(x, 40)))
		}
	}
	return nil, bad(fmt.Sprintf("a %T cannot be written", val))
}
