package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlstore"
)

// This file is the executor's half for hubsync.Store (settings, connections, sync states, once
// claims, webhooks, checkpoints, the sync log); the engine-facing logic is package sqlstore's.

// The statements of this file (see sqlText).
var (
	putSettingsSQL = sqlText(`INSERT INTO {p}settings (school, body) VALUES (?, ?)
			ON CONFLICT (school) DO UPDATE SET body = excluded.body`)
	getSettingsSQL = sqlText(`SELECT body FROM {p}settings WHERE school = ?`)
	listSchoolsSQL = sqlText(`SELECT school FROM {p}settings UNION SELECT school FROM {p}connections
			UNION SELECT school FROM {p}lms_connections ORDER BY 1`)
	// nextGenerationSQL raises a school's connection generation and returns the new value.
	nextGenerationSQL = sqlText(`INSERT INTO {p}connection_generations (school, generation) VALUES (?, 1)
	ON CONFLICT (school) DO UPDATE SET generation = generation + 1 RETURNING generation`)
	putConnectionSQL = sqlText(`INSERT OR REPLACE INTO {p}connections (school, access_token, refresh_token, expiry,
			portal_id, domain, active, deactivated_at, deactivated_reason, notified_at, connected_at, generation)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	getConnectionSQL = sqlText(`SELECT access_token, refresh_token, expiry, portal_id, domain, active,
		deactivated_at, deactivated_reason, notified_at, connected_at, generation FROM {p}connections WHERE school = ?`)
	deleteConnectionSQL = sqlText(`DELETE FROM {p}connections WHERE school = ?`)
	getSyncStateSQL     = sqlText(`SELECT email, learner_id, contact_id, sent_to_hubspot, sent_to_lms,
		lifecycle_stage, updated_at FROM {p}sync_states WHERE school = ? AND email = ?`)
	putSyncStateSQL = sqlText(`INSERT OR REPLACE INTO {p}sync_states (school, email, learner_id, contact_id,
			sent_to_hubspot, sent_to_lms, lifecycle_stage, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	// getSyncStatesSQL reads the states of a JSON array of emails: one statement, one bound
	// parameter, for any number of them.
	getSyncStatesSQL = sqlText(`SELECT email, learner_id, contact_id, sent_to_hubspot, sent_to_lms,
		lifecycle_stage, updated_at FROM {p}sync_states WHERE school = ? AND email IN (SELECT value FROM json_each(?))`)
	listSyncStatesSQL = sqlText(`SELECT email, learner_id, contact_id, sent_to_hubspot, sent_to_lms,
		lifecycle_stage, updated_at FROM {p}sync_states WHERE school = ? AND email > ? ORDER BY email LIMIT ?`)
	claimOnceSQL = sqlText(`INSERT INTO {p}once_claims (school, key, owner, claimed_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (school, key) DO NOTHING`)
	onceOwnerSQL       = sqlText(`SELECT owner FROM {p}once_claims WHERE school = ? AND key = ?`)
	markWebhookSeenSQL = sqlText(`INSERT INTO {p}webhooks_seen (source, event_id, seen_at) VALUES (?, ?, ?)
			ON CONFLICT (source, event_id) DO NOTHING`)
	forgetWebhooksSQL = sqlText(`DELETE FROM {p}webhooks_seen WHERE (source, event_id) IN
		(SELECT source, event_id FROM {p}webhooks_seen WHERE seen_at < ? LIMIT ?)`)
	putCheckpointSQL = sqlText(`INSERT OR REPLACE INTO {p}checkpoints (school, name, cursor, data, updated_at)
			VALUES (?, ?, ?, ?, ?)`)
	getCheckpointSQL    = sqlText(`SELECT cursor, data, updated_at FROM {p}checkpoints WHERE school = ? AND name = ?`)
	deleteCheckpointSQL = sqlText(`DELETE FROM {p}checkpoints WHERE school = ? AND name = ?`)
	listSyncLogSQL      = sqlText(`SELECT id, at, direction, email, outcome, reason FROM {p}sync_log WHERE school = ?`)
	// forgetSyncLogSQL walks the schools of sync_log_school_at (the first school after the one
	// before, one index probe each) and takes, from each school's part of the index, its rows
	// before the time, until the chunk is full.
	forgetSyncLogSQL = sqlText(`DELETE FROM {p}sync_log WHERE id IN (
		WITH RECURSIVE schools (school) AS (
			SELECT min(school) FROM {p}sync_log
			UNION ALL
			SELECT (SELECT min(l.school) FROM {p}sync_log l WHERE l.school > s.school) FROM schools s WHERE s.school IS NOT NULL)
		SELECT l.id FROM schools s JOIN {p}sync_log l ON l.school = s.school AND l.at < ? LIMIT ?)`)
)

// noRows makes database/sql's "no rows" the hubsync.ErrNotFound the sqlstore.Executor contract
// asks for.
func noRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return hubsync.ErrNotFound
	}
	return err
}

