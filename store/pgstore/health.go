package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync/store/sqlstore"
)

// putSyncHealthSQL deletes the row of each in-sync entry and replaces the others', in one
// statement (the keys are distinct: sqlstore keeps the last entry of a key). $1 holds the
// schools' ids (schools.go).
var putSyncHealthSQL = sqlStmt(`WITH e AS (
			SELECT * FROM unnest($1::integer[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
				AS e(school, email, learner_id, direction, status, exclusion, reason, at)
		), gone AS (
			DELETE FROM {schema}.sync_health h USING e
			WHERE e.status = 'in_sync' AND h.school = e.school AND h.email = e.email
			  AND h.learner_id = e.learner_id AND h.direction = e.direction
		)
		INSERT INTO {schema}.sync_health (school, email, learner_id, direction, status, exclusion, reason, at)
		SELECT school, email, learner_id, direction, status, exclusion, reason, at FROM e WHERE status <> 'in_sync'
		ON CONFLICT (school, email, learner_id, direction) DO UPDATE SET status = EXCLUDED.status,
			exclusion = EXCLUDED.exclusion, reason = EXCLUDED.reason, at = EXCLUDED.at`)

func (x *executor) HealthPut(ctx context.Context, rows []sqlstore.HealthRow) error {
	n := len(rows)
	schools, emails, learners, dirs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	statuses, excls, reasons, ats := make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	for i, h := range rows {
		schools[i], emails[i], learners[i], dirs[i] = h.School, h.Email, h.LearnerID, h.Direction
		statuses[i], excls[i], reasons[i], ats[i] = h.Status, h.Exclusion, h.Reason, h.At
	}
	ids, err := x.schoolIDs(ctx, schools)
	if err != nil {
		return err
	}
	_, err = x.db.Exec(ctx, x.sql(putSyncHealthSQL), ids, emails, learners, dirs, statuses, excls, reasons, ats)
	return err
}

// listSyncHealthSQL reads in the primary key's order.
var listSyncHealthSQL = sqlStmt(`SELECT email, learner_id, direction, status, exclusion, reason, at FROM {schema}.sync_health
		WHERE school = (SELECT id FROM {schema}.schools WHERE school = $1) AND (email, learner_id, direction) > ($2, $3, $4)
		  AND ($5 = '' OR status = $5) AND ($6 = '' OR direction = $6)
		ORDER BY email, learner_id, direction LIMIT $7`)

func (x *executor) HealthList(ctx context.Context, q sqlstore.HealthQuery) ([]sqlstore.HealthRow, error) {
	rows, err := x.db.Query(ctx, x.sql(listSyncHealthSQL),
		q.School, q.AfterEmail, q.AfterLearner, q.AfterDirection, q.Status, q.Direction, q.Limit)
	if err != nil {
		return nil, err
	}
	var out []sqlstore.HealthRow
	var h sqlstore.HealthRow
	_, err = pgx.ForEachRow(rows, []any{&h.Email, &h.LearnerID, &h.Direction, &h.Status, &h.Exclusion, &h.Reason, &h.At}, func() error {
		h.School = q.School
		out = append(out, h)
		return nil
	})
	return out, err
}
