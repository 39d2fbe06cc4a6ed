package hubsync

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Value conversion between the LMS and HubSpot.
//
// HubSpot carries every property value as a string: numbers in plain decimal, dates as
// "YYYY-MM-DD" (or epoch milliseconds at midnight UTC), datetimes as ISO 8601 UTC (or epoch
// milliseconds), and "" for an empty (cleared) value. LearnWorlds sends timestamps as float Unix
// seconds (1587639230.083278), date-only values as "yyyy-mm-dd", and strings otherwise.
//
// ToHubSpot always writes the canonical form (ISO for dates and datetimes, shortest decimal for
// numbers); FromHubSpot accepts both forms. A value that cannot convert is a *ConversionError naming
// the field, the type and the kind of value (never the value itself, which may be personal data).

// ConversionError reports a value that cannot convert. It wraps ErrInvalidValue.
type ConversionError struct {
	// Field is the LMS field key or HubSpot property name being converted.
	Field string
	// Type is the type the value had to convert to or from.
	Type FieldType
	// Kind describes the value: a Go type name for LMS values ("bool", "float64"), or the shape of a
	// HubSpot string ("string of 12 characters").
	Kind string
	// Reason says what is wrong, without quoting the value.
	Reason string
}

func (e *ConversionError) Error() string {
	return fmt.Sprintf("hubsync: field %q: cannot convert %s to %s: %s", e.Field, e.Kind, e.Type, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidValue) true.
func (e *ConversionError) Unwrap() error { return ErrInvalidValue }

const (
	hsDateLayout     = "2006-01-02"
	hsDateTimeLayout = "2006-01-02T15:04:05.000Z"
	// numberDigits is the significant digits numbers are rounded to, enough for any value a person
	// enters, and few enough to drop float noise such as 0.1+0.2 = 0.30000000000000004.
	numberDigits = 15
)

func kindOf(v any) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprintf("%T", v)
}

func hsKind(s string) string { return fmt.Sprintf("string of %d characters", len(s)) }

// ToHubSpot converts the LMS value v of field into the HubSpot property string for type t. A nil
// value, or an empty string, is "" (HubSpot's empty value, which clears the property).
//
// Accepted LMS values per type:
//   - TypeString: string; bool ("true"/"false"); numbers (shortest decimal form).
//   - TypeNumber: float64, float32, int, int64, int32, json.Number, or a string holding a decimal.
//   - TypeDate: time.Time (its UTC calendar date), Unix seconds as a number (float or integer), or a
//     string "YYYY-MM-DD", an RFC 3339 time, or Unix seconds in decimal.
//   - TypeDateTime: as TypeDate, written to the millisecond in UTC.
func ToHubSpot(field string, t FieldType, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	if s, ok := v.(string); ok && s == "" {
		return "", nil
	}
	fail := func(reason string) (string, error) {
		return "", &ConversionError{Field: field, Type: t, Kind: kindOf(v), Reason: reason}
	}
	switch t {
	case TypeString:
		switch x := v.(type) {
		case string:
			return x, nil
		case bool:
			return strconv.FormatBool(x), nil
		}
		if f, ok := numberOf(v); ok {
			s, err := formatNumber(f)
			if err != nil {
				return fail(err.Error())
			}
			return s, nil
		}
		return fail("not a string")
	case TypeNumber:
		f, ok := numberOf(v)
		if !ok {
			s, isStr := v.(string)
			if !isStr {
				return fail("not a number")
			}
			var err error
			f, err = parseNumber(s)
			if err != nil {
				return fail(err.Error())
			}
		}
		s, err := formatNumber(f)
		if err != nil {
			return fail(err.Error())
		}
		return s, nil
	case TypeDate, TypeDateTime:
		tm, err := lmsTime(v)
		if err != nil {
			return fail(err.Error())
		}
		if t == TypeDate {
			return tm.UTC().Format(hsDateLayout), nil
		}
		return tm.UTC().Truncate(time.Millisecond).Format(hsDateTimeLayout), nil
	}
	return fail("unknown field type")
}

