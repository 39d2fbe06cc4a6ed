package hubsync

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubsync/hubsync/hubspot"
)

// Catching up from HubSpot's Webhooks Journal (CatchUp.Journal). See docs/catchup.md for what
// HubSpot documents about it and what it does not; the code below is defensive where it does not.
//
// Per school the store keeps the journal offset read up to ("catchup:journal" checkpoint). A
// catch-up reads the local journal of the school's portal forward from it, entry by entry, and
// commits each entry's inbound jobs and the new offset in one transaction (when the Store is a
// Transactor), so a crash never skips an entry nor commits its offset without its work. It falls
// back to a search, and the offset starts again at the journal's latest entry, when:
//   - the school has no offset yet (it is subscribed now; the journal holds nothing older);
//   - the interval starts before the journal's 3 days (less an hour of margin: entries may go
//     at any moment past that age, and which moment is undocumented);
//   - the offset is gone (HubSpot answers 404) or the journal cannot be read at all (a missing
//     scope, an app not set up for it).

// journalRetention is how far back the journal is trusted to reach: HubSpot keeps "the past 3
// days"; an hour less, since when exactly an entry goes is undocumented.
const journalRetention = 71 * time.Hour

type journalClient struct {
	once sync.Once
	j    *hubspot.Journal
	err  error
}

func (e *Engine) journal() (*hubspot.Journal, error) {
	e.journalc.once.Do(func() {
		e.journalc.j, e.journalc.err = hubspot.NewJournal(e.cfg.HubSpot.ClientID, e.cfg.HubSpot.ClientSecret, e.hubspotOptions()...)
	})
	return e.journalc.j, e.journalc.err
}

// catchUpJournal catches a school up from the journal. done is false, with a note saying why,
// when the journal cannot serve the interval: the caller searches instead.
func (e *Engine) catchUpJournal(ctx context.Context, school SchoolID, r *inRun, rep *CatchUpReport) (done bool, note string, err error) {
	j, err := e.journal()
	if err != nil {
		return false, "journal: " + err.Error(), nil
	}
	cp, cerr := e.cfg.Store.GetCheckpoint(ctx, school, journalOffsetName)
	if cerr != nil && !errors.Is(cerr, ErrNotFound) {
		return false, "", cerr
	}
	restart := func(why string) (bool, string, error) {
		if err := e.journalStart(ctx, j, school, r); err != nil {
			if ctx.Err() != nil {
				return false, "", ctx.Err()
			}
			return false, why + "; and the journal could not be set up: " + err.Error(), nil
		}
		return false, why + "; reading the journal from now on", nil
	}
	switch {
	case cerr != nil || cp.Cursor == "":
		return restart("journal: no offset yet (the portal is subscribed now)")
	case rep.To.Sub(rep.From) > journalRetention:
		return restart("journal: the interval starts before the journal's 3 days")
	}
	offset := cp.Cursor
	if offset == journalEarliest {
		offset = ""
	}
	rep.Source = "journal"
	app := strconv.FormatInt(e.cfg.HubSpot.AppID, 10)
	for entry, err := range j.ReadAfter(ctx, r.p.portalID, offset) {
		if errors.Is(err, hubspot.ErrJournalOffset) {
			rep.Source, rep.Found, rep.Queued = "", 0, 0
			return restart("journal: the stored offset is gone")
		}
		if err != nil {
			return false, "", err
		}
		var items []webhookItem
		for _, ev := range entry.Events {
			rep.Found++
			if ev.ObjectTypeID != "" && ev.ObjectTypeID != "0-1" {
				continue // not a contact
			}
			if ev.SourceID != "" && e.cfg.HubSpot.AppID != 0 && (ev.SourceID == app || ev.SourceID == "appId:"+app) {
				continue // the echo of the engine's own write
			}
			if strings.Contains(strings.ToLower(ev.Type), "delet") {
				continue // a deletion never deletes a learner
			}
			var props []string
			if ev.PropertyName != "" {
				props = []string{ev.PropertyName}
			}
			items = append(items, catchUpItem(school, strconv.FormatInt(ev.ObjectID, 10), ev.OccurredAt, props))
		}
		queued, err := e.queueWithOffset(ctx, school, items, entry.Offset)
		rep.Queued += queued
		if err != nil {
			return false, "", err
		}
	}
	return true, "", nil
}

// journalStart subscribes the school's portal to contact changes of the inbound rows' properties
// (and the email) and stores the journal's latest offset as where the next catch-up starts.
func (e *Engine) journalStart(ctx context.Context, j *hubspot.Journal, school SchoolID, r *inRun) error {
	if _, err := j.SubscribeContacts(ctx, r.p.portalID, r.props()); err != nil {
		return err
	}
	latest, err := j.Latest(ctx, r.p.portalID)
	if err != nil {
		return err
	}
	if latest == "" {
		// An empty journal has no offset to read after; undocumented whether "next" accepts
		// anything else, so the next catch-up reads from the earliest entry.
		latest = journalEarliest
	}
	return e.cfg.Store.PutCheckpoint(ctx, Checkpoint{School: school, Name: journalOffsetName, Cursor: latest})
}

// journalEarliest is the stored offset meaning "from the journal's earliest entry".
const journalEarliest = "earliest"

// queueWithOffset marks and queues a journal entry's items and stores its offset, in one
// transaction when the Store is a Transactor (else the offset after the jobs: a crash between
// them reads the entry again, which the dedupe absorbs).
func (e *Engine) queueWithOffset(ctx context.Context, school SchoolID, items []webhookItem, offset string) (int, error) {
	now := e.clk.Now()
	queued := 0
	run := func(ctx context.Context, s Store, q Queue) error {
		queued = 0
		var jobs []JobSpec
		for _, it := range items {
			first, err := s.MarkWebhookSeen(ctx, "hubspot", it.dedupe, now)
			if err != nil {
				return err
			}
			if first {
				jobs = append(jobs, it.job)
			}
		}
		if err := q.Enqueue(ctx, jobs...); err != nil {
			return err
		}
		queued = len(jobs)
		return s.PutCheckpoint(ctx, Checkpoint{School: school, Name: journalOffsetName, Cursor: offset})
	}
	var err error
	if tx, ok := e.cfg.Store.(Transactor); ok {
		err = tx.RunInTx(ctx, run)
	} else {
		err = run(ctx, e.cfg.Store, e.cfg.Queue)
	}
	if err == nil && queued > 0 {
		e.notify()
	}
	return queued, err
}
