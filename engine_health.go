package hubsync

import (
	"context"
	"encoding/base64"
	"fmt"
	"iter"
	"strings"
)

// Sync health lists (health.go has the records and the rule): per school, the learners in sync,
// excluded (and why) and failing (with the last reason), paged by an opaque cursor.
//
// Where the data comes from, and what it costs: every batch's sync log goes through HealthOf into
// Store.PutSyncHealth in the same transaction as the log, which keeps one row per learner and
// direction that is not in sync and deletes it when the learner syncs again. A school whose
// learners are all in sync keeps no row; an excluded or failing learner costs one (its email,
// status, reason code or sentence, time). The in-sync list walks the sync states the engine
// already keeps, by email, leaving out the learners with a row. Pages read only their own rows,
// so a page costs the same for 1,000 learners as for 1,000,000. The queue's dead letters are
// counted in the summary (Engine.DeadLetters lists them).

// HealthQuery asks for one page of a school's sync health.
type HealthQuery struct {
	// Status is the list: HealthInSync, HealthExcluded or HealthFailing. Required.
	Status HealthStatus
	// Direction, for the excluded and failing lists, keeps one direction ("" both).
	Direction Direction
	// Cursor is the previous page's Next ("" the first page).
	Cursor string
	// Limit is the page size (0: LogLimitDefault, at most 1,000).
	Limit int
}

// HealthPage is one page of a health list; Next is "" after the last page.
type HealthPage struct {
	Entries []HealthEntry `json:"entries"`
	Next    string        `json:"next,omitempty"`
}

// healthMaxLimit caps a page.
const healthMaxLimit = 1000

// SyncHealth returns one page of the school's health list q asks for. In-sync entries carry the
// sync state's time in At and no Direction. A bad status, direction, limit or cursor is
// ErrInvalidValue.
func (e *Engine) SyncHealth(ctx context.Context, school SchoolID, q HealthQuery) (HealthPage, error) {
	if err := q.Status.Validate(); err != nil {
		return HealthPage{}, err
	}
	if q.Limit < 0 || q.Limit > healthMaxLimit {
		return HealthPage{}, fmt.Errorf("%w: health page limit %d: want 0 to %d", ErrInvalidValue, q.Limit, healthMaxLimit)
	}
	if q.Limit == 0 {
		q.Limit = LogLimitDefault
	}
	cur, err := decodeHealthCursor(q.Cursor)
	if err != nil {
		return HealthPage{}, err
	}
	if q.Status == HealthInSync {
		return e.inSyncPage(ctx, school, cur[0], q.Limit)
	}
	got, err := e.cfg.Store.ListSyncHealth(ctx, school, HealthFilter{Status: q.Status, Direction: q.Direction,
		AfterEmail: cur[0], AfterLearner: cur[1], AfterDirection: Direction(cur[2]), Limit: q.Limit})
	if err != nil {
		return HealthPage{}, err
	}
	page := HealthPage{Entries: got}
	if len(got) == q.Limit {
		last := got[len(got)-1]
		page.Next = encodeHealthCursor(last.Email, last.LearnerID, string(last.Direction))
	}
	return page, nil
}

// inSyncPage merges the sync states after email with the health rows of the same emails, keeping
// the states that have none.
func (e *Engine) inSyncPage(ctx context.Context, school SchoolID, after string, limit int) (HealthPage, error) {
	var page HealthPage
	for len(page.Entries) < limit {
		states, err := e.cfg.Store.ListSyncStates(ctx, school, after, limit)
		if err != nil {
			return HealthPage{}, err
		}
		if len(states) == 0 {
			return page, nil
		}
		// The rows not in sync among these emails: from after to the last state's email.
		bad := map[string]bool{}
		last := states[len(states)-1].Email
		f := HealthFilter{AfterEmail: after, AfterLearner: "", Limit: healthMaxLimit}
		for {
			rows, err := e.cfg.Store.ListSyncHealth(ctx, school, f)
			if err != nil {
				return HealthPage{}, err
			}
			for _, h := range rows {
				bad[h.Email] = true
			}
			if len(rows) < f.Limit || rows[len(rows)-1].Email > last {
				break
			}
			r := rows[len(rows)-1]
			f.AfterEmail, f.AfterLearner, f.AfterDirection = r.Email, r.LearnerID, r.Direction
		}
		for _, st := range states {
			after = st.Email
			if bad[st.Email] {
				continue
			}
			page.Entries = append(page.Entries, HealthEntry{School: school, Email: st.Email, LearnerID: st.LearnerID,
				Status: HealthInSync, At: st.UpdatedAt})
			if len(page.Entries) == limit {
				page.Next = encodeHealthCursor(st.Email, "", "")
				return page, nil
			}
		}
		if len(states) < limit {
			return page, nil
		}
	}
	return page, nil
}

