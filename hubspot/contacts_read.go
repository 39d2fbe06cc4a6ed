package hubspot

import (
	"context"
	"fmt"
	"net/http"
)

// BatchReadByID reads up to [BatchLimit] contacts by record id and returns them keyed by id. Ids
// with no contact (deleted, or merged away) are absent from the map. properties lists what to
// return; email is always added. It returns ErrInvalidInput for too many ids, and the errors of any
// call.
//
// Docs: https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/guide
// (POST /crm/objects/2026-03/contacts/batch/read, record ids as inputs).
func (c *Client) BatchReadByID(ctx context.Context, ids []string, properties []string) (map[string]Contact, error) {
	if len(ids) > BatchLimit {
		return nil, fmt.Errorf("%w: %d ids to read, at most %d per batch", ErrInvalidInput, len(ids), BatchLimit)
	}
	seen := map[string]bool{}
	var inputs []map[string]string
	for _, id := range ids {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		inputs = append(inputs, map[string]string{"id": id})
	}
	out := map[string]Contact{}
	if len(inputs) == 0 {
		return out, nil
	}
	body := map[string]any{
		"inputs":                inputs,
		"properties":            withProps(properties, "email"),
		"propertiesWithHistory": []string{},
	}
	var ans batchAnswer
	if _, err := c.doer().do(ctx, request{method: http.MethodPost, path: c.contactsPath() + "/batch/read", body: body}, &ans); err != nil {
		return nil, err
	}
	for _, r := range ans.Results {
		ct := r.contact()
		if seen[ct.ID] {
			out[ct.ID] = ct
		}
	}
	return out, nil
}
