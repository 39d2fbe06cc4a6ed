package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
)

// errNoSchool is returned by every method given an empty SchoolID.
var errNoSchool = errors.New("pgstore: empty school id")

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
	_, err = s.db.Exec(ctx, `INSERT INTO settings (school, data, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (school) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at`,
		string(school), data, s.now())
	if err != nil {
		return fmt.Errorf("pgstore: saving settings of school %q: %w", school, err)
	}
	return nil
}

// GetSettings returns a school's settings; an error wrapping hubsync.ErrNotFound when none were
// saved.
func (s *Store) GetSettings(ctx context.Context, school hubsync.SchoolID) (hubsync.Settings, error) {
	var data []byte
	err := s.db.QueryRow(ctx, `SELECT data FROM settings WHERE school = $1`, string(school)).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return hubsync.Settings{}, fmt.Errorf("pgstore: settings of school %q: %w", school, hubsync.ErrNotFound)
	}
	if err != nil {
		return hubsync.Settings{}, fmt.Errorf("pgstore: reading settings of school %q: %w", school, err)
	}
	var st hubsync.Settings
	if err := json.Unmarshal(data, &st); err != nil {
		return hubsync.Settings{}, fmt.Errorf("pgstore: decoding settings of school %q: %w", school, err)
	}
	return st, nil
}

// ListSchools returns every school that has settings or a connection, sorted by byte order.
func (s *Store) ListSchools(ctx context.Context) ([]hubsync.SchoolID, error) {
	rows, err := s.db.Query(ctx, `SELECT school FROM (SELECT school FROM settings UNION SELECT school FROM connections) u ORDER BY school COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: listing schools: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore: listing schools: %w", err)
	}
	var out []hubsync.SchoolID
	for _, id := range ids {
		out = append(out, hubsync.SchoolID(id))
	}
	return out, nil
}
