package hubspot

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// PropertyOption is one allowed value of an enumeration property (lifecycle stages among them).
// Write Value, never Label.
type PropertyOption struct {
	Label        string `json:"label"`
	Value        string `json:"value"`
	Hidden       bool   `json:"hidden"`
	DisplayOrder int    `json:"displayOrder"`
}

// Property describes one contact property: what type its values have and whether an app may write it.
type Property struct {
	Name           string           // internal name, used in properties maps
	Label          string           // what HubSpot users see
	Type           string           // string, number, date, datetime, enumeration, bool (and read-only internal types)
	FieldType      string           // text, textarea, number, date, select, booleancheckbox, calculation_equation...
	GroupName      string           // the property group
	ReadOnlyValue  bool             // true: HubSpot refuses writes to it
	Calculated     bool             // a calculated property, never writable
	Archived       bool             // archived properties refuse writes like missing ones
	HasUniqueValue bool             // a unique identifier property
	HubSpotDefined bool             // defined by HubSpot rather than by a user
	Options        []PropertyOption // for enumerations, in display order
}

// Writable reports whether an app may write the property's value.
func (p Property) Writable() bool { return !p.ReadOnlyValue && !p.Calculated && !p.Archived }

type propertyWire struct {
	Name                 string           `json:"name"`
	Label                string           `json:"label"`
	Type                 string           `json:"type"`
	FieldType            string           `json:"fieldType"`
	GroupName            string           `json:"groupName"`
	Calculated           bool             `json:"calculated"`
	Archived             bool             `json:"archived"`
	HasUniqueValue       bool             `json:"hasUniqueValue"`
	HubSpotDefined       bool             `json:"hubspotDefined"`
	Options              []PropertyOption `json:"options"`
	ModificationMetadata *struct {
		ReadOnlyValue bool `json:"readOnlyValue"`
	} `json:"modificationMetadata"`
}

// ListProperties returns the contact property definitions: live ones, or (archived true) only the
// archived ones, as HubSpot's archived flag means. It returns the errors of any call.
//
// Docs: https://developers.hubspot.com/docs/api-reference/legacy/crm/properties/guide
// (GET /crm/properties/2026-03/contacts or /crm/v3/properties/contacts).
func (c *Client) ListProperties(ctx context.Context, archived bool) ([]Property, error) {
	var ans struct {
		Results []propertyWire `json:"results"`
	}
	q := url.Values{"archived": {strconv.FormatBool(archived)}}
	if _, err := c.doer().do(ctx, request{method: http.MethodGet, path: c.propertiesPath(), query: q}, &ans); err != nil {
		return nil, err
	}
	out := make([]Property, 0, len(ans.Results))
	for _, w := range ans.Results {
		p := Property{
			Name: w.Name, Label: w.Label, Type: w.Type, FieldType: w.FieldType, GroupName: w.GroupName,
			Calculated: w.Calculated, Archived: w.Archived, HasUniqueValue: w.HasUniqueValue,
			HubSpotDefined: w.HubSpotDefined, Options: w.Options,
		}
		if w.ModificationMetadata != nil {
			p.ReadOnlyValue = w.ModificationMetadata.ReadOnlyValue
		}
		out = append(out, p)
	}
	return out, nil
}
