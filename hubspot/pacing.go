package hubspot

import (
	"context"
	"net/http"

	"github.com/hubsync/hubsync/internal/ratelimit"
)

// Pacing. Each lane (the portal's burst limit, and search) is a ratelimit.Window: a request holds
// one of the lane's n slots from before it is sent until per (plus a small skew allowance) after
// its answer arrived, since HubSpot counted it somewhere in between. So HubSpot's rolling window
// never holds more than n of the client's requests, however the network delays them, while a
// backlogged client sends n in every per plus one answer time. Beyond a burst of two, requests
// are also spaced per/n apart, so a client with little work per request fills its batches
// instead of spending the window in an instant; callers waiting for a slot are served in the
// order they came. A fresh client (and one coming
// out of a 429 pause) sends one request first and takes the X-HubSpot-RateLimit-Remaining of its
// answer as what others (this app in another process, or before a restart) left of the window.

// acquire waits for a slot of lim, or returns nil, nil when the request is not limited.
func acquire(ctx context.Context, lim *ratelimit.Window) (*ratelimit.Slot, error) {
	if lim == nil {
		return nil, nil
	}
	return lim.Acquire(ctx)
}

// answered tells the slot its request's answer arrived (resp) or its transport failed (resp nil),
// after adopting the limit the answer's headers announce. HubSpot documents
// X-HubSpot-RateLimit-Remaining as the requests still allowed in the current window; it is -1
// (unknown) for search, whose answers carry no rate headers, and when the header is missing.
func (d *doer) answered(slot *ratelimit.Slot, resp *http.Response, search bool) {
	remaining := -1
	if resp != nil && !search {
		d.observeLimits(resp.Header)
		if s, ok := rateHeaders(resp.Header); ok {
			remaining = s.Remaining
		}
	}
	if slot != nil {
		slot.Done(remaining)
	}
}
