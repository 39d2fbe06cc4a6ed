package hubsync

import "fmt"

// SyncMode is a school's sync direction setting.
type SyncMode string

// The three modes of the seed. The zero value "" means ModeToHubSpot, the default.
const (
	// ModeToHubSpot sends LMS changes to HubSpot (the default): the LMS is the source of truth.
	ModeToHubSpot SyncMode = "lms_to_hubspot"
	// ModeToLMS sends HubSpot contact changes to the LMS only, for mapped fields.
	ModeToLMS SyncMode = "hubspot_to_lms"
	// ModeTwoWay syncs both ways; each mapping row carries its own Direction.
	ModeTwoWay SyncMode = "two_way"
)

// SyncModes lists the valid modes, default first.
func SyncModes() []SyncMode { return []SyncMode{ModeToHubSpot, ModeToLMS, ModeTwoWay} }

// OrDefault returns m, or ModeToHubSpot when m is empty.
func (m SyncMode) OrDefault() SyncMode {
	if m == "" {
		return ModeToHubSpot
	}
	return m
}

// Validate reports an unknown mode. The empty mode is valid (it means the default).
func (m SyncMode) Validate() error {
	switch m {
	case "", ModeToHubSpot, ModeToLMS, ModeTwoWay:
		return nil
	}
	return fmt.Errorf("%w: unknown sync mode %q (want one of %q, %q, %q)", ErrInvalidSettings, string(m), ModeToHubSpot, ModeToLMS, ModeTwoWay)
}

// Direction is the way one mapping row syncs.
type Direction string

// Row directions. They matter only in ModeTwoWay; in a one-way mode the mode decides for every row.
// The zero value "" means DirectionBoth in two-way mode.
const (
	DirectionToHubSpot Direction = "to_hubspot"
	DirectionToLMS     Direction = "to_lms"
	DirectionBoth      Direction = "both"
)

// Directions lists the valid row directions.
func Directions() []Direction { return []Direction{DirectionToHubSpot, DirectionToLMS, DirectionBoth} }

// Validate reports an unknown direction. The empty direction is valid.
func (d Direction) Validate() error {
	switch d {
	case "", DirectionToHubSpot, DirectionToLMS, DirectionBoth:
		return nil
	}
	return fmt.Errorf("%w: unknown direction %q (want one of %q, %q, %q)", ErrInvalidSettings, string(d), DirectionToHubSpot, DirectionToLMS, DirectionBoth)
}

// ToHubSpot reports whether values flow from the LMS to HubSpot in direction d.
func (d Direction) ToHubSpot() bool { return d == DirectionToHubSpot || d == DirectionBoth }

// ToLMS reports whether values flow from HubSpot to the LMS in direction d.
func (d Direction) ToLMS() bool { return d == DirectionToLMS || d == DirectionBoth }

// EffectiveDirection is the seed's rule: only in two-way mode does a row's own direction count
// (empty meaning both ways); in a one-way mode the mode decides for every row.
func EffectiveDirection(mode SyncMode, row Direction) Direction {
	switch mode.OrDefault() {
	case ModeToLMS:
		return DirectionToLMS
	case ModeTwoWay:
		if row == "" {
			return DirectionBoth
		}
		return row
	default:
		return DirectionToHubSpot
	}
}
