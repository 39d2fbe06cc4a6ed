package sqlitestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hubsync/hubsync"
)

// The statements of this file (see sqlText).
var (
	putSettingsSQL = sqlText(`INSERT INTO {p}settings (school, body) VALUES (?, ?)
			ON CONFLICT (school) DO UPDATE SET body = excluded.body`)
	getSettingsSQL = sqlText(`SELECT body FROM {p}settings WHERE school = ?`)
	listSchoolsSQL = sqlText(`SELECT school FROM {p}settings UNION SELECT school FROM {p}connections ORDER BY 1`)
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
	appendSyncLogSQL    = sqlText(`INSERT INTO {p}sync_log (school, at, direction, email, email_lc, outcome, reason)
				VALUES (?, ?, ?, ?, ?, ?, ?)`)
	listSyncLogSQL   = sqlText(`SELECT id, at, direction, email, outcome, reason FROM {p}sync_log WHERE school = ?`)
	forgetSyncLogSQL = sqlText(`DELETE FROM {p}sync_log WHERE id IN (SELECT id FROM {p}sync_log WHERE at < ? LIMIT ?)`)
)

// PutSettings replaces a school's settings (stored as JSON).
func (s *Store) PutSettings(ctx context.Context, school hubsync.SchoolID, st hubsync.Settings) error {
	body, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("sqlitestore: encode settings of %s: %w", school, err)
	}
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, s.sql(putSettingsSQL), string(school), body)
		if err != nil {
			return interpretError(fmt.Sprintf("put settings of %s", school), err)
		}
		return nil
	})
}

// GetSettings returns a school's settings; hubsync.ErrNotFound when none were saved.
func (s *Store) GetSettings(ctx context.Context, school hubsync.SchoolID) (hubsync.Settings, error) {
	var body []byte
	err := s.reader().QueryRowContext(ctx, s.sql(getSettingsSQL), string(school)).Scan(&body)
	if err != nil {
		return hubsync.Settings{}, interpretError(fmt.Sprintf("get settings of %s", school), err)
	}
	var st hubsync.Settings
	if err := json.Unmarshal(body, &st); err != nil {
		return hubsync.Settings{}, fmt.Errorf("sqlitestore: decode settings of %s: %w", school, err)
	}
	return st, nil
}

// ListSchools returns every school with settings or a connection, sorted.
func (s *Store) ListSchools(ctx context.Context) ([]hubsync.SchoolID, error) {
	rows, err := s.reader().QueryContext(ctx, s.sql(listSchoolsSQL))
	if err != nil {
		return nil, interpretError("list schools", err)
	}
	defer rows.Close()
	var out []hubsync.SchoolID
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, interpretError("list schools", err)
		}
		out = append(out, hubsync.SchoolID(id))
	}
	if err := rows.Err(); err != nil {
		return nil, interpretError("list schools", err)
	}
	return out, nil
}

// PutConnection stores a school's connection, replacing any, with the school's next Generation
// (c.Generation is ignored). The counter and the row change in one immediate transaction. With
// WithSealer the tokens are sealed first (outside the transaction); a sealing failure writes
// nothing.
func (s *Store) PutConnection(ctx context.Context, c hubsync.Connection) error {
	tok, err := hubsync.SealToken(ctx, s.sealer, c.School, c.Token)
	if err != nil {
		return fmt.Errorf("sqlitestore: put connection of %s: %w", c.School, err)
	}
	c.Token = tok
	return s.write(ctx, func(q querier) error {
		var gen int64
		if err := q.QueryRowContext(ctx, s.sql(nextGenerationSQL), string(c.School)).Scan(&gen); err != nil {
			return interpretError(fmt.Sprintf("put connection of %s: raise generation", c.School), err)
		}
		_, err := q.ExecContext(ctx, s.sql(putConnectionSQL),
			string(c.School), c.Token.AccessToken, c.Token.RefreshToken, ns(c.Token.Expiry), c.PortalID, c.Domain,
			c.Active, ns(c.DeactivatedAt), c.DeactivatedReason, ns(c.NotifiedAt), ns(c.ConnectedAt), gen)
		if err != nil {
			return interpretError(fmt.Sprintf("put connection of %s", c.School), err)
		}
		return nil
	})
}

// GetConnection returns a school's connection; hubsync.ErrNotFound when there is none, and an
// error wrapping hubsync.ErrUnseal when a sealed token does not open (see WithSealer).
func (s *Store) GetConnection(ctx context.Context, school hubsync.SchoolID) (hubsync.Connection, error) {
	c := hubsync.Connection{School: school}
	var expiry, deactivated, notified, connected int64
	err := s.reader().QueryRowContext(ctx, s.sql(getConnectionSQL), string(school)).
		Scan(&c.Token.AccessToken, &c.Token.RefreshToken, &expiry, &c.PortalID, &c.Domain, &c.Active,
			&deactivated, &c.DeactivatedReason, &notified, &connected, &c.Generation)
	if err != nil {
		return hubsync.Connection{}, interpretError(fmt.Sprintf("get connection of %s", school), err)
	}
	c.Token.Expiry, c.DeactivatedAt, c.NotifiedAt, c.ConnectedAt = fromNS(expiry), fromNS(deactivated), fromNS(notified), fromNS(connected)
	if c.Token, err = hubsync.OpenToken(ctx, s.sealer, school, c.Token); err != nil {
		return hubsync.Connection{}, fmt.Errorf("sqlitestore: get connection of %s: %w", school, err)
	}
	return c, nil
}

