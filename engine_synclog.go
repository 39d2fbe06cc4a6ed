package hubsync

import (
	"context"
	"log/slog"
	"strings"
	"time"
)

// recordLog collects one batch's per-record sync log entries, written to the store together at
// the end of the batch (writeLog).
type recordLog struct {
	school  SchoolID
	dir     Direction
	at      time.Time
	entries []SyncLogEntry
	// learners names, by entry index, the learner of an entry without an email, so its sync
	// health has a key (see HealthOf).
	learners map[int]string
	// written is how many entries, from the first, are stored already: a batch writes its
	// entries so far in the transaction of its sync states (swapStates), and writeLog the rest.
	written int
	// others marks, by entry index, the entries of records that are not the batch's own (the
	// live learners riding in a manual sync page's request, engine_ride.go): stored like the
	// rest, not counted in the page's progress.
	others map[int]bool
}

// own returns the entries that are the batch's own records (all but others).
func (l *recordLog) own() []SyncLogEntry {
	if len(l.others) == 0 {
		return l.entries
	}
	out := make([]SyncLogEntry, 0, len(l.entries))
	for i, en := range l.entries {
		if !l.others[i] {
			out = append(out, en)
		}
	}
	return out
}

func (e *Engine) newRecordLog(school SchoolID, dir Direction) *recordLog {
	return &recordLog{school: school, dir: dir, at: e.clk.Now()}
}

// add records what happened to one record.
func (l *recordLog) add(email string, o LogOutcome, reason string) {
	l.entries = append(l.entries, SyncLogEntry{School: l.school, At: l.at, Direction: l.dir, Email: email, Outcome: o, Reason: reason})
}

// addLearner records what happened to a learner without an email, named by its id.
func (l *recordLog) addLearner(id string, o LogOutcome, reason string) {
	if l.learners == nil {
		l.learners = map[int]string{}
	}
	l.learners[len(l.entries)] = id
	l.add("", o, reason)
}

// unwritten returns the entries not stored yet and the sync health they say, in order
// (HealthOf).
func (l *recordLog) unwritten() ([]SyncLogEntry, []HealthEntry) {
	entries := l.entries[l.written:]
	out := make([]HealthEntry, 0, len(entries))
	for i, en := range entries {
		if h, ok := HealthOf(en, l.learners[l.written+i]); ok {
			out = append(out, h)
		}
	}
	return entries, out
}

// wrote marks the entries unwritten returned as stored, and logs their failures and skips
// (emails masked).
func (e *Engine) wrote(ctx context.Context, l *recordLog, entries []SyncLogEntry) {
	l.written += len(entries)
	if !e.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	for _, en := range entries {
		if en.Outcome == OutcomeFailed || en.Outcome == OutcomeSkipped {
			e.log.Info("hubsync: record "+string(en.Outcome), "school", en.School, "email", MaskEmail(en.Email), "reason", en.Reason)
		}
	}
}

// putLog stores sync log entries and the sync health they say through s.
func putLog(ctx context.Context, s Store, entries []SyncLogEntry, health []HealthEntry) error {
	if err := s.AppendSyncLog(ctx, entries...); err != nil {
		return err
	}
	return s.PutSyncHealth(ctx, health...)
}

// writeLog stores a batch's entries not stored yet (see swapStates) and the sync health they say
// (failures and skips are also logged, emails masked), in one transaction when the store has
// them. A store error is logged, not returned: the sync itself succeeded.
func (e *Engine) writeLog(ctx context.Context, l *recordLog) {
	if l == nil || l.written == len(l.entries) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	entries, health := l.unwritten()
	var err error
	if tx, ok := e.cfg.Store.(Transactor); ok {
		err = tx.RunInTx(ctx, func(ctx context.Context, s Store, _ Queue) error { return putLog(ctx, s, entries, health) })
	} else {
		err = putLog(ctx, e.cfg.Store, entries, health)
	}
	e.wrote(ctx, l, entries)
	if err != nil {
		e.log.Error("hubsync: could not write the sync log", "err", err, "entries", len(entries))
	}
}

// partial is the reason of a record written with some of its fields left out: "partial: " and
// why each was refused, or "" when nothing was.
func partial(problems []string) string {
	if len(problems) == 0 {
		return ""
	}
	return "partial: " + strings.Join(problems, "; ")
}

// joinReasons joins the non-empty parts of a record's reason.
func joinReasons(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}
