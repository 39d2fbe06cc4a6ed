package hubspot

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// BatchReadByEmail reads up to [BatchLimit] contacts by email (primary or additional) and returns
// them keyed by the case-folded email asked for. Emails with no contact are absent from the map (HubSpot
// answers 207 for them). properties lists what to return; email and hs_additional_emails are
// always added. It returns ErrInvalidInput for too many emails, and the errors of any call.
//
// Docs: https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/guide
// (POST /crm/objects/2026-03/contacts/batch/read with idProperty=email).
func (c *Client) BatchReadByEmail(ctx context.Context, emails []string, properties []string) (map[string]Contact, error) {
	if len(emails) > BatchLimit {
		return nil, fmt.Errorf("%w: %d emails to read, at most %d per batch", ErrInvalidInput, len(emails), BatchLimit)
	}
	folded := make([]string, len(emails))
	for i, e := range emails {
		folded[i] = FoldEmail(e)
	}
	want, found, err := c.batchRead(ctx, "email", folded, withProps(properties, "email", "hs_additional_emails"))
	if err != nil {
		return nil, err
	}
	out := map[string]Contact{}
	for _, ct := range found {
		if e := ct.Email(); want[e] {
			out[e] = ct
		}
		for _, a := range strings.Split(ct.Properties["hs_additional_emails"], ";") {
			if f := FoldEmail(a); want[f] {
				out[f] = ct
			}
		}
	}
	return out, nil
}

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
	want, found, err := c.batchRead(ctx, "", ids, withProps(properties, "email"))
	if err != nil {
		return nil, err
	}
	out := map[string]Contact{}
	for _, ct := range found {
		if want[ct.ID] {
			out[ct.ID] = ct
		}
	}
	return out, nil
}

// batchRead is the body both batch reads share: it drops empty and repeated keys, sends the rest
// as the inputs of one batch/read (by idProperty, or by record id when idProperty is ""), and
// returns the keys it asked for and the contacts HubSpot answered with, in its order. No key left
// means no call.
func (c *Client) batchRead(ctx context.Context, idProperty string, keys []string, props []string) (map[string]bool, []Contact, error) {
	want := map[string]bool{}
	var inputs []map[string]string
	for _, k := range keys {
		if k == "" || want[k] {
			continue
		}
		want[k] = true
		inputs = append(inputs, map[string]string{"id": k})
	}
	if len(inputs) == 0 {
		return want, nil, nil
	}
	body := map[string]any{
		"inputs":                inputs,
		"properties":            props,
		"propertiesWithHistory": []string{},
	}
	if idProperty != "" {
		body["idProperty"] = idProperty
	}
	var ans batchAnswer
	if _, err := c.doer().do(ctx, request{method: http.MethodPost, path: c.contactsPath() + "/batch/read", body: body}, &ans); err != nil {
		return nil, nil, err
	}
	found := make([]Contact, 0, len(ans.Results))
	for _, r := range ans.Results {
		found = append(found, r.contact())
	}
	return want, found, nil
}
