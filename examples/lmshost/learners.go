package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hubsync/hubsync"
)

// learners is the host's hubsync.Learners: the LMS side of the sync, over the host's own
// learners table. hubsync reads it for a manual sync (ListPage) and writes through it when the
// school syncs from HubSpot (Update, Create, AddTags).
type learners struct {
	db       *sql.DB
	now      func() time.Time
	pageSize int
}

var _ hubsync.Learners = (*learners)(nil)

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// catalog is the fields this LMS has. The email is the match key and is not written from
// HubSpot here.
var catalog = []hubsync.LearnerField{
	{Key: "email", Label: "Email", Type: hubsync.TypeString, Category: hubsync.CategoryGeneral, Readable: true},
	{Key: "first_name", Label: "First name", Type: hubsync.TypeString, Category: hubsync.CategoryGeneral, Readable: true, Writable: true},
	{Key: "last_name", Label: "Last name", Type: hubsync.TypeString, Category: hubsync.CategoryGeneral, Readable: true, Writable: true},
}

func (l *learners) Catalog(context.Context, hubsync.SchoolID) ([]hubsync.LearnerField, error) {
	return catalog, nil
}

const learnerColumns = `id, email, first_name, last_name, tags, created_at, updated_at`

func scanLearner(row interface{ Scan(...any) error }) (hubsync.Learner, error) {
	var id, email, first, last, tags string
	var created, updated int64
	if err := row.Scan(&id, &email, &first, &last, &tags, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return hubsync.Learner{}, hubsync.ErrNotFound
		}
		return hubsync.Learner{}, err
	}
	l := hubsync.Learner{ID: id, Email: email, Created: time.UnixMicro(created).UTC(), Updated: time.UnixMicro(updated).UTC(),
		Values: map[string]any{"email": email, "first_name": first, "last_name": last}}
	if tags != "" {
		l.Tags = strings.Split(tags, ",")
	}
	return l, nil
}

func learnerByID(ctx context.Context, q querier, school hubsync.SchoolID, id string) (hubsync.Learner, error) {
	return scanLearner(q.QueryRowContext(ctx, `SELECT `+learnerColumns+` FROM learners WHERE school = ? AND id = ?`, string(school), id))
}

func (l *learners) GetByEmail(ctx context.Context, school hubsync.SchoolID, email string) (hubsync.Learner, error) {
	return scanLearner(l.db.QueryRowContext(ctx, `SELECT `+learnerColumns+` FROM learners
		WHERE school = ? AND lower(email) = ?`, string(school), hubsync.FoldEmail(email)))
}

// ListPage pages by id: the cursor is the last id of the page before.
func (l *learners) ListPage(ctx context.Context, school hubsync.SchoolID, cursor string) (hubsync.LearnerPage, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+learnerColumns+` FROM learners WHERE school = ? AND id > ? ORDER BY id LIMIT ?`,
		string(school), cursor, l.pageSize+1)
	if err != nil {
		return hubsync.LearnerPage{}, err
	}
	defer rows.Close()
	page := hubsync.LearnerPage{Total: -1}
	for rows.Next() {
		ln, err := scanLearner(rows)
		if err != nil {
			return hubsync.LearnerPage{}, err
		}
		page.Learners = append(page.Learners, ln)
	}
	if err := rows.Err(); err != nil {
		return hubsync.LearnerPage{}, err
	}
	if len(page.Learners) > l.pageSize {
		page.Learners = page.Learners[:l.pageSize]
		page.Next = page.Learners[l.pageSize-1].ID
	}
	return page, nil
}

// Update writes first and last names; any other key is refused with ErrReadOnly, which fails
// that one record with the reason in the sync log.
func (l *learners) Update(ctx context.Context, school hubsync.SchoolID, id string, values map[string]any) (hubsync.Learner, error) {
	set, args := []string{}, []any{}
	for k, v := range values {
		switch k {
		case "first_name", "last_name":
			s, ok := v.(string)
			if !ok && v != nil {
				return hubsync.Learner{}, fmt.Errorf("%w: %s must be a string, got %T", hubsync.ErrInvalidValue, k, v)
			}
			set, args = append(set, k+" = ?"), append(args, s)
		default:
			return hubsync.Learner{}, fmt.Errorf("%w: field %q", hubsync.ErrReadOnly, k)
		}
	}
	set, args = append(set, "updated_at = ?"), append(args, l.now().UnixMicro())
	args = append(args, string(school), id)
	res, err := l.db.ExecContext(ctx, `UPDATE learners SET `+strings.Join(set, ", ")+` WHERE school = ? AND id = ?`, args...)
	if err != nil {
		return hubsync.Learner{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return hubsync.Learner{}, hubsync.ErrNotFound
	}
	return learnerByID(ctx, l.db, school, id)
}

// Create adds a learner that HubSpot has and the LMS did not; its id is derived from the time.
func (l *learners) Create(ctx context.Context, school hubsync.SchoolID, n hubsync.NewLearner) (hubsync.Learner, error) {
	now := l.now()
	id := fmt.Sprintf("hs-%d", now.UnixNano())
	_, err := l.db.ExecContext(ctx, `INSERT INTO learners (id, school, email, first_name, last_name, tags, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, string(school), hubsync.FoldEmail(n.Email),
		str(n.Values["first_name"]), str(n.Values["last_name"]), strings.Join(n.Tags, ","), now.UnixMicro(), now.UnixMicro())
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return hubsync.Learner{}, fmt.Errorf("%w: a learner with that email exists", hubsync.ErrConflict)
		}
		return hubsync.Learner{}, err
	}
	return learnerByID(ctx, l.db, school, id)
}

func (l *learners) AddTags(ctx context.Context, school hubsync.SchoolID, id string, tags []string) error {
	ln, err := learnerByID(ctx, l.db, school, id)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, t := range ln.Tags {
		have[t] = true
	}
	all := ln.Tags
	for _, t := range tags {
		if !have[t] {
			have[t] = true
			all = append(all, t)
		}
	}
	_, err = l.db.ExecContext(ctx, `UPDATE learners SET tags = ? WHERE school = ? AND id = ?`, strings.Join(all, ","), string(school), id)
	return err
}
