package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/hubsync/hubsync"
)

// runCatchUp runs one catch-up by hand: it reads what changed since --since (a duration back
// from now, or an RFC 3339 time) on one side, puts the changes through the normal paths, and
// prints the catch-up's report (interval, changes found and queued, HubSpot requests spent).
func runCatchUp(ctx context.Context, a *app, args []string) error {
	fs := a.flags("--since 6h|2026-03-02T09:00:00Z [--side hubspot|lms]")
	since := fs.String("since", "", "where the catch-up starts: a duration back from now (72h) or an RFC 3339 time")
	side := fs.String("side", string(hubsync.CatchUpHubSpot), "what to read: hubspot (contact changes into the LMS) or lms (learner changes into HubSpot)")
	journal := journalFlag(a, fs)
	if err := a.parse(fs, args, quiet); err != nil {
		return err
	}
	useJournal, err := journal()
	if err != nil {
		return err
	}
	start, err := parseSince(*since, time.Now())
	if err != nil {
		return &usageError{msg: "--since: " + err.Error()}
	}
	s := hubsync.CatchUpSide(*side)
	if s != hubsync.CatchUpHubSpot && s != hubsync.CatchUpLMS {
		return &usageError{msg: fmt.Sprintf("--side %q: want hubspot or lms", *side)}
	}
	e, err := a.open(ctx, engineOptions{needLW: true, journal: useJournal})
	if err != nil {
		return err
	}
	defer e.close()
	school := hubsync.SchoolID(a.cfg.school)
	if err := e.eng.CatchUpSince(ctx, school, s, start); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Catching up school %q (%s) since %s...\n", school, s, start.UTC().Format(time.RFC3339))
	if _, err := e.eng.RunOnce(ctx); err != nil {
		return err
	}
	rep, err := e.eng.LastCatchUp(ctx, school, s)
	if errors.Is(err, hubsync.ErrNotFound) {
		return errors.New("hubsync: the catch-up did not run (the school is paused or not connected; see hubsync status)")
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, catchUpLine(rep))
	return nil
}

// parseSince reads --since: a positive duration back from now, or an RFC 3339 time in the past.
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, errors.New("required (a duration such as 72h, or an RFC 3339 time)")
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q is not a positive duration", v)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration nor an RFC 3339 time", v)
	}
	if !t.Before(now) {
		return time.Time{}, fmt.Errorf("%q is not in the past", v)
	}
	return t, nil
}

// catchUpLine is one line about a catch-up, for catch-up and status.
func catchUpLine(r hubsync.CatchUpReport) string {
	line := fmt.Sprintf("%s catch-up (%s, %s): %s .. %s, %d changes found, %d queued, %d HubSpot requests",
		r.Side, r.Source, r.Reason, r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339), r.Found, r.Queued, r.Requests)
	if r.Skipped > 0 {
		line += fmt.Sprintf(", %d skipped (no valid email; see the log)", r.Skipped)
	}
	if r.Note != "" {
		line += "; " + termSafe(r.Note)
	}
	return line
}

// journalFlag registers --hubspot-journal (HUBSYNC_HUBSPOT_JOURNAL) on fs; the function it returns
// reads it once fs is parsed.
func journalFlag(a *app, fs *flag.FlagSet) func() (bool, error) {
	var v string
	a.str(fs, &v, "hubspot-journal", "HUBSYNC_HUBSPOT_JOURNAL", "false",
		"catch up from HubSpot's Webhooks Journal (true) instead of CRM search, for apps set up for it (docs/catchup.md)")
	return func() (bool, error) {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return false, &usageError{msg: fmt.Sprintf("--hubspot-journal %q: want true or false", v)}
		}
		return on, nil
	}
}
