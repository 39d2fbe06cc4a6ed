package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

var putSettingsSQL = sqlStmt(`INSERT INTO {schema}.settings (school, data, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (school) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at`)

// PutSettings replaces a school's settings (stored as JSON), creating the school on first use.
// It fails on an empty school id or a database error.
func (s *Store) PutSettings(ctx context.Context, school hubsync.SchoolID, st hubsync.Settings) error {
	if school == "" {
		return errNoSchool
	}
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("pgstore: encoding settings of school %q: %w", school, err)
	}
	_, err = s.db.Exec(ctx, s.sql(putSettingsSQL),
		string(school), data, s.now())
	if err != nil {
		return interpretError(fmt.Sprintf("saving settings of school %q", school), err)
	}
	return nil
}

var getSettingsSQL = sqlStmt(`SELECT data FROM {schema}.settings WHERE school = $1`)

// GetSettings returns a school's settings; an error wrapping hubsync.ErrNotFound when none were
// saved.
func (s *Store) GetSettings(ctx context.Context, school hubsync.SchoolID) (hubsync.Settings, error) {
	var data []byte
	err := s.db.QueryRow(ctx, s.sql(getSettingsSQL), string(school)).Scan(&data)
	if err != nil {
		return hubsync.Settings{}, interpretError(fmt.Sprintf("reading settings of school %q", school), err)
	}
	var st hubsync.Settings
	if err := json.Unmarshal(data, &st); err != nil {
		return hubsync.Settings{}, fmt.Errorf("pgstore: decoding settings of school %q: %w", school, err)
	}
	return st, nil
}

var listSchoolsSQL = sqlStmt(`SELECT school FROM (SELECT school FROM {schema}.settings UNION SELECT school FROM {schema}.connections) u ORDER BY school COLLATE "C"`)

// ListSchools returns every school that has settings or a connection, sorted by byte order.
func (s *Store) ListSchools(ctx context.Context) ([]hubsync.SchoolID, error) {
	rows, err := s.db.Query(ctx, s.sql(listSchoolsSQL))
	if err != nil {
		return nil, interpretError("listing schools", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, interpretError("listing schools", err)
	}
	var out []hubsync.SchoolID
	for _, id := range ids {
		out = append(out, hubsync.SchoolID(id))
	}
	return out, nil
}

// nextGenerationSQL raises the connection generation of school $1 and returns it. Its row lock
// is always taken before the connection row's (a deadlock otherwise, between a put and a delete).
const nextGenerationSQL = `INSERT INTO {schema}.connection_generations (school, generation) VALUES ($1, 1)
	ON CONFLICT (school) DO UPDATE SET generation = connection_generations.generation + 1
	RETURNING generation`

var nextGenerationStmt = sqlStmt(nextGenerationSQL)

var putConnectionSQL = sqlStmt(`WITH gen AS (` + nextGenerationSQL + `)
		INSERT INTO {schema}.connections (school, access_token, refresh_token, expiry, portal_id, domain,
			active, deactivated_at, deactivated_reason, notified_at, connected_at, generation)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, (SELECT generation FROM gen))
		ON CONFLICT (school) DO UPDATE SET access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token,
			expiry = EXCLUDED.expiry, portal_id = EXCLUDED.portal_id, domain = EXCLUDED.domain, active = EXCLUDED.active,
			deactivated_at = EXCLUDED.deactivated_at, deactivated_reason = EXCLUDED.deactivated_reason,
			notified_at = EXCLUDED.notified_at, connected_at = EXCLUDED.connected_at, generation = EXCLUDED.generation`)

// PutConnection stores a school's connection (tokens, portal, active flag), replacing any, with
// the school's next Generation (c.Generation is ignored): one statement raises the counter and
// then, with the value, writes the row, so racing writers get distinct generations and the last
// one's row has the largest. With WithSealer the tokens are sealed first; a sealing failure
// writes nothing. It fails on an empty school id, a sealing failure or a database error; the
// error never contains a token.
func (s *Store) PutConnection(ctx context.Context, c hubsync.Connection) error {
	if c.School == "" {
		return errNoSchool
	}
	tok, err := hubsync.SealToken(ctx, s.cfg.sealer, c.School, c.Token)
	if err != nil {
		return fmt.Errorf("pgstore: saving the connection of school %q: %w", c.School, err)
	}
	c.Token = tok
	_, err = s.db.Exec(ctx, s.sql(putConnectionSQL),
		string(c.School), c.Token.AccessToken, c.Token.RefreshToken, nullTime(c.Token.Expiry), c.PortalID, c.Domain,
		c.Active, nullTime(c.DeactivatedAt), c.DeactivatedReason, nullTime(c.NotifiedAt), nullTime(c.ConnectedAt))
	if err != nil {
		return interpretError(fmt.Sprintf("saving the connection of school %q", c.School), err)
	}
	return nil
}

var getConnectionSQL = sqlStmt(`SELECT access_token, refresh_token, expiry, portal_id, domain, active,
			deactivated_at, deactivated_reason, notified_at, connected_at, generation
		FROM {schema}.connections WHERE school = $1`)

// GetConnection returns a school's connection; an error wrapping hubsync.ErrNotFound when it was
// never connected or was disconnected, and one wrapping hubsync.ErrUnseal when a sealed token
// does not open (see WithSealer).
func (s *Store) GetConnection(ctx context.Context, school hubsync.SchoolID) (hubsync.Connection, error) {
	c := hubsync.Connection{School: school}
	var expiry, deactivated, notified, connected *time.Time
	err := s.db.QueryRow(ctx, s.sql(getConnectionSQL), string(school)).Scan(
		&c.Token.AccessToken, &c.Token.RefreshToken, &expiry, &c.PortalID, &c.Domain, &c.Active,
		&deactivated, &c.DeactivatedReason, &notified, &connected, &c.Generation)
	if err != nil {
		return hubsync.Connection{}, interpretError(fmt.Sprintf("reading the connection of school %q", school), err)
	}
	c.Token.Expiry, c.DeactivatedAt, c.NotifiedAt, c.ConnectedAt = fromNull(expiry), fromNull(deactivated), fromNull(notified), fromNull(connected)
	if c.Token, err = hubsync.OpenToken(ctx, s.cfg.sealer, school, c.Token); err != nil {
		return hubsync.Connection{}, fmt.Errorf("pgstore: reading the connection of school %q: %w", school, err)
	}
	return c, nil
}

var deleteConnectionSQL = sqlStmt(`DELETE FROM {schema}.connections WHERE school = $1`)

// DeleteConnection forgets a school's connection and tokens, raising its generation first in the
// same transaction (the counter stays). Deleting a missing one is not an error; only a database
// failure is.
func (s *Store) DeleteConnection(ctx context.Context, school hubsync.SchoolID) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.sql(nextGenerationStmt), string(school)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, s.sql(deleteConnectionSQL), string(school))
		return err
	})
	if err != nil {
		return interpretError(fmt.Sprintf("deleting the connection of school %q", school), err)
	}
	return nil
}