// exec runs one statement as its own write (or in the executor's transaction) and returns how
// many rows it changed.
func (x *executor) exec(ctx context.Context, id sqlID, args ...any) (int64, error) {
	var n int64
	err := x.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, x.sql(id), args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// SettingsPut keeps no update time (the table has none).
func (x *executor) SettingsPut(ctx context.Context, school string, data []byte, _ time.Time) error {
	_, err := x.exec(ctx, putSettingsSQL, school, data)
	return err
}

func (x *executor) SettingsGet(ctx context.Context, school string) ([]byte, error) {
	var body []byte
	err := x.reader().QueryRowContext(ctx, x.sql(getSettingsSQL), school).Scan(&body)
	return body, noRows(err)
}

func (x *executor) SchoolsList(ctx context.Context) ([]string, error) {
	rows, err := x.reader().QueryContext(ctx, x.sql(listSchoolsSQL))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ConnectionPut raises the counter and writes the row in one immediate transaction.
func (x *executor) ConnectionPut(ctx context.Context, c sqlstore.ConnectionRow) (int64, error) {
	var gen int64
	err := x.write(ctx, func(q querier) error {
		if err := q.QueryRowContext(ctx, x.sql(nextGenerationSQL), c.School).Scan(&gen); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, x.sql(putConnectionSQL),
			c.School, c.AccessToken, c.RefreshToken, ns(c.Expiry), c.PortalID, c.Domain,
			c.Active, ns(c.DeactivatedAt), c.DeactivatedReason, ns(c.NotifiedAt), ns(c.ConnectedAt), gen)
		return err
	})
	return gen, err
}

func (x *executor) ConnectionGet(ctx context.Context, school string) (sqlstore.ConnectionRow, error) {
	c := sqlstore.ConnectionRow{School: school}
	var expiry, deactivated, notified, connected int64
	err := x.reader().QueryRowContext(ctx, x.sql(getConnectionSQL), school).
		Scan(&c.AccessToken, &c.RefreshToken, &expiry, &c.PortalID, &c.Domain, &c.Active,
			&deactivated, &c.DeactivatedReason, &notified, &connected, &c.Generation)
	if err != nil {
		return sqlstore.ConnectionRow{}, noRows(err)
	}
	c.Expiry, c.DeactivatedAt, c.NotifiedAt, c.ConnectedAt = fromNS(expiry), fromNS(deactivated), fromNS(notified), fromNS(connected)
	return c, nil
}

func (x *executor) ConnectionDelete(ctx context.Context, school string) error {
	return x.write(ctx, func(q querier) error {
		var gen int64
		if err := q.QueryRowContext(ctx, x.sql(nextGenerationSQL), school).Scan(&gen); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, x.sql(deleteConnectionSQL), school)
		return err
	})
}

func (x *executor) SyncStateGet(ctx context.Context, school, email string) (sqlstore.SyncStateRow, error) {
	r := sqlstore.SyncStateRow{School: school}
	var updated int64
	err := x.reader().QueryRowContext(ctx, x.sql(getSyncStateSQL), school, email).
		Scan(&r.Email, &r.LearnerID, &r.ContactID, &r.SentToHubSpot, &r.SentToLMS, &r.LifecycleStage, &updated)
	if err != nil {
		return sqlstore.SyncStateRow{}, noRows(err)
	}
	r.UpdatedAt = fromNS(updated)
	return r, nil
}

