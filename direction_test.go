package hubsync

import (
	"errors"
	"testing"
)

func TestEffectiveDirection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode SyncMode
		row  Direction
		want Direction
	}{
		{"", "", DirectionToHubSpot},
		{"", DirectionToLMS, DirectionToHubSpot},
		{ModeToHubSpot, DirectionBoth, DirectionToHubSpot},
		{ModeToLMS, "", DirectionToLMS},
		{ModeToLMS, DirectionToHubSpot, DirectionToLMS},
		{ModeTwoWay, "", DirectionBoth},
		{ModeTwoWay, DirectionToHubSpot, DirectionToHubSpot},
		{ModeTwoWay, DirectionToLMS, DirectionToLMS},
		{ModeTwoWay, DirectionBoth, DirectionBoth},
	}
	for _, tt := range tests {
		if got := EffectiveDirection(tt.mode, tt.row); got != tt.want {
			t.Errorf("EffectiveDirection(%q, %q) = %q, want %q", tt.mode, tt.row, got, tt.want)
		}
	}
	if !DirectionBoth.ToHubSpot() || !DirectionBoth.ToLMS() || DirectionToLMS.ToHubSpot() || DirectionToHubSpot.ToLMS() {
		t.Error("ToHubSpot/ToLMS wrong")
	}
}

func TestModeAndDirectionValidate(t *testing.T) {
	t.Parallel()
	for _, m := range append(SyncModes(), "") {
		if err := m.Validate(); err != nil {
			t.Errorf("%q: %v", m, err)
		}
	}
	if err := SyncMode("both").Validate(); !errors.Is(err, ErrInvalidSettings) {
		t.Errorf("bad mode: %v", err)
	}
	for _, d := range append(Directions(), "") {
		if err := d.Validate(); err != nil {
			t.Errorf("%q: %v", d, err)
		}
	}
	if err := Direction("sideways").Validate(); !errors.Is(err, ErrInvalidSettings) {
		t.Errorf("bad direction: %v", err)
	}
	if SyncMode("").OrDefault() != ModeToHubSpot {
		t.Error("default mode")
	}
	for _, ft := range FieldTypes() {
		if ft.Validate() != nil {
			t.Errorf("%q invalid", ft)
		}
	}
	if FieldType("bool").Validate() == nil {
		t.Error("bool validated as a field type")
	}
}
