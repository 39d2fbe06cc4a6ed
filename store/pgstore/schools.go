package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// This file is the schools table (migration 0010): the tables with a row per learner (sync_state,
// sync_log, sync_health) name a school by its id there, 4 bytes, instead of its text in every row
// and index entry. A school's row is added by the first write that names it, and its id never
// changes, so a Store keeps the ids it has read. Reads name the school by its text and look the
// id up in the statement itself ((SELECT id FROM {schema}.schools WHERE school = $1)), so a
// school never written reads as empty and adds nothing.

var (
	schoolIDSQL  = sqlStmt(`SELECT id FROM {schema}.schools WHERE school = $1`)
	addSchoolSQL = sqlStmt(`INSERT INTO {schema}.schools (school) VALUES ($1) ON CONFLICT (school) DO NOTHING RETURNING id`)
)

// schoolID returns school's id, adding the school to the schools table first when it is not
// there. Only an executor on the pool keeps the id in the Store's cache: in a transaction, the
// row it added or read may be its own, which a rollback takes back (and the id with it).
func (x *executor) schoolID(ctx context.Context, school string) (int32, error) {
	if id, ok := x.cfg.schoolIDs.Load(school); ok {
		return id.(int32), nil
	}
	// The read comes first, so the identity's sequence only moves for a school seen the first
	// time (an insert that conflicts takes a value too).
	var id int32
	err := x.db.QueryRow(ctx, x.sql(schoolIDSQL), school).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		err = x.db.QueryRow(ctx, x.sql(addSchoolSQL), school).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			// A concurrent writer added it: a new statement sees its row (READ COMMITTED), as
			// in OnceClaim.
			err = x.db.QueryRow(ctx, x.sql(schoolIDSQL), school).Scan(&id)
		}
	}
	if err != nil {
		return 0, err
	}
	if x.onPool {
		x.cfg.schoolIDs.Store(school, id)
	}
	return id, nil
}

// schoolIDs returns the id of each of schools, in their order.
func (x *executor) schoolIDs(ctx context.Context, schools []string) ([]int32, error) {
	ids := make([]int32, len(schools))
	for i, s := range schools {
		if i > 0 && s == schools[i-1] {
			ids[i] = ids[i-1]
			continue
		}
		id, err := x.schoolID(ctx, s)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}