// sentBytes is a sent map's encoding as the NOT NULL column holds it: a BLOB, no bytes for a nil
// map. (The column, declared TEXT, keeps a BLOB as one; rows of older versions hold JSON text,
// which reads as its bytes and the Store still decodes.)
func sentBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (x *executor) SyncStatePut(ctx context.Context, r sqlstore.SyncStateRow) error {
	_, err := x.exec(ctx, putSyncStateSQL, r.School, r.Email, r.LearnerID, r.ContactID,
		sentBytes(r.SentToHubSpot), sentBytes(r.SentToLMS), r.LifecycleStage, ns(r.UpdatedAt))
	return err
}

// putSyncStatesSQL stores a chunk of states (see multirow.go).
var putSyncStatesSQL = multiRowSQL(`INSERT OR REPLACE INTO {p}sync_states (school, email, learner_id, contact_id,
			sent_to_hubspot, sent_to_lms, lifecycle_stage, updated_at) VALUES `, `(?, ?, ?, ?, ?, ?, ?, ?)`, `, `)

// SyncStateGetMany reads every email with one statement (a JSON array, so no limit on bound
// parameters applies).
func (x *executor) SyncStateGetMany(ctx context.Context, school string, emails []string) ([]sqlstore.SyncStateRow, error) {
	list, err := json.Marshal(emails)
	if err != nil {
		return nil, err
	}
	rows, err := x.reader().QueryContext(ctx, x.sql(getSyncStatesSQL), school, list)
	if err != nil {
		return nil, err
	}
	return scanSyncStates(rows, school)
}

// SyncStatePutMany writes the rows in one immediate transaction (or the executor's), in as few
// statements as multiRowChunks allow.
func (x *executor) SyncStatePutMany(ctx context.Context, rows []sqlstore.SyncStateRow) error {
	return x.write(ctx, func(q querier) error { return x.putSyncStates(ctx, q, rows) })
}

// putSyncStates writes rows through q with the statements of putSyncStatesSQL.
func (x *executor) putSyncStates(ctx context.Context, q querier, rows []sqlstore.SyncStateRow) error {
	return x.execChunks(ctx, q, putSyncStatesSQL, len(rows), 8, func(args []any, from, to int) []any {
		for _, r := range rows[from:to] {
			args = appendSyncStateArgs(args, r)
		}
		return args
	})
}

// appendSyncStateArgs appends the 8 arguments of r's row of putSyncStatesSQL or
// insertSyncStatesSQL.
func appendSyncStateArgs(args []any, r sqlstore.SyncStateRow) []any {
	return append(args, r.School, r.Email, r.LearnerID, r.ContactID,
		sentBytes(r.SentToHubSpot), sentBytes(r.SentToLMS), r.LifecycleStage, ns(r.UpdatedAt))
}

// insertSyncStatesSQL stores a chunk of states where none is stored, leaving a stored one as it
// is (see insertAbsent).
var insertSyncStatesSQL = multiRowSQLTail(`INSERT INTO {p}sync_states (school, email, learner_id, contact_id,
			sent_to_hubspot, sent_to_lms, lifecycle_stage, updated_at) VALUES `, `(?, ?, ?, ?, ?, ?, ?, ?)`, `, `,
	` ON CONFLICT (school, email) DO NOTHING`)

// The savepoint of insertAbsent.
var (
	insertAbsentSQL         = sqlText(`SAVEPOINT hubsync_insert_absent`)
	insertAbsentReleaseSQL  = sqlText(`RELEASE hubsync_insert_absent`)
	insertAbsentRollbackSQL = sqlText(`ROLLBACK TO hubsync_insert_absent`)
)

