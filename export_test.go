package hubsync

import "context"

// RunJanitor runs e's janitor until ctx ends, as Run does, for the tests of package hubsync_test.
func RunJanitor(ctx context.Context, e *Engine) { e.janitor(ctx) }
