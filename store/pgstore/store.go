package pgstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlstore"
)

// This file is the executor's half for hubsync.Store (settings, connections, sync states, once
// claims, webhooks, checkpoints, the sync log); the engine-facing logic is package sqlstore's.

// noRows makes pgx's "no rows" the hubsync.ErrNotFound the sqlstore.Executor contract asks for.
func noRows(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return hubsync.ErrNotFound
	}
	return err
}

var putSettingsSQL = sqlStmt(`INSERT INTO {schema}.settings (school, data, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (school) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at`)

func (x *executor) SettingsPut(ctx context.Context, school string, data []byte, now time.Time) error {
	_, err := x.db.Exec(ctx, x.sql(putSettingsSQL), school, data, now)
	return err
}

var getSettingsSQL = sqlStmt(`SELECT data FROM {schema}.settings WHERE school = $1`)

func (x *executor) SettingsGet(ctx context.Context, school string) ([]byte, error) {
	var data []byte
	err := x.db.QueryRow(ctx, x.sql(getSettingsSQL), school).Scan(&data)
	return data, noRows(err)
}

var listSchoolsSQL = sqlStmt(`SELECT school FROM (SELECT school FROM {schema}.settings UNION SELECT school FROM {schema}.connections
		UNION SELECT school FROM {schema}.lms_connections) u ORDER BY school COLLATE "C"`)

func (x *executor) SchoolsList(ctx context.Context) ([]string, error) {
	rows, err := x.db.Query(ctx, x.sql(listSchoolsSQL))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// nextGenerationSQL raises the connection generation of school $1 and returns it. Its row lock
// is always taken before the connection row's (a deadlock otherwise, between a put and a delete).
const nextGenerationSQL = `INSERT INTO {schema}.connection_generations (school, generation) VALUES ($1, 1)
	ON CONFLICT (school) DO UPDATE SET generation = connection_generations.generation + 1
	RETURNING generation`

var nextGenerationStmt = sqlStmt(nextGenerationSQL)

// putConnectionSQL raises the counter and then, with the value, writes the row, in one statement:
// racing writers get distinct generations and the last one's row has the largest.
var putConnectionSQL = sqlStmt(`WITH gen AS (` + nextGenerationSQL + `)
		INSERT INTO {schema}.connections (school, access_token, refresh_token, expiry, portal_id, domain,
			active, deactivated_at, deactivated_reason, notified_at, connected_at, generation)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, (SELECT generation FROM gen))
		ON CONFLICT (school) DO UPDATE SET access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token,
			expiry = EXCLUDED.expiry, portal_id = EXCLUDED.portal_id, domain = EXCLUDED.domain, active = EXCLUDED.active,
			deactivated_at = EXCLUDED.deactivated_at, deactivated_reason = EXCLUDED.deactivated_reason,
			notified_at = EXCLUDED.notified_at, connected_at = EXCLUDED.connected_at, generation = EXCLUDED.generation
		RETURNING generation`)

func (x *executor) ConnectionPut(ctx context.Context, c sqlstore.ConnectionRow) (int64, error) {
	var gen int64
	err := x.db.QueryRow(ctx, x.sql(putConnectionSQL),
		c.School, c.AccessToken, c.RefreshToken, nullTime(c.Expiry), c.PortalID, c.Domain,
		c.Active, nullTime(c.DeactivatedAt), c.DeactivatedReason, nullTime(c.NotifiedAt), nullTime(c.ConnectedAt)).Scan(&gen)
	return gen, err
}

var getConnectionSQL = sqlStmt(`SELECT access_token, refresh_token, expiry, portal_id, domain, active,
			deactivated_at, deactivated_reason, notified_at, connected_at, generation
		FROM {schema}.connections WHERE school = $1`)

func (x *executor) ConnectionGet(ctx context.Context, school string) (sqlstore.ConnectionRow, error) {
	c := sqlstore.ConnectionRow{School: school}
	var expiry, deactivated, notified, connected *time.Time
	err := x.db.QueryRow(ctx, x.sql(getConnectionSQL), school).Scan(
		&c.AccessToken, &c.RefreshToken, &expiry, &c.PortalID, &c.Domain, &c.Active,
		&deactivated, &c.DeactivatedReason, &notified, &connected, &c.Generation)
	if err != nil {
		return sqlstore.ConnectionRow{}, noRows(err)
	}
	c.Expiry, c.DeactivatedAt, c.NotifiedAt, c.ConnectedAt = fromNull(expiry), fromNull(deactivated), fromNull(notified), fromNull(connected)
	return c, nil
}

var deleteConnectionSQL = sqlStmt(`DELETE FROM {schema}.connections WHERE school = $1`)

// ConnectionDelete raises the generation first, in the same transaction (the counter stays).
func (x *executor) ConnectionDelete(ctx context.Context, school string) error {
	return pgx.BeginFunc(ctx, x.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, x.sql(nextGenerationStmt), school); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, x.sql(deleteConnectionSQL), school)
		return err
	})
}

