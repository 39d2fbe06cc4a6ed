package hubsync

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestToHubSpot(t *testing.T) {
	t.Parallel()
	ts := time.Date(2020, 4, 23, 10, 53, 50, 83278000, time.UTC)
	tests := []struct {
		name string
		t    FieldType
		v    any
		want string
	}{
		{"nil clears", TypeString, nil, ""},
		{"empty string clears", TypeNumber, "", ""},
		{"string", TypeString, "Athens", "Athens"},
		{"bool as string", TypeString, true, "true"},
		{"number as string", TypeString, 52.0, "52"},
		{"integer float", TypeNumber, 52.0, "52"},
		{"float noise dropped", TypeNumber, 0.1 + 0.2, "0.3"},
		{"negative zero", TypeNumber, math.Copysign(0, -1), "0"},
		{"large, no exponent", TypeNumber, 1e21, "1000000000000000000000"},
		{"small, no exponent", TypeNumber, 0.00001, "0.00001"},
		{"int64", TypeNumber, int64(1234567), "1234567"},
		{"int", TypeNumber, 7, "7"},
		{"float32 via decimal", TypeNumber, float32(0.1), "0.1"},
		{"json.Number", TypeNumber, json.Number("3.50"), "3.5"},
		{"numeric string", TypeNumber, " 2019 ", "2019"},
		{"date from time", TypeDate, ts, "2020-04-23"},
		{"date from unix seconds", TypeDate, 1587639230.083278, "2020-04-23"},
		{"date from string", TypeDate, "1999-12-31", "1999-12-31"},
		{"date before 1970", TypeDate, "1960-02-29", "1960-02-29"},
		{"date from rfc3339 in another zone", TypeDate, "2020-04-23T23:30:00-02:00", "2020-04-24"},
		{"datetime from unix seconds", TypeDateTime, 1587639230.083278, "2020-04-23T10:53:50.083Z"},
		{"datetime from time", TypeDateTime, ts.In(time.FixedZone("X", 3600)), "2020-04-23T10:53:50.083Z"},
		{"datetime from integer seconds", TypeDateTime, int64(0), "1970-01-01T00:00:00.000Z"},
		{"datetime from seconds string", TypeDateTime, "1587639230", "2020-04-23T10:53:50.000Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ToHubSpot("f", tt.t, tt.v)
			if err != nil {
				t.Fatalf("ToHubSpot(%v, %#v) error: %v", tt.t, tt.v, err)
			}
			if got != tt.want {
				t.Errorf("ToHubSpot(%v, %#v) = %q, want %q", tt.t, tt.v, got, tt.want)
			}
		})
	}
}

func TestToHubSpotErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		t        FieldType
		v        any
		wantKind string
	}{
		{"bool to number", TypeNumber, true, "bool"},
		{"word to number", TypeNumber, "twelve", "string"},
		{"NaN", TypeNumber, math.NaN(), "float64"},
		{"Inf", TypeNumber, math.Inf(1), "float64"},
		{"hex float", TypeNumber, "0x1p3", "string"},
		{"map to string", TypeString, map[string]any{}, "map[string]interface {}"},
		{"word to date", TypeDate, "yesterday", "string"},
		{"bool to datetime", TypeDateTime, false, "bool"},
		{"zero time", TypeDateTime, time.Time{}, "time.Time"},
		{"seconds past year 9999", TypeDateTime, 1e15, "float64"},
		{"unknown type", FieldType("enumeration"), "a", "string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ToHubSpot("cf_age", tt.t, tt.v)
			var ce *ConversionError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want *ConversionError", err)
			}
			if !errors.Is(err, ErrInvalidValue) {
				t.Error("errors.Is(err, ErrInvalidValue) = false")
			}
			if ce.Field != "cf_age" || ce.Kind != tt.wantKind {
				t.Errorf("Field, Kind = %q, %q; want cf_age, %q", ce.Field, ce.Kind, tt.wantKind)
			}
			if !strings.Contains(err.Error(), `"cf_age"`) {
				t.Errorf("message %q does not name the field", err)
			}
		})
	}
}

func TestFromHubSpot(t *testing.T) {
	t.Parallel()
	may1 := time.Date(2015, 5, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		t    FieldType
		s    string
		want any
	}{
		{"empty is nil", TypeDate, "", nil},
		{"string", TypeString, "x;y", "x;y"},
		{"number", TypeNumber, "17", 17.0},
		{"number noise", TypeNumber, "0.30000000000000004", 0.3},
		{"date iso", TypeDate, "2015-05-01", may1},
		{"date epoch ms (documented example)", TypeDate, "1430438400000", may1},
		{"date before 1970 as epoch ms", TypeDate, "-86400000", time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"datetime iso", TypeDateTime, "2019-10-30T03:30:17.883Z", time.Date(2019, 10, 30, 3, 30, 17, 883000000, time.UTC)},
		{"datetime without fraction", TypeDateTime, "2019-10-30T03:30:17Z", time.Date(2019, 10, 30, 3, 30, 17, 0, time.UTC)},
		{"datetime with offset", TypeDateTime, "2019-10-30T05:30:17+02:00", time.Date(2019, 10, 30, 3, 30, 17, 0, time.UTC)},
		{"datetime epoch ms", TypeDateTime, "1572406217883", time.Date(2019, 10, 30, 3, 30, 17, 883000000, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := FromHubSpot("p", tt.t, tt.s)
			if err != nil {
				t.Fatalf("FromHubSpot(%v, %q) error: %v", tt.t, tt.s, err)
			}
			if gt, ok := got.(time.Time); ok {
				if wt, ok := tt.want.(time.Time); !ok || !gt.Equal(wt) || gt.Location() != time.UTC {
					t.Errorf("FromHubSpot(%v, %q) = %v, want %v (UTC)", tt.t, tt.s, got, tt.want)
				}
				return
			}
			if got != tt.want {
				t.Errorf("FromHubSpot(%v, %q) = %#v, want %#v", tt.t, tt.s, got, tt.want)
			}
		})
	}
}

func TestFromHubSpotErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		t    FieldType
		s    string
	}{
		{"malformed number", TypeNumber, "12abc"},
		{"number with comma", TypeNumber, "1,5"},
		{"date not at midnight", TypeDate, "1430438400001"},
		{"date wrong layout", TypeDate, "01/05/2015"},
		{"date year zero", TypeDate, "0000-01-01"},
		{"datetime garbage", TypeDateTime, "soon"},
		{"datetime epoch overflow", TypeDateTime, "99999999999999999999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := FromHubSpot("hs_prop", tt.t, tt.s)
			var ce *ConversionError
			if !errors.As(err, &ce) || ce.Field != "hs_prop" {
				t.Fatalf("error = %v, want *ConversionError for hs_prop", err)
			}
			if strings.Contains(err.Error(), tt.s) {
				t.Errorf("message %q repeats the value", err)
			}
		})
	}
}

func TestNormalizeHubSpotMakesBothFormsEqual(t *testing.T) {
	t.Parallel()
	a, err := NormalizeHubSpot("d", TypeDate, "1430438400000")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NormalizeHubSpot("d", TypeDate, "2015-05-01")
	if a != b || a != "2015-05-01" {
		t.Errorf("normalized %q and %q, want both 2015-05-01", a, b)
	}
	c, _ := NormalizeHubSpot("dt", TypeDateTime, "1572406217883")
	d, _ := NormalizeHubSpot("dt", TypeDateTime, "2019-10-30T05:30:17.883+02:00")
	if c != d {
		t.Errorf("normalized datetimes differ: %q vs %q", c, d)
	}
}

// FuzzFromHubSpot feeds arbitrary HubSpot strings: no panics, and whatever parses converts back to
// a canonical string that parses to the same canonical string again (a fixed point).
func FuzzFromHubSpot(f *testing.F) {
	for _, s := range []string{"", "17", "0.1", "-3.5e2", "1430438400000", "2015-05-01", "2019-10-30T03:30:17.883Z", "-86400000", "NaN", "0x10", "9999-12-31T23:59:59.999Z"} {
		for i := range FieldTypes() {
			f.Add(s, i)
		}
	}
	f.Fuzz(func(t *testing.T, s string, ti int) {
		types := FieldTypes()
		ft := types[((ti%len(types))+len(types))%len(types)]
		v, err := FromHubSpot("p", ft, s)
		if err != nil {
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("error %v does not wrap ErrInvalidValue", err)
			}
			return
		}
		c1, err := ToHubSpot("p", ft, v)
		if err != nil {
			t.Fatalf("FromHubSpot(%v, %q) = %#v, which ToHubSpot refuses: %v", ft, s, v, err)
		}
		c2, err := NormalizeHubSpot("p", ft, c1)
		if err != nil {
			t.Fatalf("canonical %q does not parse: %v", c1, err)
		}
		if c1 != c2 {
			t.Fatalf("not a fixed point: %q -> %q -> %q", s, c1, c2)
		}
	})
}

// FuzzToHubSpot feeds arbitrary LMS values (as strings and as floats): no panics, and every
// successful conversion parses back and converts to the same string.
func FuzzToHubSpot(f *testing.F) {
	f.Add("Athens", 1587639230.083278, 0)
	f.Add("2020-04-23", 0.1, 1)
	f.Add("1e300", -1e300, 2)
	f.Add("", math.SmallestNonzeroFloat64, 3)
	f.Fuzz(func(t *testing.T, s string, x float64, ti int) {
		types := FieldTypes()
		ft := types[((ti%len(types))+len(types))%len(types)]
		for _, v := range []any{s, x} {
			out, err := ToHubSpot("f", ft, v)
			if err != nil {
				if !errors.Is(err, ErrInvalidValue) {
					t.Fatalf("error %v does not wrap ErrInvalidValue", err)
				}
				continue
			}
			back, err := FromHubSpot("f", ft, out)
			if err != nil {
				t.Fatalf("ToHubSpot(%v, %#v) = %q, which FromHubSpot refuses: %v", ft, v, out, err)
			}
			again, err := ToHubSpot("f", ft, back)
			if err != nil || again != out {
				t.Fatalf("round trip of %#v: %q -> %#v -> %q (%v)", v, out, back, again, err)
			}
		}
	})
}
