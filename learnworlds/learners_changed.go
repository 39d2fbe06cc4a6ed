package learnworlds

import (
	"context"
	"time"

	"github.com/hubsync/hubsync"
)

var _ hubsync.ChangedLearners = (*Learners)(nil)

// ChangedSince yields the school's learners who registered at or after since: the engine's LMS
// catch-up after the host's change reports stopped (hubsync.ChangedLearners).
//
// That is all the public API lets it see. GET /v2/users filters on registration time
// (registration_after) but has no filter on, nor field for, a profile's last change: a user
// carries created and last_login, not an updated time (see the LearnWorlds contract notes and
// the users operation of the OpenAPI document). A profile edit of an existing learner made while
// the reports were down is therefore not found here; only LearnWorlds's userUpdated webhook, or
// a manual sync, brings it. Errors are ListPage's; the first ends the iteration.
func (l *Learners) ChangedSince(ctx context.Context, id hubsync.SchoolID, since time.Time) func(yield func(hubsync.Learner, error) bool) {
	return func(yield func(hubsync.Learner, error) bool) {
		s, err := l.school(id)
		if err != nil {
			yield(hubsync.Learner{}, engineError(err))
			return
		}
		// registration_after is in Unix seconds; one second earlier, so that a learner of the
		// very second since is kept (whether the filter is strict is undocumented).
		after := float64(since.Unix() - 1)
		for u, err := range s.Client.Users(ctx, ListUsersOptions{RegistrationAfter: after, Prefetch: -1}) {
			if err != nil {
				yield(hubsync.Learner{}, engineError(err))
				return
			}
			ln, err := s.learner(ctx, u)
			if err != nil {
				yield(hubsync.Learner{}, engineError(err))
				return
			}
			if !yield(ln, nil) {
				return
			}
		}
	}
}