var getSyncStateSQL = sqlStmt(`SELECT learner_id, contact_id, sent_hubspot, sent_lms, lifecycle_stage, updated_at
		FROM {schema}.sync_state WHERE school = $1 AND email = $2`)

// GetSyncState returns the state of one learner, the email folded with hubsync.FoldEmail; an
// error wrapping hubsync.ErrNotFound when there is none. Errors mask the email.
func (s *Store) GetSyncState(ctx context.Context, school hubsync.SchoolID, email string) (hubsync.SyncState, error) {
	key := hubsync.FoldEmail(email)
	st := hubsync.SyncState{School: school, Email: key}
	var sentHS, sentLMS []byte
	err := s.db.QueryRow(ctx, s.sql(getSyncStateSQL), string(school), key).Scan(
		&st.LearnerID, &st.ContactID, &sentHS, &sentLMS, &st.LifecycleStage, &st.UpdatedAt)
	if err != nil {
		return hubsync.SyncState{}, interpretError(fmt.Sprintf("reading sync state of %s in school %q", hubsync.MaskEmail(email), school), err)
	}
	st.UpdatedAt = st.UpdatedAt.UTC()
	if err := decodeMap(sentHS, &st.SentToHubSpot); err != nil {
		return hubsync.SyncState{}, fmt.Errorf("pgstore: decoding sync state of %s: sent_hubspot: %w", hubsync.MaskEmail(email), err)
	}
	if err := decodeMap(sentLMS, &st.SentToLMS); err != nil {
		return hubsync.SyncState{}, fmt.Errorf("pgstore: decoding sync state of %s: sent_lms: %w", hubsync.MaskEmail(email), err)
	}
	return st, nil
}