// SyncHealthAll walks a whole health list page by page (see SyncHealth), yielding each entry;
// an error is yielded once, last.
func (e *Engine) SyncHealthAll(ctx context.Context, school SchoolID, status HealthStatus, dir Direction) iter.Seq2[HealthEntry, error] {
	return func(yield func(HealthEntry, error) bool) {
		q := HealthQuery{Status: status, Direction: dir, Limit: healthMaxLimit}
		for {
			page, err := e.SyncHealth(ctx, school, q)
			if err != nil {
				yield(HealthEntry{}, err)
				return
			}
			for _, h := range page.Entries {
				if !yield(h, nil) {
					return
				}
			}
			if page.Next == "" {
				return
			}
			q.Cursor = page.Next
		}
	}
}

// HealthSummary counts a school's learners not in sync, for a settings screen.
type HealthSummary struct {
	// Excluded counts the excluded learners by reason, Failing the failing ones (a learner
	// excluded or failing in both directions counts twice).
	Excluded map[Exclusion]int `json:"excluded"`
	Failing  int               `json:"failing"`
	// Capped is true when there were more than HealthSummaryCap records: the counts stop there.
	Capped bool `json:"capped,omitempty"`
	// DeadJobs counts the school's dead-lettered jobs (see Engine.DeadLetters).
	DeadJobs int `json:"dead_jobs"`
	// FirstFailing holds the first failing learners by email (at most 5), for a screen to show.
	FirstFailing []HealthEntry `json:"first_failing,omitempty"`
}

// HealthSummaryCap is how many health records HealthSummary reads at most.
const HealthSummaryCap = 10_000

// SyncHealthSummary counts the school's excluded and failing learners (reading at most
// HealthSummaryCap records) and its dead jobs.
func (e *Engine) SyncHealthSummary(ctx context.Context, school SchoolID) (HealthSummary, error) {
	sum := HealthSummary{Excluded: map[Exclusion]int{}}
	f := HealthFilter{Limit: healthMaxLimit}
	for read := 0; ; {
		rows, err := e.cfg.Store.ListSyncHealth(ctx, school, f)
		if err != nil {
			return sum, err
		}
		for _, h := range rows {
			switch h.Status {
			case HealthExcluded:
				sum.Excluded[h.Exclusion]++
			case HealthFailing:
				sum.Failing++
				if len(sum.FirstFailing) < 5 {
					sum.FirstFailing = append(sum.FirstFailing, h)
				}
			}
		}
		read += len(rows)
		if len(rows) < f.Limit {
			break
		}
		if read >= HealthSummaryCap {
			sum.Capped = true
			break
		}
		r := rows[len(rows)-1]
		f.AfterEmail, f.AfterLearner, f.AfterDirection = r.Email, r.LearnerID, r.Direction
	}
	qs, err := e.cfg.Queue.Stats(ctx, school)
	if err != nil {
		return sum, err
	}
	sum.DeadJobs = qs.Dead
	return sum, nil
}

func encodeHealthCursor(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "\x00")))
}

func decodeHealthCursor(c string) ([3]string, error) {
	var out [3]string
	if c == "" {
		return out, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	parts := strings.Split(string(b), "\x00")
	if err != nil || len(parts) != 3 {
		return out, fmt.Errorf("%w: health cursor %q is not one this engine gave", ErrInvalidValue, c)
	}
	copy(out[:], parts)
	return out, nil
}