// FromHubSpot parses the HubSpot property string s of type t into the LMS representation: string
// for TypeString, float64 for TypeNumber, and a UTC time.Time for TypeDate (midnight) and
// TypeDateTime. "" (an empty HubSpot value) is nil for every type.
//
// Dates are accepted as "YYYY-MM-DD" or as epoch milliseconds at midnight UTC (another time of day
// is an error); datetimes as RFC 3339 / ISO 8601 (with or without fractional seconds, any offset,
// converted to UTC) or as epoch milliseconds.
func FromHubSpot(field string, t FieldType, s string) (any, error) {
	if s == "" {
		return nil, nil
	}
	fail := func(reason string) (any, error) {
		return nil, &ConversionError{Field: field, Type: t, Kind: hsKind(s), Reason: reason}
	}
	switch t {
	case TypeString:
		return s, nil
	case TypeNumber:
		f, err := parseNumber(s)
		if err != nil {
			return fail(err.Error())
		}
		// Round through the canonical form so noise never reaches the LMS.
		c, err := formatNumber(f)
		if err != nil {
			return fail(err.Error())
		}
		f, _ = strconv.ParseFloat(c, 64)
		return f, nil
	case TypeDate:
		if isDigits(s) {
			ms, err := strconv.ParseInt(s, 10, 64)
			if err != nil || ms < minEpochMillis || ms > maxEpochMillis {
				return fail("epoch milliseconds out of range")
			}
			if ms%(24*3600*1000) != 0 {
				return fail("epoch milliseconds not at midnight UTC")
			}
			return time.UnixMilli(ms).UTC(), nil
		}
		d, err := time.Parse(hsDateLayout, s)
		if err != nil {
			return fail("not YYYY-MM-DD or epoch milliseconds")
		}
		if _, err := checkYear(d); err != nil {
			return fail(err.Error())
		}
		return d, nil
	case TypeDateTime:
		if isDigits(s) {
			ms, err := strconv.ParseInt(s, 10, 64)
			if err != nil || ms < minEpochMillis || ms > maxEpochMillis {
				return fail("epoch milliseconds out of range")
			}
			return time.UnixMilli(ms).UTC(), nil
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fail("not ISO 8601 or epoch milliseconds")
		}
		if _, err := checkYear(tm); err != nil {
			return fail(err.Error())
		}
		return tm.UTC(), nil
	}
	return fail("unknown field type")
}

// NormalizeHubSpot returns the canonical HubSpot form of s (as ToHubSpot writes it), so values
// read back from HubSpot in either accepted form compare equal to what the engine sent.
func NormalizeHubSpot(field string, t FieldType, s string) (string, error) {
	v, err := FromHubSpot(field, t, s)
	if err != nil {
		return "", err
	}
	return ToHubSpot(field, t, v)
}

// minEpochMillis and maxEpochMillis keep times inside years 1000 to 9999: RFC 3339 prints no later
// year, and an earlier one is bad data (and keeps clear of Go's zero time, which means "unset").
const (
	minEpochMillis = -30610224000000
	maxEpochMillis = 253402300799999
)

// isDigits reports whether s is an optionally negative run of decimal digits (epoch milliseconds).
func isDigits(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func numberOf(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		// Through its decimal form, so float32(0.1) is 0.1 and not 0.10000000149011612.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
		return f, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	}
	return 0, false
}

func parseNumber(s string) (float64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("blank")
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("not a decimal number")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a finite number")
	}
	// ParseFloat accepts hex floats and "Inf"; HubSpot does not.
	if strings.ContainsAny(t, "xXpP_") {
		return 0, fmt.Errorf("not a decimal number")
	}
	return f, nil
}

// formatNumber writes f in plain decimal (no exponent), rounded to numberDigits significant digits,
// with no trailing zeros: 52.0 -> "52", 0.1+0.2 -> "0.3", 1e21 -> "1000000000000000000000".
func formatNumber(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("not a finite number")
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', numberDigits, 64), 64)
	if r == 0 {
		return "0", nil // also turns -0 into 0
	}
	return strconv.FormatFloat(r, 'f', -1, 64), nil
}

// lmsTime reads an LMS date or datetime value.
func lmsTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			return time.Time{}, fmt.Errorf("zero time")
		}
		return checkYear(x)
	case string:
		s := strings.TrimSpace(x)
		if d, err := time.Parse(hsDateLayout, s); err == nil {
			return checkYear(d)
		}
		if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return checkYear(tm)
		}
		f, err := parseNumber(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("not YYYY-MM-DD, RFC 3339 or Unix seconds")
		}
		return unixSeconds(f)
	}
	if f, ok := numberOf(v); ok {
		return unixSeconds(f)
	}
	return time.Time{}, fmt.Errorf("not a time")
}

func unixSeconds(f float64) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < minEpochMillis/1000 || f > maxEpochMillis/1000 {
		return time.Time{}, fmt.Errorf("seconds since the Unix epoch out of range")
	}
	sec, frac := math.Modf(f)
	// Milliseconds are all HubSpot keeps; rounding here avoids 0.083278 s becoming 83.277999 ms.
	ms := int64(math.Round(frac * 1000))
	return time.Unix(int64(sec), 0).Add(time.Duration(ms) * time.Millisecond).UTC(), nil
}

func checkYear(t time.Time) (time.Time, error) {
	if y := t.UTC().Year(); y < 1000 || y > 9999 {
		return time.Time{}, fmt.Errorf("year out of range")
	}
	return t, nil
}
