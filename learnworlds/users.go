package learnworlds

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// MaxUsersPerPage is the largest users page the API serves (items_per_page).
const MaxUsersPerPage = 200

// Meta is the paging block of a list answer.
type Meta struct {
	Page       int `json:"page"`
	TotalItems int `json:"totalItems"`
	TotalPages int `json:"totalPages"`
	// ItemsPerPage is the page size the API used.
	ItemsPerPage int `json:"itemsPerPage"`
}

// UsersPage is one page of GET /v2/users.
type UsersPage struct {
	Users []User `json:"data"`
	Meta  Meta   `json:"meta"`
}

// ListUsersOptions filters a user listing. Zero fields do not filter.
type ListUsersOptions struct {
	// PerPage is items_per_page; 0 means MaxUsersPerPage (200), the fewest calls.
	PerPage int
	// RegistrationAfter and RegistrationBefore filter on sign-up time, in Unix seconds.
	RegistrationAfter, RegistrationBefore float64
	// Tags keeps users having these tags (sent comma-separated).
	Tags []string
	// IncludeSuspended lists suspended users too.
	IncludeSuspended bool
	// Prefetch is how many pages Users requests ahead; 0 means DefaultPrefetch, negative none.
	Prefetch int
}

func (o ListUsersOptions) query(page int) (url.Values, error) {
	if o.PerPage < 0 || o.PerPage > MaxUsersPerPage {
		return nil, fmt.Errorf("learnworlds: PerPage %d is out of range 1..%d", o.PerPage, MaxUsersPerPage)
	}
	if page < 1 {
		return nil, fmt.Errorf("learnworlds: page %d is out of range (pages start at 1)", page)
	}
	per := o.PerPage
	if per == 0 {
		per = MaxUsersPerPage
	}
	q := url.Values{"page": {strconv.Itoa(page)}, "items_per_page": {strconv.Itoa(per)}}
	if o.RegistrationAfter > 0 {
		q.Set("registration_after", strconv.FormatFloat(o.RegistrationAfter, 'f', -1, 64))
	}
	if o.RegistrationBefore > 0 {
		q.Set("registration_before", strconv.FormatFloat(o.RegistrationBefore, 'f', -1, 64))
	}
	if len(o.Tags) > 0 {
		q.Set("tags", strings.Join(o.Tags, ","))
	}
	if o.IncludeSuspended {
		q.Set("include_suspended", "true")
	}
	return q, nil
}

// ListUsersPage returns one page (from 1) of the school's users, newest first. The API answers a
// page past the end with the last page again, so callers stop at Meta.TotalPages (Users does).
// Errors: *APIError, or an error naming a bad page or PerPage.
//
// API: GET /v2/users (operationId get-users), reference at https://www.learnworlds.dev/docs/api
func (c *Client) ListUsersPage(ctx context.Context, page int, opts ListUsersOptions) (UsersPage, error) {
	q, err := opts.query(page)
	if err != nil {
		return UsersPage{}, err
	}
	var out UsersPage
	err = c.do(ctx, call{method: http.MethodGet, path: "/v2/users", query: q, idempotent: true}, &out)
	return out, err
}

// DefaultPrefetch is how many pages Users requests ahead of the one being consumed.
const DefaultPrefetch = 3

// Users iterates over every user of the school, 200 a page, stopping at meta.totalPages of the
// first page (never on an empty or repeated page: the API answers a page past the end with the last
// page again). After the first page, up to opts.Prefetch further pages are requested ahead, so that
// response time does not eat into the rate limit; users are still yielded in page order. Users who
// register during the listing shift later pages (the list is newest first), so a user may be
// yielded twice, never missed. The first error ends the iteration, yielded with a zero User.
//
// API: GET /v2/users (operationId get-users), reference at https://www.learnworlds.dev/docs/api
func (c *Client) Users(ctx context.Context, opts ListUsersOptions) iter.Seq2[User, error] {
	return func(yield func(User, error) bool) {
		first, err := c.ListUsersPage(ctx, 1, opts)
		if err != nil {
			yield(User{}, err)
			return
		}
		for _, u := range first.Users {
			if !yield(u, nil) {
				return
			}
		}
		total := first.Meta.TotalPages
		if total <= 1 || len(first.Users) == 0 {
			return
		}
		ahead := opts.Prefetch
		if ahead == 0 {
			ahead = DefaultPrefetch
		}
		ahead = max(ahead, 0)
		type result struct {
			page UsersPage
			err  error
		}
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()
		// Each queued channel is one page's future; the queue's capacity bounds the pages in flight.
		queue := make(chan chan result, ahead)
		wg.Go(func() {
			defer close(queue)
			for page := 2; page <= total; page++ {
				f := make(chan result, 1)
				select {
				case queue <- f:
				case <-ctx.Done():
					return
				}
				wg.Go(func() {
					p, err := c.ListUsersPage(ctx, page, opts)
					f <- result{p, err}
				})
			}
		})
		for f := range queue {
			r := <-f
			if r.err != nil {
				yield(User{}, r.err)
				return
			}
			for _, u := range r.page.Users {
				if !yield(u, nil) {
					return
				}
			}
		}
	}
}

