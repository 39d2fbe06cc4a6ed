package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

// PutCheckpoint stores a checkpoint, replacing the one with the same school and name, with
// UpdatedAt set to the clock's time. It fails on an empty school or name, or a database error.
func (s *Store) PutCheckpoint(ctx context.Context, c hubsync.Checkpoint) error {
	if c.School == "" {
		return errNoSchool
	}
	if c.Name == "" {
		return fmt.Errorf("pgstore: checkpoint of school %q has no name", c.School)
	}
	_, err := s.db.Exec(ctx, `INSERT INTO checkpoints (school, name, cursor, data, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (school, name) DO UPDATE SET cursor = EXCLUDED.cursor, data = EXCLUDED.data, updated_at = EXCLUDED.updated_at`,
		string(c.School), c.Name, c.Cursor, c.Data, s.now())
	if err != nil {
		return fmt.Errorf("pgstore: saving checkpoint %q of school %q: %w", c.Name, c.School, err)
	}
	return nil
}

// GetCheckpoint returns one checkpoint; an error wrapping hubsync.ErrNotFound when there is none.
func (s *Store) GetCheckpoint(ctx context.Context, school hubsync.SchoolID, name string) (hubsync.Checkpoint, error) {
	c := hubsync.Checkpoint{School: school, Name: name}
	err := s.db.QueryRow(ctx, `SELECT cursor, data, updated_at FROM checkpoints WHERE school = $1 AND name = $2`,
		string(school), name).Scan(&c.Cursor, &c.Data, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return hubsync.Checkpoint{}, fmt.Errorf("pgstore: checkpoint %q of school %q: %w", name, school, hubsync.ErrNotFound)
	}
	if err != nil {
		return hubsync.Checkpoint{}, fmt.Errorf("pgstore: reading checkpoint %q of school %q: %w", name, school, err)
	}
	c.UpdatedAt = c.UpdatedAt.UTC()
	return c, nil
}

// DeleteCheckpoint removes a checkpoint; a missing one is not an error.
func (s *Store) DeleteCheckpoint(ctx context.Context, school hubsync.SchoolID, name string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM checkpoints WHERE school = $1 AND name = $2`, string(school), name); err != nil {
		return fmt.Errorf("pgstore: deleting checkpoint %q of school %q: %w", name, school, err)
	}
	return nil
}