var putSyncStateSQL = sqlStmt(`INSERT INTO {schema}.sync_state (school, email, learner_id, contact_id, sent_hubspot, sent_lms, lifecycle_stage, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (school, email) DO UPDATE SET learner_id = EXCLUDED.learner_id, contact_id = EXCLUDED.contact_id,
			sent_hubspot = EXCLUDED.sent_hubspot, sent_lms = EXCLUDED.sent_lms,
			lifecycle_stage = EXCLUDED.lifecycle_stage, updated_at = EXCLUDED.updated_at`)

// PutSyncState stores st under its school and folded email (hubsync.FoldEmail), replacing what
// was there, with UpdatedAt set to the clock's time. It fails on an empty school or email, or a
// database error.
func (s *Store) PutSyncState(ctx context.Context, st hubsync.SyncState) error {
	if st.School == "" {
		return errNoSchool
	}
	key := hubsync.FoldEmail(st.Email)
	if key == "" {
		return fmt.Errorf("pgstore: sync state of school %q has no email", st.School)
	}
	sentHS, err := encodeMap(st.SentToHubSpot)
	if err != nil {
		return fmt.Errorf("pgstore: encoding sent_hubspot: %w", err)
	}
	sentLMS, err := encodeMap(st.SentToLMS)
	if err != nil {
		return fmt.Errorf("pgstore: encoding sent_lms: %w", err)
	}
	_, err = s.db.Exec(ctx, s.sql(putSyncStateSQL),
		string(st.School), key, st.LearnerID, st.ContactID, sentHS, sentLMS, st.LifecycleStage, s.now())
	if err != nil {
		return interpretError(fmt.Sprintf("saving sync state of %s in school %q", hubsync.MaskEmail(st.Email), st.School), err)
	}
	return nil
}

// encodeMap stores a nil map as SQL NULL, so nil and empty maps both round-trip as themselves.
func encodeMap(m map[string]string) ([]byte, error) {
	if m == nil {
		return nil, nil
	}
	return json.Marshal(m)
}

func decodeMap(b []byte, m *map[string]string) error {
	if b == nil {
		*m = nil
		return nil
	}
	return json.Unmarshal(b, m)
}

var onceOwnerSQL = sqlStmt(`SELECT occurrence FROM {schema}.once_claims WHERE school = $1 AND key = $2`)

var claimOnceSQL = sqlStmt(`INSERT INTO {schema}.once_claims (school, key, occurrence, claimed_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (school, key) DO NOTHING RETURNING occurrence`)

// ClaimOnce records that the once-per-learner event key belongs to occurrenceID unless another
// occurrence holds it, and returns the owner after the call. Racing callers see one winner: the
// insert is ON CONFLICT DO NOTHING on (school, key), and a loser reads the winner's row in a new
// statement (so under READ COMMITTED it sees the committed winner). It fails on an empty school,
// key or occurrence, or a database error.
func (s *Store) ClaimOnce(ctx context.Context, school hubsync.SchoolID, key, occurrenceID string) (string, error) {
	if school == "" {
		return "", errNoSchool
	}
	if key == "" || occurrenceID == "" {
		return "", fmt.Errorf("pgstore: ClaimOnce needs a key and an occurrence id (key empty: %t, occurrence empty: %t)", key == "", occurrenceID == "")
	}
	var owner string
	err := s.db.QueryRow(ctx, s.sql(claimOnceSQL), string(school), key, occurrenceID, s.now()).Scan(&owner)
	if err == nil {
		return owner, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", interpretError(fmt.Sprintf("claiming once-event in school %q", school), err)
	}
	err = s.db.QueryRow(ctx, s.sql(onceOwnerSQL), string(school), key).Scan(&owner)
	if err != nil {
		return "", interpretError(fmt.Sprintf("reading once-event owner in school %q", school), err)
	}
	return owner, nil
}

var markWebhookSeenSQL = sqlStmt(`INSERT INTO {schema}.webhooks_seen (source, event_id, seen_at) VALUES ($1, $2, $3)
		ON CONFLICT (source, event_id) DO NOTHING`)

// MarkWebhookSeen records a webhook event id from source and reports whether this is the first
// time it was seen; of racing callers with one id exactly one gets true (primary key on
// (source, event_id)). It fails on an empty source or id, or a database error.
func (s *Store) MarkWebhookSeen(ctx context.Context, source, eventID string, at time.Time) (bool, error) {
	if source == "" || eventID == "" {
		return false, fmt.Errorf("pgstore: MarkWebhookSeen needs a source and an event id (source %q, id empty: %t)", source, eventID == "")
	}
	if at.IsZero() {
		at = s.now()
	}
	tag, err := s.db.Exec(ctx, s.sql(markWebhookSeenSQL), source, eventID, at.UTC())
	if err != nil {
		return false, interpretError(fmt.Sprintf("recording %s webhook event", source), err)
	}
	return tag.RowsAffected() == 1, nil
}

