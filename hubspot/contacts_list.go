package hubspot

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ListOptions selects what [Client.ListContacts] returns.
type ListOptions struct {
	Properties []string // properties to return; HubSpot ignores unknown names
	PageSize   int      // 1 to 100; 0 means 100
	Archived   bool     // list archived contacts instead of live ones
}

type listAnswer struct {
	Results []wireObject `json:"results"`
	Paging  *struct {
		Next *struct {
			After string `json:"after"`
		} `json:"next"`
	} `json:"paging"`
}

func (l listAnswer) next() string {
	if l.Paging == nil || l.Paging.Next == nil {
		return ""
	}
	return l.Paging.Next.After
}

// ListContacts returns every contact, page by page (the cursor is opaque). The iteration stops at
// the first error, which it yields with a zero Contact: ErrInvalidInput for a bad page size, or
// any call error.
//
// Docs: https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/guide
// (GET /crm/objects/2026-03/contacts?limit=&after=&properties=).
func (c *Client) ListContacts(ctx context.Context, opt ListOptions) iter.Seq2[Contact, error] {
	return func(yield func(Contact, error) bool) {
		after := ""
		for {
			page, next, err := c.ListContactsPage(ctx, opt, after)
			if err != nil {
				yield(Contact{}, err)
				return
			}
			for _, ct := range page {
				if !yield(ct, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			after = next
		}
	}
}

// ListContactsPage returns one page of contacts starting at the opaque cursor after ("" for the
// first page) and the cursor of the next page ("" after the last). It is ListContacts for callers
// that checkpoint their position, such as a resumable backfill. It returns ErrInvalidInput for a
// bad page size, and the errors of the call.
//
// Docs: https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/guide
// (GET /crm/objects/2026-03/contacts?limit=&after=&properties=).
func (c *Client) ListContactsPage(ctx context.Context, opt ListOptions, after string) ([]Contact, string, error) {
	size := opt.PageSize
	if size == 0 {
		size = 100
	}
	if size < 1 || size > 100 {
		return nil, "", fmt.Errorf("%w: page size %d, want 1 to 100", ErrInvalidInput, opt.PageSize)
	}
	q := url.Values{"limit": {strconv.Itoa(size)}, "archived": {strconv.FormatBool(opt.Archived)}}
	if len(opt.Properties) > 0 {
		q.Set("properties", strings.Join(opt.Properties, ","))
	}
	if after != "" {
		q.Set("after", after)
	}
	var page listAnswer
	if _, err := c.doer().do(ctx, request{method: http.MethodGet, path: c.contactsPath(), query: q}, &page); err != nil {
		return nil, "", err
	}
	out := make([]Contact, 0, len(page.Results))
	for _, r := range page.Results {
		out = append(out, r.contact())
	}
	next := page.next()
	if next == after {
		next = ""
	}
	return out, next, nil
}