// insertAbsent is SyncStateSwapMany's shortcut for a batch of inserts only (every Existed false:
// a backfill's new learners): under a savepoint, the rows go in where none is stored, and when
// every one went in, no condition failed and the batch is done without reading the stored rows
// first. Otherwise the savepoint is rolled back and done is false: the caller checks and writes
// as for any batch.
func (x *executor) insertAbsent(ctx context.Context, q querier, swaps []sqlstore.SyncStateSwapRow) (done bool, err error) {
	for _, sw := range swaps {
		if sw.Existed {
			return false, nil
		}
	}
	if _, err := q.ExecContext(ctx, x.sql(insertAbsentSQL)); err != nil {
		return false, err
	}
	n, err := x.execChunksCount(ctx, q, insertSyncStatesSQL, len(swaps), 8, func(args []any, from, to int) []any {
		for _, sw := range swaps[from:to] {
			args = appendSyncStateArgs(args, sw.Row)
		}
		return args
	})
	if err == nil && n == int64(len(swaps)) {
		_, err = q.ExecContext(ctx, x.sql(insertAbsentReleaseSQL))
		return err == nil, err
	}
	// A row was stored already (or a statement failed): undo the inserts, keep the transaction.
	// context.Background: the undo must run even when the caller's context ended.
	if _, rerr := q.ExecContext(context.Background(), x.sql(insertAbsentRollbackSQL)); rerr != nil {
		return false, errors.Join(err, rerr)
	}
	if _, rerr := q.ExecContext(context.Background(), x.sql(insertAbsentReleaseSQL)); rerr != nil {
		return false, errors.Join(err, rerr)
	}
	return false, err
}

// syncStateTimesSQL reads the update times of a JSON array of emails (see getSyncStatesSQL).
var syncStateTimesSQL = sqlText(`SELECT email, updated_at FROM {p}sync_states
		WHERE school = ? AND email IN (SELECT value FROM json_each(?))`)

// SyncStateSwapMany checks and writes in one immediate transaction (or the executor's), so no
// other writer comes between: one statement reads the batch's stored update times, and the rows
// whose condition holds are written as SyncStatePutMany writes them. A batch of inserts only
// tries insertAbsent first.
func (x *executor) SyncStateSwapMany(ctx context.Context, swaps []sqlstore.SyncStateSwapRow) ([]string, error) {
	var conflicts []string
	err := x.write(ctx, func(q querier) error {
		conflicts = conflicts[:0]
		if done, err := x.insertAbsent(ctx, q, swaps); err != nil || done {
			return err
		}
		emails := make([]string, len(swaps))
		for i, sw := range swaps {
			emails[i] = sw.Row.Email
		}
		list, err := json.Marshal(emails)
		if err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, x.sql(syncStateTimesSQL), swaps[0].Row.School, list)
		if err != nil {
			return err
		}
		stored := make(map[string]int64, len(swaps))
		for rows.Next() {
			var em string
			var at int64
			if err := rows.Scan(&em, &at); err != nil {
				rows.Close()
				return err
			}
			stored[em] = at
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		write := make([]sqlstore.SyncStateRow, 0, len(swaps))
		for _, sw := range swaps {
			at, ok := stored[sw.Row.Email]
			if ok != sw.Existed || (ok && at != ns(sw.ReadUpdatedAt)) {
				conflicts = append(conflicts, sw.Row.Email)
				continue
			}
			write = append(write, sw.Row)
		}
		return x.putSyncStates(ctx, q, write)
	})
	if err != nil {
		return nil, err
	}
	return conflicts, nil
}

func (x *executor) SyncStateList(ctx context.Context, school, after string, limit int) ([]sqlstore.SyncStateRow, error) {
	rows, err := x.reader().QueryContext(ctx, x.sql(listSyncStatesSQL), school, after, limit)
	if err != nil {
		return nil, err
	}
	return scanSyncStates(rows, school)
}

// scanSyncStates reads the rows of a sync state query (the columns of getSyncStateSQL) and closes
// them.
func scanSyncStates(rows *sql.Rows, school string) ([]sqlstore.SyncStateRow, error) {
	defer rows.Close()
	var out []sqlstore.SyncStateRow
	for rows.Next() {
		r := sqlstore.SyncStateRow{School: school}
		var updated int64
		if err := rows.Scan(&r.Email, &r.LearnerID, &r.ContactID, &r.SentToHubSpot, &r.SentToLMS, &r.LifecycleStage, &updated); err != nil {
			return nil, err
		}
		r.UpdatedAt = fromNS(updated)
		out = append(out, r)
	}
	return out, rows.Err()
}

// OnceClaim inserts and reads the owner back in one immediate transaction.
func (x *executor) OnceClaim(ctx context.Context, school, key, occurrence string, now time.Time) (string, error) {
	var owner string
	err := x.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, x.sql(claimOnceSQL), school, key, occurrence, ns(now)); err != nil {
			return err
		}
		return q.QueryRowContext(ctx, x.sql(onceOwnerSQL), school, key).Scan(&owner)
	})
	return owner, noRows(err)
}