var forgetWebhooksSQL = sqlStmt(`DELETE FROM {schema}.webhooks_seen
		WHERE ctid = ANY (ARRAY(SELECT ctid FROM {schema}.webhooks_seen WHERE seen_at < $1 LIMIT $2)) AND seen_at < $1`)

// ForgetWebhooksBefore deletes dedupe records seen before t and returns how many went, in
// statements of forgetChunk rows (see forget). It fails on a database error, with the count of
// the statements that had succeeded.
func (s *Store) ForgetWebhooksBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := s.forget(ctx, s.sql(forgetWebhooksSQL), t.UTC())
	if err != nil {
		return n, interpretError("forgetting webhook events", err)
	}
	return n, nil
}

// forgetChunk is how many rows one statement of forget deletes.
const forgetChunk = 5000

// forget runs a delete of at most forgetChunk rows (query takes the cut-off time and the chunk
// size) until a statement deletes fewer, each in its own transaction (or all in RunInTx's), so
// pruning a large backlog makes no long transaction. Each query picks its chunk once, through the
// time index, into an array (so no plan can turn it into a scan of the table per chunk), and
// checks the time again on the rows it deletes. Racing callers block on each other's rows
// and skip the ones deleted meanwhile, so each row goes once; a caller whose statement found
// fewer rows that way stops early, and the next pass takes the rest. It returns how many rows
// went, those of the statements before an error included.
func (s *Store) forget(ctx context.Context, query string, before time.Time) (int, error) {
	total := 0
	for {
		tag, err := s.db.Exec(ctx, query, before, forgetChunk)
		if err != nil {
			return total, err
		}
		n := int(tag.RowsAffected())
		total += n
		if n < forgetChunk {
			return total, nil
		}
	}
}

var putCheckpointSQL = sqlStmt(`INSERT INTO {schema}.checkpoints (school, name, cursor, data, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (school, name) DO UPDATE SET cursor = EXCLUDED.cursor, data = EXCLUDED.data, updated_at = EXCLUDED.updated_at`)

// PutCheckpoint stores a checkpoint, replacing the one with the same school and name, with
// UpdatedAt set to the clock's time. It fails on an empty school or name, or a database error.
func (s *Store) PutCheckpoint(ctx context.Context, c hubsync.Checkpoint) error {
	if c.School == "" {
		return errNoSchool
	}
	if c.Name == "" {
		return fmt.Errorf("pgstore: checkpoint of school %q has no name", c.School)
	}
	_, err := s.db.Exec(ctx, s.sql(putCheckpointSQL),
		string(c.School), c.Name, c.Cursor, c.Data, s.now())
	if err != nil {
		return interpretError(fmt.Sprintf("saving checkpoint %q of school %q", c.Name, c.School), err)
	}
	return nil
}

var getCheckpointSQL = sqlStmt(`SELECT cursor, data, updated_at FROM {schema}.checkpoints WHERE school = $1 AND name = $2`)

// GetCheckpoint returns one checkpoint; an error wrapping hubsync.ErrNotFound when there is none.
func (s *Store) GetCheckpoint(ctx context.Context, school hubsync.SchoolID, name string) (hubsync.Checkpoint, error) {
	c := hubsync.Checkpoint{School: school, Name: name}
	err := s.db.QueryRow(ctx, s.sql(getCheckpointSQL),
		string(school), name).Scan(&c.Cursor, &c.Data, &c.UpdatedAt)
	if err != nil {
		return hubsync.Checkpoint{}, interpretError(fmt.Sprintf("reading checkpoint %q of school %q", name, school), err)
	}
	c.UpdatedAt = c.UpdatedAt.UTC()
	return c, nil
}

var deleteCheckpointSQL = sqlStmt(`DELETE FROM {schema}.checkpoints WHERE school = $1 AND name = $2`)

// DeleteCheckpoint removes a checkpoint; a missing one is not an error.
func (s *Store) DeleteCheckpoint(ctx context.Context, school hubsync.SchoolID, name string) error {
	if _, err := s.db.Exec(ctx, s.sql(deleteCheckpointSQL), string(school), name); err != nil {
		return interpretError(fmt.Sprintf("deleting checkpoint %q of school %q", name, school), err)
	}
	return nil
}