var getSyncStateSQL = sqlStmt(`SELECT learner_id, contact_id, sent_hubspot, sent_lms, lifecycle_stage, updated_at
		FROM {schema}.sync_state WHERE school = (SELECT id FROM {schema}.schools WHERE school = $1) AND email = $2`)

func (x *executor) SyncStateGet(ctx context.Context, school, email string) (sqlstore.SyncStateRow, error) {
	r := sqlstore.SyncStateRow{School: school, Email: email}
	err := x.db.QueryRow(ctx, x.sql(getSyncStateSQL), school, email).Scan(
		&r.LearnerID, &r.ContactID, &r.SentToHubSpot, &r.SentToLMS, &r.LifecycleStage, &r.UpdatedAt)
	if err != nil {
		return sqlstore.SyncStateRow{}, noRows(err)
	}
	return r, nil
}

// putSyncStateSQL stores a nil sent map as SQL NULL (the bytea columns are nullable). $1 is the
// school's id (schools.go), as in every statement that writes sync_state.
var putSyncStateSQL = sqlStmt(`INSERT INTO {schema}.sync_state (school, email, learner_id, contact_id, sent_hubspot, sent_lms, lifecycle_stage, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (school, email) DO UPDATE SET learner_id = EXCLUDED.learner_id, contact_id = EXCLUDED.contact_id,
			sent_hubspot = EXCLUDED.sent_hubspot, sent_lms = EXCLUDED.sent_lms,
			lifecycle_stage = EXCLUDED.lifecycle_stage, updated_at = EXCLUDED.updated_at`)

func (x *executor) SyncStatePut(ctx context.Context, r sqlstore.SyncStateRow) error {
	id, err := x.schoolID(ctx, r.School)
	if err != nil {
		return err
	}
	_, err = x.db.Exec(ctx, x.sql(putSyncStateSQL),
		id, r.Email, r.LearnerID, r.ContactID, r.SentToHubSpot, r.SentToLMS, r.LifecycleStage, r.UpdatedAt)
	return err
}

var getSyncStatesSQL = sqlStmt(`SELECT email, learner_id, contact_id, sent_hubspot, sent_lms, lifecycle_stage, updated_at
		FROM {schema}.sync_state WHERE school = (SELECT id FROM {schema}.schools WHERE school = $1) AND email = ANY($2::text[])`)

// SyncStateGetMany reads every email with one statement (an array parameter).
func (x *executor) SyncStateGetMany(ctx context.Context, school string, emails []string) ([]sqlstore.SyncStateRow, error) {
	rows, err := x.db.Query(ctx, x.sql(getSyncStatesSQL), school, emails)
	if err != nil {
		return nil, err
	}
	return collectSyncStates(rows, school)
}

// putSyncStatesSQL is putSyncStateSQL for rows given as arrays, one per column.
var putSyncStatesSQL = sqlStmt(`INSERT INTO {schema}.sync_state (school, email, learner_id, contact_id, sent_hubspot, sent_lms, lifecycle_stage, updated_at)
		SELECT * FROM unnest($1::integer[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bytea[], $7::text[], $8::timestamptz[])
		ON CONFLICT (school, email) DO UPDATE SET learner_id = EXCLUDED.learner_id, contact_id = EXCLUDED.contact_id,
			sent_hubspot = EXCLUDED.sent_hubspot, sent_lms = EXCLUDED.sent_lms,
			lifecycle_stage = EXCLUDED.lifecycle_stage, updated_at = EXCLUDED.updated_at`)

// SyncStatePutMany writes every row with one statement (the rows' (school, email) are distinct,
// as ON CONFLICT DO UPDATE needs).
func (x *executor) SyncStatePutMany(ctx context.Context, rows []sqlstore.SyncStateRow) error {
	n := len(rows)
	schools, emails, learners, contacts, stages := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	sentHS, sentLMS, updated := make([][]byte, n), make([][]byte, n), make([]time.Time, n)
	for i, r := range rows {
		schools[i], emails[i], learners[i], contacts[i], stages[i] = r.School, r.Email, r.LearnerID, r.ContactID, r.LifecycleStage
		sentHS[i], sentLMS[i], updated[i] = r.SentToHubSpot, r.SentToLMS, r.UpdatedAt
	}
	ids, err := x.schoolIDs(ctx, schools)
	if err != nil {
		return err
	}
	_, err = x.db.Exec(ctx, x.sql(putSyncStatesSQL), ids, emails, learners, contacts, sentHS, sentLMS, stages, updated)
	return err
}

