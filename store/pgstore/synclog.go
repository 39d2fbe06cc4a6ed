package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hubsync/hubsync/store/sqlstore"
)

// This file is the executor's sync log: its rows store the outcome and the direction as smallint
// codes (migration 0007), two bytes each instead of a text's length byte and letters, and the
// school as its id (schools.go, migration 0010). Its one index, sync_log_school_time, is
// (school, at), not unique, which every statement here reads: the entries of one batch share
// their time, and PostgreSQL keeps one key for all of them (B-tree deduplication), a few bytes
// an entry. Entries with equal times are put in id order by a sort of just those (an
// Incremental Sort over the index's order).

// The codes of sync_log.outcome and sync_log.direction. They are stored, so a value keeps its
// code forever: a new value takes the next free number. 0 is the empty value (and, in rows
// migration 0007 converted, a value no hubsync wrote, whose text it kept in the reason). The
// migration's CASE expressions state the same tables.
var (
	outcomeNames   = []string{0: "", 1: "created", 2: "updated", 3: "unchanged", 4: "skipped", 5: "failed"}
	directionNames = []string{0: "", 1: "to_hubspot", 2: "to_lms", 3: "both"}
	outcomeCodes   = codesOf(outcomeNames)
	directionCodes = codesOf(directionNames)
)

func codesOf(names []string) map[string]int16 {
	m := make(map[string]int16, len(names))
	for i, n := range names {
		m[n] = int16(i)
	}
	return m
}

// codeOf is name's code in codes; a name without one is an error naming field (the Store
// validates entries first, so it means a value added to hubsync without a code here).
func codeOf(codes map[string]int16, field, name string) (int16, error) {
	c, ok := codes[name]
	if !ok {
		return 0, fmt.Errorf("sync log %s %q has no code in this pgstore", field, name)
	}
	return c, nil
}

// nameOf is code's name in names; a code without one (written by a newer hubsync) reads as its
// number.
func nameOf(names []string, code int16) string {
	if code >= 0 && int(code) < len(names) {
		return names[code]
	}
	return fmt.Sprintf("code %d", code)
}

// appendSyncLogSQL inserts every entry in one statement; WITH ORDINALITY keeps the given order, so
// ids grow in append order. $1 holds the schools' ids.
var appendSyncLogSQL = sqlStmt(`INSERT INTO {schema}.sync_log (school, at, direction, email, outcome, reason)
		SELECT school, at, direction, email, outcome, reason
		FROM unnest($1::integer[], $2::timestamptz[], $3::smallint[], $4::text[], $5::smallint[], $6::text[])
			WITH ORDINALITY AS e(school, at, direction, email, outcome, reason, n)
		ORDER BY n`)

func (x *executor) SyncLogAppend(ctx context.Context, entries []sqlstore.SyncLogRow) error {
	n := len(entries)
	schools, ats, dirs, emails, outcomes, reasons := make([]string, n), make([]time.Time, n), make([]int16, n), make([]string, n), make([]int16, n), make([]string, n)
	for i, e := range entries {
		var err error
		if dirs[i], err = codeOf(directionCodes, "direction", e.Direction); err != nil {
			return err
		}
		if outcomes[i], err = codeOf(outcomeCodes, "outcome", e.Outcome); err != nil {
			return err
		}
		schools[i], ats[i], emails[i], reasons[i] = e.School, e.At, e.Email, e.Reason
	}
	ids, err := x.schoolIDs(ctx, schools)
	if err != nil {
		return err
	}
	_, err = x.db.Exec(ctx, x.sql(appendSyncLogSQL), ids, ats, dirs, emails, outcomes, reasons)
	return err
}

// foldEmailSQL is hubsync.FoldEmail in SQL, for the stored email column: ASCII white space
// trimmed, lower-cased. (FoldEmail also trims Unicode spaces, which no address carries.)
const foldEmailSQL = `lower(btrim(email, E' \t\n\x0B\f\r'))`

// listSyncLogSQL reads the school's part of the index backwards, from $4 (-infinity when
// no Since is given, so the bound is always the index's and a Since skips the older entries
// without reading them) to its newest entry, and filters on the outcome when $2 is not 0 (the
// empty outcome's code: no filter) and on the folded email when $3 is not empty.
var listSyncLogSQL = sqlStmt(`SELECT id, at, direction, email, outcome, reason FROM {schema}.sync_log
		WHERE school = (SELECT id FROM {schema}.schools WHERE school = $1)
		  AND at >= $4
		  AND ($2::smallint = 0 OR outcome = $2)
		  AND ($3 = '' OR ` + foldEmailSQL + ` = $3)
		ORDER BY at DESC, id DESC
		LIMIT $5`)

// sinceOrAll is the lower bound of listSyncLogSQL: since, or -infinity when it is zero.
func sinceOrAll(since time.Time) pgtype.Timestamptz {
	if since.IsZero() {
		return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	}
	return pgtype.Timestamptz{Time: since.UTC(), Valid: true}
}

func (x *executor) SyncLogList(ctx context.Context, q sqlstore.SyncLogQuery) ([]sqlstore.SyncLogRow, error) {
	outcome, err := codeOf(outcomeCodes, "outcome", q.Outcome)
	if err != nil {
		return nil, err
	}
	rows, err := x.db.Query(ctx, x.sql(listSyncLogSQL), q.School, outcome, q.EmailFolded, sinceOrAll(q.Since), q.Limit)
	if err != nil {
		return nil, err
	}
	var out []sqlstore.SyncLogRow
	var e sqlstore.SyncLogRow
	var dir, oc int16
	_, err = pgx.ForEachRow(rows, []any{&e.ID, &e.At, &dir, &e.Email, &oc, &e.Reason}, func() error {
		e.School, e.Direction, e.Outcome = q.School, nameOf(directionNames, dir), nameOf(outcomeNames, oc)
		out = append(out, e)
		return nil
	})
	return out, err
}

// forgetSyncLogSQL picks its chunk through the index (see forgetWebhooksSQL): the recursive
// part walks the index's schools, one index probe each (a loose index scan: the first school after
// the one before), and each school's rows before $1 are the start of its part of the index, read
// until the chunk is full.
var forgetSyncLogSQL = sqlStmt(`DELETE FROM {schema}.sync_log
		WHERE ctid = ANY (ARRAY(
			WITH RECURSIVE log_schools (school) AS (
				(SELECT school FROM {schema}.sync_log ORDER BY school LIMIT 1)
				UNION ALL
				SELECT (SELECT l.school FROM {schema}.sync_log l WHERE l.school > s.school ORDER BY l.school LIMIT 1)
				FROM log_schools s WHERE s.school IS NOT NULL)
			SELECT o.ctid FROM log_schools s,
				LATERAL (SELECT l.ctid FROM {schema}.sync_log l WHERE l.school = s.school AND l.at < $1 ORDER BY l.at LIMIT $2) o
			LIMIT $2)) AND at < $1`)

func (x *executor) SyncLogForget(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := x.db.Exec(ctx, x.sql(forgetSyncLogSQL), before, limit)
	return int(tag.RowsAffected()), err
}