// DeleteConnection forgets a school's connection, raising its generation (the counter stays);
// a missing connection is not an error.
func (s *Store) DeleteConnection(ctx context.Context, school hubsync.SchoolID) error {
	return s.write(ctx, func(q querier) error {
		var gen int64
		if err := q.QueryRowContext(ctx, s.sql(nextGenerationSQL), string(school)).Scan(&gen); err != nil {
			return interpretError(fmt.Sprintf("delete connection of %s: raise generation", school), err)
		}
		if _, err := q.ExecContext(ctx, s.sql(deleteConnectionSQL), string(school)); err != nil {
			return interpretError(fmt.Sprintf("delete connection of %s", school), err)
		}
		return nil
	})
}

// GetSyncState returns one learner's state (email folded with hubsync.FoldEmail);
// hubsync.ErrNotFound when there is none.
func (s *Store) GetSyncState(ctx context.Context, school hubsync.SchoolID, email string) (hubsync.SyncState, error) {
	st := hubsync.SyncState{School: school}
	var toHS, toLMS string
	var updated int64
	err := s.reader().QueryRowContext(ctx, s.sql(getSyncStateSQL), string(school), hubsync.FoldEmail(email)).
		Scan(&st.Email, &st.LearnerID, &st.ContactID, &toHS, &toLMS, &st.LifecycleStage, &updated)
	if err != nil {
		return hubsync.SyncState{}, interpretError(fmt.Sprintf("get sync state of %s in %s", hubsync.MaskEmail(email), school), err)
	}
	if err := errors.Join(json.Unmarshal([]byte(toHS), &st.SentToHubSpot), json.Unmarshal([]byte(toLMS), &st.SentToLMS)); err != nil {
		return hubsync.SyncState{}, fmt.Errorf("sqlitestore: decode sync state of %s in %s: %w", hubsync.MaskEmail(email), school, err)
	}
	st.UpdatedAt = fromNS(updated)
	return st, nil
}

// PutSyncState stores st under its folded email (hubsync.FoldEmail), setting UpdatedAt to the
// clock's time.
func (s *Store) PutSyncState(ctx context.Context, st hubsync.SyncState) error {
	toHS, err1 := json.Marshal(st.SentToHubSpot)
	toLMS, err2 := json.Marshal(st.SentToLMS)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("sqlitestore: encode sync state: %w", err)
	}
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, s.sql(putSyncStateSQL),
			string(st.School), hubsync.FoldEmail(st.Email), st.LearnerID, st.ContactID, string(toHS), string(toLMS),
			st.LifecycleStage, ns(s.clk.Now()))
		if err != nil {
			return interpretError(fmt.Sprintf("put sync state of %s in %s", hubsync.MaskEmail(st.Email), st.School), err)
		}
		return nil
	})
}

// ClaimOnce gives the once-event key to occurrenceID unless another occurrence holds it, and
// returns the owner.
func (s *Store) ClaimOnce(ctx context.Context, school hubsync.SchoolID, key, occurrenceID string) (string, error) {
	var owner string
	err := s.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, s.sql(claimOnceSQL), string(school), key, occurrenceID, ns(s.clk.Now())); err != nil {
			return err
		}
		return q.QueryRowContext(ctx, s.sql(onceOwnerSQL), string(school), key).Scan(&owner)
	})
	if err != nil {
		return "", interpretError(fmt.Sprintf("claim once-event key in %s", school), err)
	}
	return owner, nil
}

// MarkWebhookSeen records a webhook event id and reports whether it is new.
func (s *Store) MarkWebhookSeen(ctx context.Context, source, eventID string, at time.Time) (bool, error) {
	first := false
	err := s.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, s.sql(markWebhookSeenSQL), source, eventID, ns(at))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n == 1
		return err
	})
	if err != nil {
		return false, interpretError(fmt.Sprintf("mark %s webhook seen", source), err)
	}
	return first, nil
}

// ForgetWebhooksBefore deletes dedupe records seen before t and returns how many went, in chunks
// of forgetChunk rows (see forget).
func (s *Store) ForgetWebhooksBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := s.forget(ctx, s.sql(forgetWebhooksSQL), ns(t))
	if err != nil {
		return n, interpretError("forget webhooks", err)
	}
	return n, nil
}

// forgetChunk is how many rows one transaction of forget deletes.
const forgetChunk = 5000