func (x *executor) WebhookMark(ctx context.Context, source, eventID string, at time.Time) (bool, error) {
	n, err := x.exec(ctx, markWebhookSeenSQL, source, eventID, ns(at))
	return n == 1, err
}

// WebhookForget deletes one chunk in its own transaction, so pruning a large backlog never holds
// the single writer for long.
func (x *executor) WebhookForget(ctx context.Context, before time.Time, limit int) (int, error) {
	n, err := x.exec(ctx, forgetWebhooksSQL, ns(before), limit)
	return int(n), err
}

// SyncLogForget finds its rows through the index sync_log_school_at.
func (x *executor) SyncLogForget(ctx context.Context, before time.Time, limit int) (int, error) {
	n, err := x.exec(ctx, forgetSyncLogSQL, ns(before), limit)
	return int(n), err
}

func (x *executor) CheckpointPut(ctx context.Context, c sqlstore.CheckpointRow) error {
	_, err := x.exec(ctx, putCheckpointSQL, c.School, c.Name, c.Cursor, c.Data, ns(c.UpdatedAt))
	return err
}

func (x *executor) CheckpointGet(ctx context.Context, school, name string) (sqlstore.CheckpointRow, error) {
	c := sqlstore.CheckpointRow{School: school, Name: name}
	var updated int64
	err := x.reader().QueryRowContext(ctx, x.sql(getCheckpointSQL), school, name).Scan(&c.Cursor, &c.Data, &updated)
	if err != nil {
		return sqlstore.CheckpointRow{}, noRows(err)
	}
	c.UpdatedAt = fromNS(updated)
	return c, nil
}

func (x *executor) CheckpointDelete(ctx context.Context, school, name string) error {
	_, err := x.exec(ctx, deleteCheckpointSQL, school, name)
	return err
}

// appendSyncLogSQL inserts a chunk of entries (see multirow.go); SQLite inserts a VALUES list's
// rows in order, so the ids rise in the order given.
var appendSyncLogSQL = multiRowSQL(`INSERT INTO {p}sync_log (school, at, direction, email, email_lc, outcome, reason)
	VALUES `, `(?, ?, ?, ?, ?, ?, ?)`, `, `)

// SyncLogAppend inserts the entries in one transaction, in as few statements as multiRowChunks
// allow; the folded email goes beside the email (email_lc), which SyncLogList's email filter
// compares, unless it is the email itself (as it is for every email the engine logs): then
// email_lc is empty, which saves the address's bytes a second time in every entry.
func (x *executor) SyncLogAppend(ctx context.Context, entries []sqlstore.SyncLogRow) error {
	return x.write(ctx, func(q querier) error {
		return x.execChunks(ctx, q, appendSyncLogSQL, len(entries), 7, func(args []any, from, to int) []any {
			for _, e := range entries[from:to] {
				folded := e.EmailFolded
				if folded == e.Email {
					folded = ""
				}
				args = append(args, e.School, ns(e.At), e.Direction, e.Email, folded, e.Outcome, e.Reason)
			}
			return args
		})
	})
}

// SyncLogList adds a condition per filter given, so each query shape uses its index.
func (x *executor) SyncLogList(ctx context.Context, f sqlstore.SyncLogQuery) ([]sqlstore.SyncLogRow, error) {
	query := x.sql(listSyncLogSQL)
	args := []any{f.School}
	if f.Outcome != "" {
		query += ` AND outcome = ?`
		args = append(args, f.Outcome)
	}
	if f.EmailFolded != "" {
		query += ` AND (email_lc = ? OR (email_lc = '' AND email = ?))` // '': the email is folded
		args = append(args, f.EmailFolded, f.EmailFolded)
	}
	if !f.Since.IsZero() {
		query += ` AND at >= ?`
		args = append(args, ns(f.Since))
	}
	query += ` ORDER BY at DESC, id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := x.reader().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sqlstore.SyncLogRow
	for rows.Next() {
		e := sqlstore.SyncLogRow{School: f.School}
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Direction, &e.Email, &e.Outcome, &e.Reason); err != nil {
			return nil, err
		}
		e.At = fromNS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
