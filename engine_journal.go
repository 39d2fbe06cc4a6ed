package hubsync

import "context"

// catchUpJournal catches a school up from HubSpot's Webhooks Journal (see docs/catchup.md).
// done is false, with a note saying why, when the journal cannot serve the interval and the
// caller should search instead.
func (e *Engine) catchUpJournal(ctx context.Context, school SchoolID, r *inRun, rep *CatchUpReport) (done bool, note string, err error) {
	return false, "journal not set up", nil
}