var appendSyncLogSQL = sqlStmt(`INSERT INTO {schema}.sync_log (school, at, direction, email, outcome, reason)
		SELECT school, at, direction, email, outcome, reason
		FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[])
			WITH ORDINALITY AS e(school, at, direction, email, outcome, reason, n)
		ORDER BY n`)

// AppendSyncLog adds entries to the per-record sync log in one statement; a zero At becomes the
// clock's time. It fails, adding nothing, when an entry has no school, or on a database error.
func (s *Store) AppendSyncLog(ctx context.Context, entries ...hubsync.SyncLogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	now := s.now()
	n := len(entries)
	schools, ats, dirs, emails, outcomes, reasons := make([]string, n), make([]time.Time, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range entries {
		if e.School == "" {
			return fmt.Errorf("pgstore: sync log entry %d has no school", i)
		}
		at := e.At
		if at.IsZero() {
			at = now
		}
		schools[i], ats[i], dirs[i], emails[i], outcomes[i], reasons[i] = string(e.School), at.UTC(), string(e.Direction), e.Email, string(e.Outcome), e.Reason
	}
	// WITH ORDINALITY keeps the given order, so ids grow in append order.
	_, err := s.db.Exec(ctx, s.sql(appendSyncLogSQL), schools, ats, dirs, emails, outcomes, reasons)
	if err != nil {
		return interpretError(fmt.Sprintf("appending %d sync log entries", n), err)
	}
	return nil
}

// foldEmailSQL is hubsync.FoldEmail in SQL, for the stored email column: ASCII white space
// trimmed, lower-cased. (FoldEmail also trims Unicode spaces, which no address carries.)
const foldEmailSQL = `lower(btrim(email, E' \t\n\x0B\f\r'))`

var listSyncLogSQL = sqlStmt(`SELECT id, at, direction, email, outcome, reason FROM {schema}.sync_log
		WHERE school = $1
		  AND ($2 = '' OR outcome = $2)
		  AND ($3 = '' OR ` + foldEmailSQL + ` = $3)
		  AND ($4::timestamptz IS NULL OR at >= $4)
		ORDER BY at DESC, id DESC
		LIMIT $5`)

// ListSyncLog returns a school's log entries matching f (hubsync.LogFilter.Match, stated in SQL),
// newest first (entries with equal At: last appended first), at most f.Limit of them
// (hubsync.LogLimitDefault when 0). It fails with an error wrapping hubsync.ErrInvalidValue on a
// filter LogFilter.Validate refuses, or on a database error.
func (s *Store) ListSyncLog(ctx context.Context, school hubsync.SchoolID, f hubsync.LogFilter) ([]hubsync.SyncLogEntry, error) {
	f, err := f.Normalized()
	if err != nil {
		return nil, fmt.Errorf("pgstore: listing the sync log of school %q: %w", school, err)
	}
	rows, err := s.db.Query(ctx, s.sql(listSyncLogSQL), string(school), string(f.Outcome), f.Email, nullTime(f.Since), f.Limit)
	if err != nil {
		return nil, interpretError(fmt.Sprintf("listing the sync log of school %q", school), err)
	}
	var out []hubsync.SyncLogEntry
	var e hubsync.SyncLogEntry
	var dir, outcome string
	_, err = pgx.ForEachRow(rows, []any{&e.ID, &e.At, &dir, &e.Email, &outcome, &e.Reason}, func() error {
		e.School, e.At, e.Direction, e.Outcome = school, e.At.UTC(), hubsync.Direction(dir), hubsync.LogOutcome(outcome)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, interpretError(fmt.Sprintf("listing the sync log of school %q", school), err)
	}
	return out, nil
}

var forgetSyncLogSQL = sqlStmt(`DELETE FROM {schema}.sync_log
		WHERE id = ANY (ARRAY(SELECT id FROM {schema}.sync_log WHERE at < $1 LIMIT $2)) AND at < $1`)

// ForgetSyncLogBefore deletes the entries of every school with At before t and returns how many
// went, in statements of forgetChunk rows (see forget); the index sync_log_at finds them. It
// fails on a database error, with the count of the statements that had succeeded.
func (s *Store) ForgetSyncLogBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := s.forget(ctx, s.sql(forgetSyncLogSQL), t.UTC())
	if err != nil {
		return n, interpretError("forgetting sync log entries", err)
	}
	return n, nil
}
