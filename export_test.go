package hubsync

import (
	"context"
	"fmt"
	"time"
)

// RunJanitor runs e's janitor until ctx ends, as Run does, for the tests of package hubsync_test.
func RunJanitor(ctx context.Context, e *Engine) { e.janitor(ctx) }

// JudgeSummary is judge's verdict on err, in words, for the external test that feeds it the errors
// the real clients return (package hubsync cannot import learnworlds).
func JudgeSummary(err error) string {
	v := judge(err, failureInput{now: time.Unix(0, 0), maxBackoff: time.Minute})
	out := v.act.String()
	switch {
	case v.recheck:
		out += " recheck"
	case v.deactivate:
		out += " deactivate"
	}
	if !v.pauseUntil.IsZero() {
		scope := "lane"
		if v.whole {
			scope = "school"
		}
		out += fmt.Sprintf(" pause-%s %v", scope, v.pauseUntil.Sub(time.Unix(0, 0)))
	}
	return out
}