// swapSyncStatesSQL writes, of the rows given as arrays (one per column, then whether a state
// existed and the update time read), those whose condition holds, and returns their emails: an
// insert that does nothing on a row that exists (a concurrent insert is waited for, then
// conflicts), and an update whose condition PostgreSQL checks again on the row's latest version
// when a concurrent writer changed it (READ COMMITTED's recheck), so each row's check and write
// is one atomic step against every other writer.
var swapSyncStatesSQL = sqlStmt(`WITH input AS (
			SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[], $6::bytea[], $7::text[], $8::timestamptz[], $9::bool[], $10::timestamptz[])
				AS i (email, learner_id, contact_id, sent_hubspot, sent_lms, lifecycle_stage, updated_at, existed, read_at)),
		ins AS (
			INSERT INTO {schema}.sync_state (school, email, learner_id, contact_id, sent_hubspot, sent_lms, lifecycle_stage, updated_at)
			SELECT $1::integer, email, learner_id, contact_id, sent_hubspot, sent_lms, lifecycle_stage, updated_at FROM input WHERE NOT existed
			ON CONFLICT (school, email) DO NOTHING
			RETURNING email),
		upd AS (
			UPDATE {schema}.sync_state s SET learner_id = i.learner_id, contact_id = i.contact_id, sent_hubspot = i.sent_hubspot,
				sent_lms = i.sent_lms, lifecycle_stage = i.lifecycle_stage, updated_at = i.updated_at
			FROM input i WHERE s.school = $1::integer AND s.email = i.email AND i.existed AND s.updated_at = i.read_at
			RETURNING s.email)
		SELECT email FROM ins UNION ALL SELECT email FROM upd`)

// SyncStateSwapMany checks and writes every row with one statement, the rows sorted by email
// (the order two batches sharing learners lock them in, so they wait on each other rather than
// deadlock), and returns the emails it did not write.
func (x *executor) SyncStateSwapMany(ctx context.Context, swaps []sqlstore.SyncStateSwapRow) ([]string, error) {
	swaps = slices.Clone(swaps)
	slices.SortFunc(swaps, func(a, b sqlstore.SyncStateSwapRow) int { return strings.Compare(a.Row.Email, b.Row.Email) })
	n := len(swaps)
	emails, learners, contacts, stages := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	sentHS, sentLMS, updated := make([][]byte, n), make([][]byte, n), make([]time.Time, n)
	existed, read := make([]bool, n), make([]time.Time, n)
	for i, sw := range swaps {
		r := sw.Row
		emails[i], learners[i], contacts[i], stages[i] = r.Email, r.LearnerID, r.ContactID, r.LifecycleStage
		sentHS[i], sentLMS[i], updated[i] = r.SentToHubSpot, r.SentToLMS, r.UpdatedAt
		existed[i], read[i] = sw.Existed, sw.ReadUpdatedAt
	}
	id, err := x.schoolID(ctx, swaps[0].Row.School)
	if err != nil {
		return nil, err
	}
	rows, err := x.db.Query(ctx, x.sql(swapSyncStatesSQL), id, emails, learners, contacts, sentHS, sentLMS, stages, updated, existed, read)
	if err != nil {
		return nil, err
	}
	written, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	done := make(map[string]bool, len(written))
	for _, em := range written {
		done[em] = true
	}
	var conflicts []string
	for _, em := range emails {
		if !done[em] {
			conflicts = append(conflicts, em)
		}
	}
	return conflicts, nil
}

var listSyncStatesSQL = sqlStmt(`SELECT email, learner_id, contact_id, sent_hubspot, sent_lms, lifecycle_stage, updated_at
		FROM {schema}.sync_state WHERE school = (SELECT id FROM {schema}.schools WHERE school = $1) AND email > $2 ORDER BY email LIMIT $3`)

func (x *executor) SyncStateList(ctx context.Context, school, after string, limit int) ([]sqlstore.SyncStateRow, error) {
	rows, err := x.db.Query(ctx, x.sql(listSyncStatesSQL), school, after, limit)
	if err != nil {
		return nil, err
	}
	return collectSyncStates(rows, school)
}