// forget runs a delete of at most forgetChunk rows (query takes the cut-off time and the chunk
// size) until a chunk deletes fewer, each chunk in its own transaction (or all in RunInTx's), so
// pruning a large backlog never holds the single writer for long. It returns how many rows
// went, those of the chunks committed before an error included.
func (s *Store) forget(ctx context.Context, query string, before int64) (int, error) {
	total := 0
	for {
		var n int64
		err := s.write(ctx, func(q querier) error {
			res, err := q.ExecContext(ctx, query, before, forgetChunk)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += int(n)
		if n < forgetChunk {
			return total, nil
		}
	}
}

// PutCheckpoint stores c, replacing the one with the same school and name, with UpdatedAt set to
// the clock's time.
func (s *Store) PutCheckpoint(ctx context.Context, c hubsync.Checkpoint) error {
	return s.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, s.sql(putCheckpointSQL), string(c.School), c.Name, c.Cursor, c.Data, ns(s.clk.Now()))
		if err != nil {
			return interpretError(fmt.Sprintf("put checkpoint %q of %s", c.Name, c.School), err)
		}
		return nil
	})
}

// GetCheckpoint returns one checkpoint; hubsync.ErrNotFound when there is none.
func (s *Store) GetCheckpoint(ctx context.Context, school hubsync.SchoolID, name string) (hubsync.Checkpoint, error) {
	c := hubsync.Checkpoint{School: school, Name: name}
	var updated int64
	err := s.reader().QueryRowContext(ctx, s.sql(getCheckpointSQL),
		string(school), name).Scan(&c.Cursor, &c.Data, &updated)
	if err != nil {
		return hubsync.Checkpoint{}, interpretError(fmt.Sprintf("get checkpoint %q of %s", name, school), err)
	}
	c.UpdatedAt = fromNS(updated)
	return c, nil
}

// DeleteCheckpoint removes a checkpoint; a missing one is not an error.
func (s *Store) DeleteCheckpoint(ctx context.Context, school hubsync.SchoolID, name string) error {
	return s.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, s.sql(deleteCheckpointSQL), string(school), name); err != nil {
			return interpretError(fmt.Sprintf("delete checkpoint %q of %s", name, school), err)
		}
		return nil
	})
}

// AppendSyncLog adds entries in one transaction, setting a zero At to the clock's time. Each
// entry's Email is stored as given, beside its folded form (hubsync.FoldEmail) that
// LogFilter.Email is compared with.
func (s *Store) AppendSyncLog(ctx context.Context, entries ...hubsync.SyncLogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	now := s.clk.Now()
	return s.write(ctx, func(q querier) error {
		for _, e := range entries {
			if e.At.IsZero() {
				e.At = now
			}
			if _, err := q.ExecContext(ctx, s.sql(appendSyncLogSQL), string(e.School), ns(e.At), string(e.Direction), e.Email,
				hubsync.FoldEmail(e.Email), string(e.Outcome), e.Reason); err != nil {
				return interpretError("append sync log", err)
			}
		}
		return nil
	})
}

// ListSyncLog returns a school's entries matching f, newest first (by At, then latest appended),
// stating hubsync.LogFilter.Match in SQL. A filter LogFilter.Validate refuses is an error
// wrapping hubsync.ErrInvalidValue.
func (s *Store) ListSyncLog(ctx context.Context, school hubsync.SchoolID, f hubsync.LogFilter) ([]hubsync.SyncLogEntry, error) {
	f, err := f.Normalized()
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list sync log of %s: %w", school, err)
	}
	query := s.sql(listSyncLogSQL)
	args := []any{string(school)}
	if f.Outcome != "" {
		query += ` AND outcome = ?`
		args = append(args, string(f.Outcome))
	}
	if f.Email != "" {
		query += ` AND email_lc = ?`
		args = append(args, f.Email)
	}
	if !f.Since.IsZero() {
		query += ` AND at >= ?`
		args = append(args, ns(f.Since))
	}
	query += ` ORDER BY at DESC, id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.reader().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, interpretError(fmt.Sprintf("list sync log of %s", school), err)
	}
	defer rows.Close()
	var out []hubsync.SyncLogEntry
	for rows.Next() {
		e := hubsync.SyncLogEntry{School: school}
		var at int64
		var dir, outcome string
		if err := rows.Scan(&e.ID, &at, &dir, &e.Email, &outcome, &e.Reason); err != nil {
			return nil, interpretError(fmt.Sprintf("list sync log of %s", school), err)
		}
		e.At, e.Direction, e.Outcome = fromNS(at), hubsync.Direction(dir), hubsync.LogOutcome(outcome)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, interpretError(fmt.Sprintf("list sync log of %s", school), err)
	}
	return out, nil
}

// ForgetSyncLogBefore deletes the entries of every school with At before t and returns how many
// went, in chunks of forgetChunk rows (see forget); the index sync_log_at finds them.
func (s *Store) ForgetSyncLogBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := s.forget(ctx, s.sql(forgetSyncLogSQL), ns(t))
	if err != nil {
		return n, interpretError("forget sync log", err)
	}
	return n, nil
}