// GetUser returns the user with this id or email (sent URL-encoded). Errors: an *APIError matching
// hubsync.ErrNotFound when there is none; other *APIError; an error when idOrEmail is empty.
//
// API: GET /v2/users/{id} (operationId get-users-id), reference at https://www.learnworlds.dev/docs/api
func (c *Client) GetUser(ctx context.Context, idOrEmail string) (User, error) {
	if strings.TrimSpace(idOrEmail) == "" {
		return User{}, fmt.Errorf("learnworlds: GetUser: id or email is empty")
	}
	var u User
	err := c.do(ctx, call{method: http.MethodGet, path: "/v2/users/" + pathEscape(idOrEmail), idempotent: true}, &u)
	return u, err
}

// CreateUserRequest is a user to create.
type CreateUserRequest struct {
	Email    string `json:"email"`
	Username string `json:"username"`
	// Password is optional; without it the user sets one through the registration email.
	Password string `json:"password,omitempty"`
	// SendRegistrationEmail is always sent, so a silent sync (false) is explicit.
	SendRegistrationEmail  bool  `json:"send_registration_email"`
	SubscribedForMarketing *bool `json:"subscribed_for_marketing_emails,omitempty"`
	// Tags are attached at creation.
	Tags []string `json:"tags,omitempty"`
	// Fields holds sign-up fields and custom fields by key ("phone", "cf_skill").
	Fields map[string]any `json:"fields,omitempty"`
}

// CreateUser creates a user and returns it as stored. Errors: an error naming a missing email or
// username; an *APIError matching hubsync.ErrConflict when the email or username is taken (how the
// real API signals that is undocumented: 409 and a 422 naming the field are both recognised) or
// ErrValidation with per-field messages. A create is repeated after a 429 only, never after a 5xx,
// which may have created the user.
//
// API: POST /v2/users (operationId post-users), reference at https://www.learnworlds.dev/docs/api
func (c *Client) CreateUser(ctx context.Context, r CreateUserRequest) (User, error) {
	if strings.TrimSpace(r.Email) == "" {
		return User{}, fmt.Errorf("learnworlds: CreateUser: email is empty")
	}
	if strings.TrimSpace(r.Username) == "" {
		return User{}, fmt.Errorf("learnworlds: CreateUser: username is empty")
	}
	var u User
	err := c.do(ctx, call{method: http.MethodPost, path: "/v2/users", body: r}, &u)
	return u, err
}

// UpdateUserRequest holds what UpdateUser may change: email, username and fields (sign-up and cf_
// custom fields). Password, role and enrollments are deliberately absent. Nil and empty members are
// not sent.
type UpdateUserRequest struct {
	Email    *string        `json:"email,omitempty"`
	Username *string        `json:"username,omitempty"`
	Fields   map[string]any `json:"fields,omitempty"`
}

// UpdateUser changes a user and returns it as stored. Whether the API merges or replaces "fields"
// is undocumented: send the user's full fields map with the change applied, unless you know (the
// Learners adapter finds out from the answers: see Learners.Update). Errors: an error when id or the request is empty; *APIError (hubsync.ErrNotFound,
// ErrValidation, hubsync.ErrConflict).
//
// API: PUT /v2/users/{id} (operationId put-users-id), reference at https://www.learnworlds.dev/docs/api
func (c *Client) UpdateUser(ctx context.Context, id string, r UpdateUserRequest) (User, error) {
	if strings.TrimSpace(id) == "" {
		return User{}, fmt.Errorf("learnworlds: UpdateUser: id is empty")
	}
	if r.Email == nil && r.Username == nil && len(r.Fields) == 0 {
		return User{}, fmt.Errorf("learnworlds: UpdateUser: nothing to update")
	}
	var u User
	err := c.do(ctx, call{method: http.MethodPut, path: "/v2/users/" + pathEscape(id), body: r, idempotent: true}, &u)
	return u, err
}

// TagAction says whether UpdateTags attaches or detaches.
type TagAction string

// The tag actions.
const (
	TagAttach TagAction = "attach"
	TagDetach TagAction = "detach"
)

// UpdateTags attaches or detaches tags and returns the user as stored. Errors: an error for an
// empty id, no tags, or an unknown action; *APIError (hubsync.ErrNotFound...).
//
// API: PUT /v2/users/{id}/tags (operationId put-users-id-tags), reference at https://www.learnworlds.dev/docs/api
func (c *Client) UpdateTags(ctx context.Context, id string, action TagAction, tags []string) (User, error) {
	if strings.TrimSpace(id) == "" {
		return User{}, fmt.Errorf("learnworlds: UpdateTags: id is empty")
	}
	if action != TagAttach && action != TagDetach {
		return User{}, fmt.Errorf("learnworlds: UpdateTags: action %q is neither attach nor detach", action)
	}
	if len(tags) == 0 {
		return User{}, fmt.Errorf("learnworlds: UpdateTags: no tags")
	}
	body := struct {
		Tags   []string  `json:"tags"`
		Action TagAction `json:"action"`
	}{tags, action}
	var u User
	err := c.do(ctx, call{method: http.MethodPut, path: "/v2/users/" + pathEscape(id) + "/tags", body: body, idempotent: true}, &u)
	return u, err
}
