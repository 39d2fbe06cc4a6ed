package hubspot

import (
	"context"
	"sync/atomic"
)

// requestCountKey is the context key of WithRequestCount.
type requestCountKey struct{}

// WithRequestCount returns a context under which every HTTP request a Client (or its OAuth token
// refresh) sends adds one to n: each attempt counts, retries and refreshes included, so n is what
// the work cost against the portal's budgets. The engine uses it to report what a catch-up spent.
func WithRequestCount(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, requestCountKey{}, n)
}

// countRequest adds one to the counter of ctx, if it has one.
func countRequest(ctx context.Context) {
	if n, ok := ctx.Value(requestCountKey{}).(*atomic.Int64); ok && n != nil {
		n.Add(1)
	}
}