// collectSyncStates reads the rows of a sync state query (the columns of listSyncStatesSQL).
func collectSyncStates(rows pgx.Rows, school string) ([]sqlstore.SyncStateRow, error) {
	var out []sqlstore.SyncStateRow
	var r sqlstore.SyncStateRow
	_, err := pgx.ForEachRow(rows, []any{&r.Email, &r.LearnerID, &r.ContactID, &r.SentToHubSpot, &r.SentToLMS, &r.LifecycleStage, &r.UpdatedAt}, func() error {
		r.School = school
		out = append(out, r)
		r = sqlstore.SyncStateRow{}
		return nil
	})
	return out, err
}

var onceOwnerSQL = sqlStmt(`SELECT occurrence FROM {schema}.once_claims WHERE school = $1 AND key = $2`)

var claimOnceSQL = sqlStmt(`INSERT INTO {schema}.once_claims (school, key, occurrence, claimed_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (school, key) DO NOTHING RETURNING occurrence`)

// OnceClaim: the insert is ON CONFLICT DO NOTHING on (school, key), and a loser reads the winner's
// row in a new statement (so under READ COMMITTED it sees the committed winner).
func (x *executor) OnceClaim(ctx context.Context, school, key, occurrence string, now time.Time) (string, error) {
	var owner string
	err := x.db.QueryRow(ctx, x.sql(claimOnceSQL), school, key, occurrence, now).Scan(&owner)
	if err == nil || !errors.Is(err, pgx.ErrNoRows) {
		return owner, err
	}
	err = x.db.QueryRow(ctx, x.sql(onceOwnerSQL), school, key).Scan(&owner)
	return owner, noRows(err)
}

var markWebhookSeenSQL = sqlStmt(`INSERT INTO {schema}.webhooks_seen (source, event_id, seen_at) VALUES ($1, $2, $3)
		ON CONFLICT (source, event_id) DO NOTHING`)

func (x *executor) WebhookMark(ctx context.Context, source, eventID string, at time.Time) (bool, error) {
	tag, err := x.db.Exec(ctx, x.sql(markWebhookSeenSQL), source, eventID, at)
	return err == nil && tag.RowsAffected() == 1, err
}

// The forget statements (this one, and forgetSyncLogSQL) pick their chunk once, through an index,
// into an array (so no plan can turn it into a scan of the table per chunk), and check the time
// again on the rows they delete. Racing callers block on each other's rows and skip the ones
// deleted meanwhile, so each row goes once.
var forgetWebhooksSQL = sqlStmt(`DELETE FROM {schema}.webhooks_seen
		WHERE ctid = ANY (ARRAY(SELECT ctid FROM {schema}.webhooks_seen WHERE seen_at < $1 LIMIT $2)) AND seen_at < $1`)

func (x *executor) WebhookForget(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := x.db.Exec(ctx, x.sql(forgetWebhooksSQL), before, limit)
	return int(tag.RowsAffected()), err
}

var putCheckpointSQL = sqlStmt(`INSERT INTO {schema}.checkpoints (school, name, cursor, data, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (school, name) DO UPDATE SET cursor = EXCLUDED.cursor, data = EXCLUDED.data, updated_at = EXCLUDED.updated_at`)

func (x *executor) CheckpointPut(ctx context.Context, c sqlstore.CheckpointRow) error {
	_, err := x.db.Exec(ctx, x.sql(putCheckpointSQL), c.School, c.Name, c.Cursor, c.Data, c.UpdatedAt)
	return err
}

var getCheckpointSQL = sqlStmt(`SELECT cursor, data, updated_at FROM {schema}.checkpoints WHERE school = $1 AND name = $2`)

func (x *executor) CheckpointGet(ctx context.Context, school, name string) (sqlstore.CheckpointRow, error) {
	c := sqlstore.CheckpointRow{School: school, Name: name}
	err := x.db.QueryRow(ctx, x.sql(getCheckpointSQL), school, name).Scan(&c.Cursor, &c.Data, &c.UpdatedAt)
	if err != nil {
		return sqlstore.CheckpointRow{}, noRows(err)
	}
	return c, nil
}

var deleteCheckpointSQL = sqlStmt(`DELETE FROM {schema}.checkpoints WHERE school = $1 AND name = $2`)

func (x *executor) CheckpointDelete(ctx context.Context, school, name string) error {
	_, err := x.db.Exec(ctx, x.sql(deleteCheckpointSQL), school, name)
	return err
}
