package hubspot

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"time"
)

// SearchCap is the most results HubSpot returns for one search query; paging past it fails.
const SearchCap = 10000

// searchPageSize is the largest search page HubSpot serves.
const searchPageSize = 200

type searchFilter struct {
	PropertyName string `json:"propertyName"`
	Operator     string `json:"operator"`
	Value        string `json:"value"`
}

type searchSort struct {
	PropertyName string `json:"propertyName"`
	Direction    string `json:"direction"`
}

type searchBody struct {
	FilterGroups []map[string][]searchFilter `json:"filterGroups"`
	// Sorts uses the object form HubSpot documents and honours. The OpenAPI document types it as
	// string[], but a string is not parsed as a sort rule (HubSpot/hubspot-api-nodejs#14, #559).
	Sorts      []searchSort `json:"sorts"`
	Properties []string     `json:"properties"`
	Limit      int          `json:"limit"`
	After      string       `json:"after"`
}

// SearchModifiedSince returns every contact whose lastmodifieddate is at or after since, oldest
// change first, through the CRM search endpoint (its own 5 requests/s lane). It walks past the
// 10,000-result cap of one query by starting a new query from the last modification time seen,
// skipping the contacts already returned at that instant. Search indexing lags writes by a few
// moments, so callers keep a small overlap between runs.
//
// The iteration stops at the first error, which it yields with a zero Contact: the errors of any
// call, or an error when more than 10,000 contacts share one modification millisecond (the cap
// cannot then be walked past).
//
// Docs: https://developers.hubspot.com/docs/api-reference/legacy/crm/search-the-crm
// (POST /crm/objects/2026-03/contacts/search).
func (c *Client) SearchModifiedSince(ctx context.Context, since time.Time, properties []string) iter.Seq2[Contact, error] {
	return func(yield func(Contact, error) bool) {
		props := withProps(properties, "email", "lastmodifieddate")
		bound := since
		skip := map[string]bool{} // ids already yielded at exactly bound
		for {
			after := "0"
			var last time.Time
			atLast := map[string]bool{}
			restart := false
			for {
				body := searchBody{
					FilterGroups: []map[string][]searchFilter{{"filters": {{
						PropertyName: "lastmodifieddate", Operator: "GTE", Value: strconv.FormatInt(bound.UnixMilli(), 10),
					}}}},
					Sorts:      []searchSort{{PropertyName: "lastmodifieddate", Direction: "ASCENDING"}},
					Properties: props,
					Limit:      searchPageSize,
					After:      after,
				}
				var page listAnswer
				if _, err := c.doer().do(ctx, request{method: http.MethodPost, path: c.contactsPath() + "/search", body: body, search: true}, &page); err != nil {
					yield(Contact{}, err)
					return
				}
				for _, r := range page.Results {
					ct := r.contact()
					ts, ok := parseHubSpotTime(ct.Properties["lastmodifieddate"])
					if !ok {
						ts = ct.UpdatedAt
					}
					if ts.Equal(bound) && skip[ct.ID] {
						continue
					}
					if !ts.Equal(last) {
						last, atLast = ts, map[string]bool{}
					}
					atLast[ct.ID] = true
					if !yield(ct, nil) {
						return
					}
				}
				next := page.next()
				if next == "" {
					return
				}
				n, err := strconv.Atoi(next)
				if err != nil || n+searchPageSize > c.cfg.searchCap {
					// The next page would cross the cap (or the cursor is not the documented
					// offset): start a new query from the last modification time seen.
					restart = true
					break
				}
				after = next
			}
			if !restart {
				return
			}
			if !last.After(bound) {
				yield(Contact{}, fmt.Errorf("hubspot: more than %d contacts modified at %s; search cannot page past them", c.cfg.searchCap, bound.UTC().Format(time.RFC3339Nano)))
				return
			}
			bound, skip = last, atLast
		}
	}
}

// parseHubSpotTime reads a date or datetime property value: ISO 8601 (with or without fractional
// seconds), a bare date, or epoch milliseconds, all of which HubSpot sends.
func parseHubSpotTime(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
