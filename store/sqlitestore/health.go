package sqlitestore

import (
	"context"
	"encoding/json"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlstore"
)

// The statements of this file (see sqlText).
var (
	// deleteSyncHealthSQL and putSyncHealthSQL delete and replace a chunk of records (see
	// multirow.go). The delete's keys are ORed equalities, which SQLite looks up one by one in the
	// primary key; a row value IN (VALUES ...) would scan the table.
	deleteSyncHealthSQL = multiRowSQL(`DELETE FROM {p}sync_health WHERE `,
		`(school = ? AND email = ? AND learner_id = ? AND direction = ?)`, ` OR `)
	putSyncHealthSQL = multiRowSQL(`INSERT OR REPLACE INTO {p}sync_health (school, email, learner_id, direction, status, exclusion, reason, at)
					VALUES `, `(?, ?, ?, ?, ?, ?, ?, ?)`, `, `)
	// deleteSyncHealthByEmailSQL deletes the records of a JSON array of emails, of one direction
	// and without a learner id: one statement, three bound parameters, for a batch of any size,
	// looked up in the primary key email by email.
	deleteSyncHealthByEmailSQL = sqlText(`DELETE FROM {p}sync_health WHERE school = ? AND direction = ? AND learner_id = ''
		AND email IN (SELECT value FROM json_each(?))`)
	listSyncHealthSQL = sqlText(`SELECT email, learner_id, direction, status, exclusion, reason, at FROM {p}sync_health
		WHERE school = ? AND (email, learner_id, direction) > (?, ?, ?)`)
)

// HealthPut deletes the in-sync rows' records and replaces the others', in one transaction, in
// as few statements as multiRowChunks allow (the keys are distinct, so the order between the two
// kinds does not matter). The in-sync rows keyed by email, a batch's usual case, are deleted with
// one statement per school and direction (deleteHealthByEmail): most have no record, and the
// ORed equalities of deleteSyncHealthSQL cost four bound parameters a row.
func (x *executor) HealthPut(ctx context.Context, entries []sqlstore.HealthRow) error {
	del, put := make([]sqlstore.HealthRow, 0, len(entries)), []sqlstore.HealthRow(nil)
	for _, h := range entries {
		if h.Status == string(hubsync.HealthInSync) {
			del = append(del, h)
		} else {
			put = append(put, h)
		}
	}
	return x.write(ctx, func(q querier) error {
		del, err := x.deleteHealthByEmail(ctx, q, del)
		if err != nil {
			return err
		}
		err = x.execChunks(ctx, q, deleteSyncHealthSQL, len(del), 4, func(args []any, from, to int) []any {
			for _, h := range del[from:to] {
				args = append(args, h.School, h.Email, h.LearnerID, h.Direction)
			}
			return args
		})
		if err != nil {
			return err
		}
		return x.execChunks(ctx, q, putSyncHealthSQL, len(put), 8, func(args []any, from, to int) []any {
			for _, h := range put[from:to] {
				args = append(args, h.School, h.Email, h.LearnerID, h.Direction, h.Status, h.Exclusion, h.Reason, ns(h.At))
			}
			return args
		})
	})
}

// deleteHealthByEmail deletes, through q, the records of the rows of del keyed by email (no
// learner id), with deleteSyncHealthByEmailSQL, one statement per school and direction; it
// returns the other rows, for the caller to delete.
func (x *executor) deleteHealthByEmail(ctx context.Context, q querier, del []sqlstore.HealthRow) ([]sqlstore.HealthRow, error) {
	type group struct{ school, direction string }
	var order []group
	emails := map[group][]string{}
	var rest []sqlstore.HealthRow
	for _, h := range del {
		if h.LearnerID != "" || h.Email == "" {
			rest = append(rest, h)
			continue
		}
		g := group{h.School, h.Direction}
		if _, ok := emails[g]; !ok {
			order = append(order, g)
		}
		emails[g] = append(emails[g], h.Email)
	}
	for _, g := range order {
		list, err := json.Marshal(emails[g])
		if err != nil {
			return nil, err
		}
		if _, err := q.ExecContext(ctx, x.sql(deleteSyncHealthByEmailSQL), g.school, g.direction, string(list)); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// HealthList reads in the primary key's order, so a page reads only its own rows and the ones it
// skips.
func (x *executor) HealthList(ctx context.Context, f sqlstore.HealthQuery) ([]sqlstore.HealthRow, error) {
	query := x.sql(listSyncHealthSQL)
	args := []any{f.School, f.AfterEmail, f.AfterLearner, f.AfterDirection}
	if f.Status != "" {
		query += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Direction != "" {
		query += ` AND direction = ?`
		args = append(args, f.Direction)
	}
	query += ` ORDER BY email, learner_id, direction LIMIT ?`
	args = append(args, f.Limit)
	rows, err := x.reader().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sqlstore.HealthRow
	for rows.Next() {
		h := sqlstore.HealthRow{School: f.School}
		var at int64
		if err := rows.Scan(&h.Email, &h.LearnerID, &h.Direction, &h.Status, &h.Exclusion, &h.Reason, &at); err != nil {
			return nil, err
		}
		h.At = fromNS(at)
		out = append(out, h)
	}
	return out, rows.Err()
}
